package epc_test

import (
	"strings"
	"testing"

	"github.com/pedigree-project/pedigree/gs1/epc"
)

// vectorInputs returns the inputs of the vectors of one direction, as fuzz
// seeds.
func vectorInputs(f *testing.F, toURI bool) []string {
	var out []string
	for _, v := range loadVectors(f) {
		if strings.HasPrefix(v.Op, "toURI") == toURI {
			out = append(out, v.Input)
		}
	}
	return out
}

// FuzzParseURN checks that ParseURN never panics and that an accepted URN
// survives the round trip through Digital Link.
func FuzzParseURN(f *testing.F) {
	for _, s := range vectorInputs(f, true) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, urn string) {
		e, err := epc.ParseURN(urn)
		if err != nil {
			return
		}
		canon, err := epc.ParseURN(e.URN())
		if err != nil || canon.URN() != e.URN() {
			t.Fatalf("%s: canonical %q parses to %q, %v", urn, e.URN(), canon.URN(), err)
		}
		dl, err := e.DigitalLink("https://example.com/a")
		if err != nil {
			t.Fatalf("%s: DigitalLink: %v", urn, err)
		}
		back, err := epc.FromDigitalLink(dl, epc.FixedLength(len(e.CompanyPrefix)))
		if err != nil {
			t.Fatalf("%s → %s: FromDigitalLink: %v", urn, dl, err)
		}
		if back.URN() != e.URN() {
			t.Fatalf("%s → %s → %s", e.URN(), dl, back.URN())
		}
	})
}

// FuzzDigitalLinkToURN checks that the Digital Link conversions never
// panic and that an accepted URI's URN converts back to the same key.
func FuzzDigitalLinkToURN(f *testing.F) {
	for _, s := range vectorInputs(f, false) {
		f.Add(s, 7)
	}
	tab := fixtureTable(f)
	f.Fuzz(func(t *testing.T, uri string, l int) {
		var pl epc.PrefixLengths = epc.FixedLength(l)
		if l < 0 {
			pl = tab
		}
		e, err := epc.FromDigitalLink(uri, pl)
		if _, cerr := epc.DigitalLinkToClassURN(uri, pl); cerr == nil && err != nil {
			t.Fatalf("%s: a class URN but no EPC: %v", uri, err)
		}
		if err != nil {
			return
		}
		again, err := epc.ParseURN(e.URN())
		if err != nil {
			t.Fatalf("%s → %s does not parse: %v", uri, e.URN(), err)
		}
		if again.Elements[0] != e.Elements[0] && e.Kind != epc.KindPattern {
			t.Fatalf("%s: key %v became %v", uri, e.Elements[0], again.Elements[0])
		}
	})
}
