package gs1

import "strings"

// ParseBracketed parses human-readable AI text such as
// "(01)09506000134352(17)201231(10)ABC123". A "(" inside a value is written
// "\(", as the GS1 Syntax Engine does.
func (o Options) ParseBracketed(s string) (*Result, error) {
	d, err := o.dictionary()
	if err != nil {
		return nil, err
	}
	if len(s) > MaxInputLength {
		return nil, newError("", RuleLimit, "input longer than %d bytes", MaxInputLength)
	}
	if s == "" {
		return nil, newError("", RuleEmpty, "no AI data")
	}
	var buf [16]elem
	elems := buf[:0]
	for p := 0; p < len(s); {
		if s[p] != '(' {
			return nil, newError("", RuleSyntax, "expected \"(\" at offset %d of %s", p, sq(s))
		}
		close := strings.IndexByte(s[p+1:], ')')
		if close < 0 {
			return nil, newError("", RuleSyntax, "unterminated AI in %s", sq(s[p:]))
		}
		ai := s[p+1 : p+1+close]
		e := d.lookup(ai)
		if e == nil && o.PermitUnknownAIs {
			e = d.vivify(ai, len(ai))
		}
		if e == nil {
			if ai == "" || len(ai) > 4 || !allDigits(ai) {
				return nil, newError("", RuleSyntax, "(%s) is not an AI", ai)
			}
			return nil, unknownAI(ai)
		}
		value, next := bracketValue(s, p+2+close)
		if err := checkDelimited(e, value); err != nil {
			return nil, err
		}
		if len(elems) == MaxAIs {
			return nil, newError("", RuleLimit, "more than %d AIs", MaxAIs)
		}
		elems = append(elems, elem{ai: ai, value: value, e: e})
		p = next
	}
	if err := o.associations(elems); err != nil {
		return nil, err
	}
	return newResult(d, &o, FormBracketed, SymbologyNone, elems), nil
}

// bracketValue returns the value starting at start, up to the next
// unescaped "(", with "\(" unescaped, and the offset where it ended.
func bracketValue(s string, start int) (string, int) {
	end := start
	escaped := false
	for end < len(s) {
		if s[end] == '(' {
			if s[end-1] != '\\' {
				break
			}
			escaped = true
		}
		end++
	}
	if !escaped {
		return s[start:end], end
	}
	return strings.ReplaceAll(s[start:end], `\(`, "("), end
}
