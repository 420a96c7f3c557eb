package epcis

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// prefixTable assigns namespace prefixes to the extension namespaces an
// encoder meets. It prefers the prefixes the document declared
// (Document.Namespaces), so that a decoded document is written back with
// its own prefixes, and makes up ns1, ns2, … otherwise.
type prefixTable struct {
	byIRI    map[string]string   // namespace → prefix
	inUse    map[string]string   // prefix → namespace
	declared map[string]bool     // prefixes to declare in the output
	cands    map[string][]string // namespace → the document's prefixes for it
	reserved func(string) bool
}

// newPrefixTable returns a table knowing the prefixes of preset (written
// without declaration, such as those of the standard JSON-LD context) and
// the candidates of doc.Namespaces; a preset prefix the document binds to
// another namespace is the document's. reserved tells prefixes never to
// use.
func newPrefixTable(doc *Document, preset map[string]string, reserved func(string) bool) *prefixTable {
	t := &prefixTable{byIRI: map[string]string{}, inUse: map[string]string{}, declared: map[string]bool{},
		cands: map[string][]string{}, reserved: reserved}
	for p, iri := range preset {
		if doc != nil && doc.Namespaces[p] != "" && doc.Namespaces[p] != iri {
			continue // the document binds the prefix to another namespace
		}
		t.inUse[p] = iri
		if q, ok := t.byIRI[iri]; !ok || p < q {
			t.byIRI[iri] = p
		}
	}
	if doc != nil {
		for p, iri := range doc.Namespaces {
			if iri != "" && !xsdNamespace(iri) && validNCName(p) && !reserved(p) {
				t.cands[iri] = append(t.cands[iri], p)
			}
		}
	}
	for _, c := range t.cands {
		sort.Strings(c)
	}
	return t
}

// prefix returns the prefix for the namespace iri, assigning one the first
// time.
func (t *prefixTable) prefix(iri string) string {
	if p, ok := t.byIRI[iri]; ok {
		return p
	}
	p := ""
	for _, c := range t.cands[iri] {
		if _, taken := t.inUse[c]; !taken {
			p = c
			break
		}
	}
	for i := 1; p == ""; i++ {
		c := fmt.Sprintf("ns%d", i)
		if _, taken := t.inUse[c]; !taken && !t.reserved(c) {
			p = c
		}
	}
	t.byIRI[iri] = p
	t.inUse[p] = iri
	t.declared[p] = true
	return p
}

// declarations returns the prefixes assigned beyond the preset ones,
// sorted, with their namespaces.
func (t *prefixTable) declarations() [][2]string {
	out := make([][2]string, 0, len(t.declared))
	for p := range t.declared {
		out = append(out, [2]string{p, t.inUse[p]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// visitNames calls fn with the name of every extension field of ev (at any
// depth) and of every name it ignores, so that an encoder can assign
// prefixes before it writes.
func visitNames(ev *Event, fn func(Name)) {
	var fields func([]Field)
	fields = func(fs []Field) {
		for i := range fs {
			fn(fs[i].Name)
			fields(fs[i].Children)
		}
	}
	fields(ev.Extensions)
	fields(ev.ILMD)
	if ed := ev.ErrorDeclaration; ed != nil {
		fields(ed.Extensions)
	}
	if pd := ev.PersistentDisposition; pd != nil {
		fields(pd.Extensions)
	}
	for _, l := range []*Location{ev.ReadPoint, ev.BizLocation} {
		if l != nil {
			fields(l.Extensions)
		}
	}
	for _, ql := range [][]QuantityElement{ev.QuantityList, ev.ChildQuantityList, ev.InputQuantityList, ev.OutputQuantityList} {
		for i := range ql {
			fields(ql[i].Extensions)
		}
	}
	for i := range ev.BizTransactionList {
		fields(ev.BizTransactionList[i].Extensions)
	}
	for _, sl := range [][]SourceDest{ev.SourceList, ev.DestinationList} {
		for i := range sl {
			fields(sl[i].Extensions)
		}
	}
	for i := range ev.SensorElementList {
		se := &ev.SensorElementList[i]
		fields(se.Extensions)
		if se.Metadata != nil {
			fields(se.Metadata.Extensions)
		}
		for j := range se.Reports {
			fields(se.Reports[j].Extensions)
		}
	}
	for _, n := range ev.IgnoreFields {
		fn(n)
	}
}

// validNCName reports whether s is an XML name without a colon.
func validNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (r == '-' || r == '.' || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)):
		default:
			return false
		}
	}
	return true
}

// validXMLText reports whether every character of s may appear in an XML
// 1.0 document.
func validXMLText(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return false
			}
		}
		if !(r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return false
		}
	}
	return true
}

// reservedXMLPrefix reports the prefixes an XML encoder keeps for itself.
func reservedXMLPrefix(p string) bool {
	return p == "epcis" || p == "epcisq" || p == "xsi" || strings.HasPrefix(strings.ToLower(p), "xml")
}
