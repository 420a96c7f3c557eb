package gs1

import (
	"strings"
)

// dictionary returns the Result's dictionary; a Result made by hand rather
// than by this package uses the default one.
func (r *Result) dictionary() *Dictionary {
	if r.dict == nil {
		r.dict, _ = DefaultDictionary()
	}
	return r.dict
}

// entryOf returns the dictionary entry for an AI of a Result (vivified when
// the Result was built with unknown AIs permitted).
func (r *Result) entryOf(ai string) *entry {
	d := r.dictionary()
	if e := d.lookup(ai); e != nil {
		return e
	}
	return d.vivify(ai, len(ai))
}

// ElementString renders the AIs as a raw element string without symbology
// identifier: a GS (ASCII 29) follows each variable-length value that is not
// last, never a predefined-length one, and none leads the string.
func (r *Result) ElementString() string {
	return r.elementString(r.Elements)
}

func (r *Result) elementString(els []Element) string {
	var b strings.Builder
	n := 0
	for _, el := range els {
		n += len(el.AI) + len(el.Value) + 1
	}
	b.Grow(n)
	sep := false
	for _, el := range els {
		if sep {
			b.WriteByte(GS)
		}
		b.WriteString(el.AI)
		b.WriteString(el.Value)
		e := r.entryOf(el.AI)
		sep = e == nil || !e.fixed
	}
	return b.String()
}

// Bracketed renders the AIs as human-readable text, "(01)...(10)...", with
// "(" in values escaped as "\(".
func (r *Result) Bracketed() string {
	var b strings.Builder
	for _, el := range r.Elements {
		b.WriteByte('(')
		b.WriteString(el.AI)
		b.WriteByte(')')
		b.WriteString(strings.ReplaceAll(el.Value, "(", `\(`))
	}
	return b.String()
}

// ScanData renders the AIs as a scanner would transmit them from a symbol of
// the given symbology: its AIM identifier, then the element string. For
// EAN/UPC symbols the first AI must be a GTIN that the symbol can carry; any
// further AIs form a composite component "|]e0...". SymbologyNone gives the
// bare element string.
func (r *Result) ScanData(sym Symbology) (string, error) {
	switch sym {
	case SymbologyNone:
		return r.ElementString(), nil
	case SymbologyDataMatrix:
		return "]d2" + r.ElementString(), nil
	case SymbologyQRCode:
		return "]Q3" + r.ElementString(), nil
	case SymbologyDotCode:
		return "]J1" + r.ElementString(), nil
	case SymbologyGS1128:
		return "]C1" + r.ElementString(), nil
	case SymbologyDataBarExpanded:
		return "]e0" + r.ElementString(), nil
	}
	if len(r.Elements) == 0 || r.Elements[0].AI != "01" || !ValidGTIN(r.Elements[0].Value) || len(r.Elements[0].Value) != 14 {
		return "", newError("01", RuleUnsupported, "this symbology must start with a valid GTIN (01)")
	}
	gtin := r.Elements[0].Value
	var prefix string
	switch sym {
	case SymbologyDataBarOmni:
		return "]e0" + r.ElementString(), nil
	case SymbologyDataBarLimited:
		if gtin[0] != '0' && gtin[0] != '1' {
			return "", newError("01", RuleUnsupported, "GS1 DataBar Limited carries only GTINs with indicator 0 or 1, not %s", sq(gtin))
		}
		return "]e0" + r.ElementString(), nil
	case SymbologyEAN13:
		if gtin[0] != '0' {
			return "", newError("01", RuleUnsupported, "GTIN %s does not fit an EAN-13", sq(gtin))
		}
		prefix = "]E0" + gtin[1:]
	case SymbologyUPCA, SymbologyUPCE:
		if !strings.HasPrefix(gtin, "00") {
			return "", newError("01", RuleUnsupported, "GTIN %s does not fit a UPC symbol", sq(gtin))
		}
		prefix = "]E0" + gtin[1:]
	case SymbologyEAN8:
		if !strings.HasPrefix(gtin, "000000") {
			return "", newError("01", RuleUnsupported, "GTIN %s does not fit an EAN-8", sq(gtin))
		}
		prefix = "]E4" + gtin[6:]
	default:
		return "", newError("", RuleUnsupported, "unknown symbology %d", sym)
	}
	if len(r.Elements) == 1 {
		return prefix, nil
	}
	return prefix + "|]e0" + r.elementString(r.Elements[1:]), nil
}

// DigitalLink renders the AIs as a GS1 Digital Link URI under stem (e.g.
// "https://example.com/some/path"; "" means DefaultDigitalLinkStem). The
// first primary key found becomes the path, followed by its key qualifiers in
// the order the dictionary prescribes; every other AI becomes a query
// attribute (predefined-length AIs first, then the rest, each in carried
// order). Values are percent-encoded; repeated identical AIs appear once.
func (r *Result) DigitalLink(stem string) (string, error) {
	if stem == "" {
		stem = DefaultDigitalLinkStem
	}
	stem = strings.TrimRight(stem, "/")
	if _, _, _, err := splitURI(stem + "/"); err != nil {
		return "", err
	}
	els := dedupe(r.Elements)
	for _, el := range els {
		if el.Value == "" {
			// Only a hand-made Result can hold one; a URI with an empty
			// segment or attribute would not parse back.
			return "", newError(el.AI, RuleEmpty, "(%s) has no value", el.AI)
		}
	}
	pk := -1
	for i, el := range els {
		if e := r.dictionary().lookup(el.AI); e != nil && e.dlPKey {
			pk = i
			break
		}
	}
	if pk < 0 {
		return "", dlError("no Digital Link primary key among %s", describeAIs(aisOf(els)))
	}
	key := r.dictionary().lookup(els[pk].AI)
	path, err := r.dlQualifiers(key, els)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(stem)
	for _, el := range path {
		b.WriteByte('/')
		b.WriteString(el.AI)
		b.WriteByte('/')
		b.WriteString(escape(el.Value, false))
	}
	inPath := func(ai string) bool {
		for _, p := range path {
			if p.AI == ai {
				return true
			}
		}
		return false
	}
	sep := byte('?')
	for pass := 0; pass < 2; pass++ {
		for _, el := range els {
			e := r.entryOf(el.AI)
			if e == nil {
				return "", unknownAI(el.AI)
			}
			if inPath(el.AI) || e.fixed != (pass == 0) {
				continue
			}
			if err := r.checkAttribute(key, path, e); err != nil {
				return "", err
			}
			b.WriteByte(sep)
			sep = '&'
			b.WriteString(el.AI)
			b.WriteByte('=')
			b.WriteString(escape(el.Value, true))
		}
	}
	return b.String(), nil
}

// dlQualifiers returns the path elements: the key and the qualifiers present,
// in the order of the first qualifier sequence that holds all of them.
func (r *Result) dlQualifiers(key *entry, els []Element) ([]Element, error) {
	path := []Element{}
	for _, el := range els {
		if el.AI == key.ai {
			path = append(path, el)
			break
		}
	}
	var present []string
	for _, el := range els {
		if isQualifier(key, allAlts, el.AI) {
			present = append(present, el.AI)
		}
	}
	if len(present) == 0 {
		return path, nil
	}
	for n, alt := range key.dlQuals {
		all := true
		for _, ai := range present {
			all = all && isQualifier(key, 1<<n, ai)
		}
		if !all {
			continue
		}
		for _, q := range alt {
			for _, el := range els {
				if el.AI == q {
					path = append(path, el)
				}
			}
		}
		return path, nil
	}
	return nil, dlError("key qualifiers %s of (%s) cannot be combined", describeAIs(present), key.ai)
}

// checkAttribute refuses AIs that cannot be Digital Link data attributes.
func (r *Result) checkAttribute(key *entry, path []Element, e *entry) error {
	var quals []string
	for _, p := range path[1:] {
		quals = append(quals, p.AI)
	}
	switch {
	case e.unknown && !r.unknownDLAttrs:
		return newError(e.ai, RuleDigitalLink, "unknown AI (%s) cannot be a Digital Link data attribute", e.ai)
	case !e.dlAttr && !e.unknown:
		return newError(e.ai, RuleDigitalLink, "(%s) is not permitted as a Digital Link data attribute", e.ai)
	case isQualifier(key, compatibleQuals(key, quals), e.ai):
		return newError(e.ai, RuleDigitalLink, "(%s) is a key qualifier of (%s) and cannot be a data attribute here", e.ai, key.ai)
	}
	return nil
}

// dedupe drops repeats of an AI with the same value.
func dedupe(els []Element) []Element {
	out := make([]Element, 0, len(els))
	for _, el := range els {
		dup := false
		for _, o := range out {
			dup = dup || o == el
		}
		if !dup {
			out = append(out, el)
		}
	}
	return out
}

func aisOf(els []Element) []string {
	out := make([]string, len(els))
	for i, el := range els {
		out[i] = el.AI
	}
	return out
}
