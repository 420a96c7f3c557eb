package gs1

import (
	"strconv"
	"strings"
)

// elem is one parsed AI with its value and its dictionary entry.
type elem struct {
	ai, value string
	e         *entry
}

// checkValue validates value against e's format specification the way the
// GS1 Syntax Engine does: each component consumes up to its maximum length;
// an empty optional component is skipped. It returns how many bytes of value
// the components consumed; for variable-length AIs a shorter count than
// len(value) means the value is too long.
func checkValue(e *entry, value string) (int, *Error) {
	n, f := scanValue(e, value)
	if f.kind == faultNone {
		return n, nil
	}
	return 0, f.err(e, value)
}

// fault is why scanValue refused a value: enough to build the error, which
// only a value that is reported needs (trial parses refuse many).
type fault struct {
	kind         uint8
	code         string // linter error name, for faultLint
	off, pos, ln int    // component offset, and position and length in it, for faultLint
}

const (
	faultNone uint8 = iota
	faultEmpty
	faultShort
	faultLint
)

func (f fault) err(e *entry, value string) *Error {
	switch f.kind {
	case faultEmpty:
		return newError(e.ai, RuleEmpty, "(%s) has no %s", e.ai, noun(e.ai))
	case faultShort:
		return tooShort(e, value)
	}
	return lintError(e.ai, value, f.code, f.off, f.pos, f.ln)
}

// scanValue is checkValue without building the error.
func scanValue(e *entry, value string) (int, fault) {
	if value == "" {
		return 0, fault{kind: faultEmpty}
	}
	p := 0
	for _, c := range e.comps {
		n := min(len(value)-p, c.max)
		if c.optional && n == 0 {
			continue
		}
		if n < c.min {
			return 0, fault{kind: faultShort}
		}
		comp := value[p : p+n]
		if code, pos, l := csetLinter(c.cset)(comp); code != "" {
			return 0, fault{kind: faultLint, code: code, off: p, pos: pos, ln: l}
		}
		for _, l := range c.linters {
			if code, pos, ln := l.fn(comp); code != "" {
				return 0, fault{kind: faultLint, code: code, off: p, pos: pos, ln: ln}
			}
		}
		p += n
	}
	return p, fault{}
}

func tooShort(e *entry, value string) *Error {
	return newError(e.ai, RuleTooShort, "(%s) %s %s is too short: %d characters, at least %d required",
		e.ai, noun(e.ai), sq(value), len(value), e.minLen)
}

func tooLong(e *entry, value string) *Error {
	return newError(e.ai, RuleTooLong, "(%s) %s %s is too long: %d characters, at most %d allowed",
		e.ai, noun(e.ai), sq(value), len(value), e.maxLen)
}

// checkLength is the whole-value length check used for delimited values
// (bracketed and Digital Link input), before the components are linted.
func checkLength(e *entry, value string) *Error {
	switch {
	case value == "":
		return newError(e.ai, RuleEmpty, "(%s) has no %s", e.ai, noun(e.ai))
	case len(value) < e.minLen:
		return tooShort(e, value)
	case len(value) > e.maxLen:
		return tooLong(e, value)
	}
	return nil
}

// checkDelimited validates a value whose extent is known.
func checkDelimited(e *entry, value string) *Error {
	if err := checkLength(e, value); err != nil {
		return err
	}
	n, err := checkValue(e, value)
	if err != nil {
		return err
	}
	if n != len(value) {
		return tooLong(e, value)
	}
	return nil
}

// findAI returns the first element, other than those with AI ignore, whose AI
// matches the pattern p.
func findAI(elems []elem, p pattern, ignore string) (string, bool) {
	for i := range elems {
		if elems[i].ai != ignore && p.matches(elems[i].ai) {
			return elems[i].ai, true
		}
	}
	return "", false
}

// existsInAIdata reports whether an AI matching the pattern text (e.g. "31nn")
// is present, ignoring AI ignore, and returns it.
func existsInAIdata(elems []elem, text, ignore string) (string, bool) {
	p, err := parsePattern(text)
	if err != nil {
		return "", false
	}
	return findAI(elems, p, ignore)
}

// checkRepeats refuses an AI given twice with different values.
func checkRepeats(elems []elem) *Error {
	for i := range elems {
		for j := i + 1; j < len(elems); j++ {
			if elems[i].ai == elems[j].ai && elems[i].value != elems[j].value {
				return newError(elems[i].ai, RuleRepeat, "(%s) appears twice with different values %s and %s",
					elems[i].ai, sq(elems[i].value), sq(elems[j].value))
			}
		}
	}
	return nil
}

// checkExclusions applies the dictionary's ex= attributes.
func checkExclusions(elems []elem) *Error {
	for i := range elems {
		for _, p := range elems[i].e.ex {
			if other, ok := findAI(elems, p, elems[i].ai); ok {
				return newError(elems[i].ai, RuleExcludes, "(%s) must not be used together with (%s)", elems[i].ai, other)
			}
		}
	}
	return nil
}

// checkRequisites applies the dictionary's req= attributes: each req= needs
// one of its alternatives, and an alternative needs all its AIs.
func checkRequisites(elems []elem) *Error {
	for i := range elems {
		e := elems[i].e
		for g, group := range e.req {
			if !reqSatisfied(elems, group, elems[i].ai) {
				return newError(elems[i].ai, RuleRequires, "(%s) %s requires %s", elems[i].ai, noun(elems[i].ai),
					describeReq(e.reqText[g]))
			}
		}
	}
	return nil
}

func reqSatisfied(elems []elem, group [][]pattern, self string) bool {
	for _, alt := range group {
		all := true
		for _, p := range alt {
			if _, ok := findAI(elems, p, self); !ok {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// describeReq renders "01+21,03" as "(01) with (21) or (03)".
func describeReq(text string) string {
	alts := strings.Split(text, ",")
	for i, a := range alts {
		alts[i] = "(" + strings.ReplaceAll(a, "+", ") with (") + ")"
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return strings.Join(alts[:len(alts)-1], ", ") + " or " + alts[len(alts)-1]
}

// digSigKeys are the keys whose serial component is optional but required
// when a digital signature (8030) is present, with the length of the key
// without its serial component.
var digSigKeys = map[string]int{"253": 13, "255": 13, "8003": 14}

// checkDigSig requires serialised keys alongside a digital signature (8030).
func checkDigSig(elems []elem) *Error {
	if _, ok := findAI(elems, pattern{prefix: "8030", length: 4}, ""); !ok {
		return nil
	}
	for i := range elems {
		if n, ok := digSigKeys[elems[i].ai]; ok && len(elems[i].value) <= n {
			return newError(elems[i].ai, RuleRequires, "(%s) must carry its serial component when used with a digital signature (8030)", elems[i].ai)
		}
	}
	return nil
}

// checkAssociations runs every check that spans more than one AI.
func checkAssociations(elems []elem) *Error {
	// Direct calls, not a table of funcs: escape analysis must see that
	// elems does not escape, so that parsers can keep it on the stack.
	if err := checkRepeats(elems); err != nil {
		return err
	}
	if err := checkExclusions(elems); err != nil {
		return err
	}
	if err := checkRequisites(elems); err != nil {
		return err
	}
	return checkDigSig(elems)
}

// sq quotes s for messages with single quotes, escaping unprintable bytes
// and shortening very long values.
func sq(s string) string {
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	q := strconv.Quote(s)
	return "'" + strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`) + "'"
}
