package gs1

import (
	"strings"
)

// GS is the group separator (ASCII 29) scanners transmit for FNC1.
const GS = '\x1d'

// Symbology is the barcode symbology named by an AIM symbology identifier.
type Symbology uint8

// The symbologies whose identifiers this package reads and writes.
const (
	SymbologyNone            Symbology = iota // no symbology identifier
	SymbologyDataMatrix                       // ]d2 (GS1), ]d1 (plain)
	SymbologyQRCode                           // ]Q3 (GS1), ]Q1 (plain)
	SymbologyDotCode                          // ]J1 (GS1), ]J0 (plain)
	SymbologyGS1128                           // ]C1
	SymbologyDataBarExpanded                  // ]e0
	SymbologyDataBarOmni                      // ]e0, primary GTIN only
	SymbologyDataBarLimited                   // ]e0, GTIN with indicator 0 or 1
	SymbologyEAN13                            // ]E0
	SymbologyUPCA                             // ]E0 (as EAN-13 with a leading 0)
	SymbologyUPCE                             // ]E0 (expanded to EAN-13)
	SymbologyEAN8                             // ]E4
)

// symIDs maps GS1-mode symbology identifiers to symbologies.
var symIDs = map[string]Symbology{
	"]d2": SymbologyDataMatrix, "]Q3": SymbologyQRCode, "]J1": SymbologyDotCode,
	"]C1": SymbologyGS1128, "]e0": SymbologyDataBarExpanded,
}

// plainIDs maps identifiers of symbols carrying plain (non-GS1) data; such a
// symbol may carry a GS1 Digital Link URI.
var plainIDs = map[string]Symbology{
	"]d1": SymbologyDataMatrix, "]Q1": SymbologyQRCode, "]J0": SymbologyDotCode,
}

// ParseElementString parses raw scanner data: an optional AIM symbology
// identifier, then AIs with GS (ASCII 29) after every variable-length value
// that is not last. A GS in first position (FNC1 in first position, as some
// scanners transmit it) and superfluous GS characters are tolerated. Plain
// data symbols (]d1, ]Q1, ]J0) are accepted when they carry a Digital Link
// URI; EAN/UPC symbols (]E0, ]E4) give their GTIN and any composite
// component ("|]e0...").
func (o Options) ParseElementString(s string) (*Result, error) {
	d, err := o.dictionary()
	if err != nil {
		return nil, err
	}
	if len(s) > MaxInputLength {
		return nil, newError("", RuleLimit, "input longer than %d bytes", MaxInputLength)
	}
	sym := SymbologyNone
	if strings.HasPrefix(s, "]") {
		if len(s) < 3 {
			return nil, newError("", RuleSyntax, "truncated symbology identifier %s", sq(s))
		}
		id := s[:3]
		switch {
		case symIDs[id] != SymbologyNone:
			sym, s = symIDs[id], s[3:]
		case plainIDs[id] != SymbologyNone:
			if isDigitalLink(s[3:]) {
				r, err := o.ParseDigitalLink(s[3:])
				if err != nil {
					return nil, err
				}
				r.Symbology = plainIDs[id]
				return r, nil
			}
			return nil, newError("", RuleNotGS1, "symbol %s carries plain data, not GS1 AIs or a Digital Link URI", id)
		case id == "]E0" || id == "]E4":
			return o.parseEAN(d, id, s[3:])
		default:
			return nil, newError("", RuleSyntax, "unsupported symbology identifier %s", sq(id))
		}
	}
	var buf [16]elem
	p := rawParser{d: d, o: &o}
	elems, perr := p.parse(s, buf[:0], -1)
	if perr != nil {
		if perr.Rule == RuleTooLong || p.over.e != nil {
			if rerr := p.overflow(s); rerr != nil {
				return nil, rerr
			}
		}
		return nil, perr
	}
	if err := o.associations(elems); err != nil {
		// A missing GS often shows as a missing pairing: (21) read as part
		// of the lot leaves no serial for ... Say so if a GS would fix it.
		if rerr := p.ambiguous(s, elems, false); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	if !o.PermitAmbiguousRunOn {
		if rerr := p.ambiguous(s, elems, true); rerr != nil {
			return nil, rerr
		}
	}
	return newResult(d, &o, FormElementString, sym, elems), nil
}

// rawParser splits raw element strings into AIs.
type rawParser struct {
	d *Dictionary
	o *Options
	// over records the variable-length value that parse found too long.
	over struct {
		e      *entry
		j, end int
	}
}

// overflow explains a too-long value as a run-on, if a GS would fix it.
func (p *rawParser) overflow(s string) *Error {
	if p.over.e == nil {
		return nil
	}
	return p.runOn(s, p.over.e, p.over.j, p.over.end, false)
}

// parse splits s into elements, appending to elems. If split >= 0 a GS is
// assumed at that offset (used to test where a missing GS would have been)
// and any failure is errTrial: the caller only asks whether the trial
// parses, and building messages for the many that do not would cost more
// than the parse. It does not call runOn (recursion would defeat escape
// analysis and put the callers' element buffers on the heap); a too-long
// variable-length value is recorded in p.over for the caller instead.
func (p *rawParser) parse(s string, elems []elem, split int) ([]elem, *Error) {
	trial := split >= 0
	i := 0
	for i < len(s) && s[i] == GS {
		i++ // FNC1 in first position, transmitted
	}
	if i == len(s) {
		if trial {
			return nil, errTrial
		}
		return nil, newError("", RuleEmpty, "no AI data")
	}
	for i < len(s) {
		if s[i] == GS {
			i++
			continue
		}
		e := p.d.lookupPrefix(s[i:])
		if e == nil && p.o.PermitUnknownAIs {
			e = p.d.vivify(s[i:], 0)
		}
		if e == nil || len(elems) == MaxAIs {
			switch {
			case trial:
				return nil, errTrial
			case e == nil:
				return nil, noAIAt(s[i:])
			}
			return nil, newError("", RuleLimit, "more than %d AIs", MaxAIs)
		}
		j := i + len(e.ai)
		end := j
		for end < len(s) && s[end] != GS && end != split {
			end++
		}
		span := s[j:end]
		if e.fixed && len(span) > e.maxLen {
			span = span[:e.maxLen] // the next AI follows without a GS
		}
		if !e.fixed && len(span) > e.maxLen && split < 0 {
			p.over.e, p.over.j, p.over.end = e, j, end
		}
		n, f := scanValue(e, span)
		if f.kind != faultNone || (!e.fixed && n < len(span)) {
			switch {
			case trial:
				return nil, errTrial
			case f.kind != faultNone:
				return nil, f.err(e, span)
			}
			return nil, tooLong(e, span)
		}
		elems = append(elems, elem{ai: s[i:j], value: span[:n], e: e})
		i = j + n
	}
	return elems, nil
}

// errTrial is what parse returns for any failure of a trial parse; it is
// never shown.
var errTrial = &Error{Rule: RuleSyntax, Msg: "gs1: internal: trial parse failed"}

func noAIAt(s string) *Error {
	show := s
	if len(show) > 4 {
		show = show[:4] + "..."
	}
	return newError("", RuleUnknownAI, "no known AI starts %s", sq(show))
}

// runOnTargets are the AIs a valid value may be suspected to hide: the pack
// data a missing GS most often swallows. Hiding other AIs, such as the
// internal (90), is too easily a coincidence of a lot or serial's characters.
var runOnTargets = map[string]bool{"10": true, "17": true, "21": true}

// maybeTarget is a fast pre-test for runOnTargets.
func maybeTarget(s string) bool {
	return len(s) > 2 && ((s[0] == '1' && (s[1] == '0' || s[1] == '7')) || (s[0] == '2' && s[1] == '1'))
}

// runOn looks inside the variable-length value s[j:end] of AI e for an offset
// where a GS would make the whole of s valid. If the value itself is valid
// (valid), only a split revealing one of runOnTargets counts. It returns the
// run-on error if there is one.
func (p *rawParser) runOn(s string, e *entry, j, end int, valid bool) *Error {
	var buf [16]elem
	limit := min(end, j+e.maxLen+1)
	for k := j + 1; k < limit; k++ {
		if valid && !maybeTarget(s[k:end]) {
			continue
		}
		next := p.d.lookupPrefix(s[k:end])
		if next == nil || (valid && !runOnTargets[next.ai]) || !p.plausible(s[k:end], next) {
			continue
		}
		trial, err := p.parse(s, buf[:0], k)
		if err != nil || count(trial, next.ai) != 1 || checkAssociations(trial) != nil { // cheapest test first
			// An encoder writes each AI once: a GS cannot have been
			// lost before a second copy of an AI.
			continue
		}
		var after elem
		for _, t := range trial {
			if t.ai == next.ai && strings.HasPrefix(s[k:], t.ai+t.value) {
				after = t
				break
			}
		}
		return newError(e.ai, RuleRunOn,
			"(%s) %s %s runs on into what looks like AI (%s) %s: a GS (FNC1) separator is probably missing after the %s",
			e.ai, noun(e.ai), sq(s[j:end]), after.ai, after.value, noun(e.ai))
	}
	return nil
}

// plausible is a cheap test that rest, starting with AI next, begins with a
// valid value for it, before a whole trial parse is spent on it.
func (p *rawParser) plausible(rest string, next *entry) bool {
	v := rest[len(next.ai):]
	if len(v) < next.minLen {
		return false
	}
	if next.fixed && len(v) > next.maxLen {
		v = v[:next.maxLen]
	}
	n, f := scanValue(next, v)
	return f.kind == faultNone && (n == len(v) || next.fixed)
}

// ambiguous checks each variable-length value of a parsed message for a
// run-on: a place where a GS would give a valid message. valid says the
// message itself is valid.
func (p *rawParser) ambiguous(s string, elems []elem, valid bool) *Error {
	pos := 0
	for _, el := range elems {
		for pos < len(s) && s[pos] == GS {
			pos++
		}
		j := pos + len(el.ai)
		end := j + len(el.value)
		pos = end
		if el.e.fixed || len(el.value) < 2 {
			continue
		}
		if err := p.runOn(s, el.e, j, end, valid); err != nil {
			return err
		}
	}
	return nil
}

// parseEAN reads EAN-13/UPC-A (]E0) or EAN-8 (]E4) data with an optional
// composite component "|]e0...".
func (o Options) parseEAN(d *Dictionary, id, s string) (*Result, error) {
	primary, comp, hasComp := strings.Cut(s, "|")
	want, sym := 13, SymbologyEAN13
	if id == "]E4" {
		want, sym = 8, SymbologyEAN8
	}
	if len(primary) != want || !allDigits(primary) {
		return nil, newError("01", RuleSyntax, "%s data %s is not %d digits", id, sq(primary), want)
	}
	gtin := strings.Repeat("0", 14-want) + primary
	elems := []elem{{ai: "01", value: gtin, e: d.lookup("01")}}
	if err := checkDelimited(elems[0].e, gtin); err != nil {
		return nil, err
	}
	if hasComp {
		if !strings.HasPrefix(comp, "]e0") {
			return nil, newError("", RuleSyntax, "composite component must start with ]e0")
		}
		p := rawParser{d: d, o: &o}
		more, err := p.parse(comp[3:], elems, -1)
		if err != nil {
			return nil, err
		}
		elems = more
	}
	if err := o.associations(elems); err != nil {
		return nil, err
	}
	return newResult(d, &o, FormElementString, sym, elems), nil
}

// count returns how many elements have AI ai.
func count(elems []elem, ai string) int {
	n := 0
	for _, el := range elems {
		if el.ai == ai {
			n++
		}
	}
	return n
}
