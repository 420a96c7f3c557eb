package gs1

import (
	"errors"
	"fmt"
	"sort"
	"testing"
)

// Fuzz targets, one per input form plus auto-detection. Each checks that no
// input panics, that every refusal is an *Error with the "gs1: " prefix, and
// that accepted input survives generate → parse: the same form gives the
// same AIs, and bracketed text (which cannot be ambiguous) gives the same
// AIs for every form. Regression seeds live in testdata/fuzz/<target>/.

var fuzzSeeds = []string{
	benchRaw, benchBracketed, benchDL,
	"]d2010950600013435210ABC12317260331",
	"]d2010950600013435210ABC1231726033121SN0001",
	"]d2\x1d01095060001343521726033110ABC123\x1d21SN0001XK7Q\r\n",
	"0104150123456782710PZN12345678\x1d1728123110LOT9\x1d21X7P4Q2",
	"]C100006141411234567890", "]E04006381333931", "]E402345673|]e099COMPOSITE\x1d98XYZ",
	"]Q1https://brand.example/p/01/09506000134352/10/ABC123/21/SN%2F0001%25X?17=260331&utm=1#f",
	"(01)09506000134352(21)ab-./_\\(f)*+,:;<=>?!\"(10)%&'x",
	"(8030)DIGSIG(253)1234567890128X", "(8110)0123456123456111101231", "(4309)18000000010000000000",
	"https://a/01/12312312312333/22/TEST/10/ABC/21/XYZ", "https://id.gs1.org/414/9520123456788/254/32a%2Fb",
	"https://a/8004/9520614141234567?01=2112345678900", "(7007)211225211231", "(423)528528528528528",
}

// fuzzOptions derives Options from a fuzzed byte.
func fuzzOptions(b byte) Options {
	return Options{
		PermitUnknownAIs:          b&1 != 0,
		PermitUnknownDLAttributes: b&2 != 0,
		SkipAssociations:          b&4 != 0,
		PermitZeroSuppressedGTIN:  b&8 != 0,
		PermitConvenienceAlphas:   b&16 != 0,
		PermitAmbiguousRunOn:      b&32 != 0,
	}
}

func addSeeds(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, byte(0))
	}
}

// sameElements compares AIs ignoring order and repeats of identical AIs.
func sameElements(a, b []Element) bool {
	key := func(els []Element) string {
		seen := map[Element]bool{}
		var ks []string
		for _, el := range els {
			if !seen[el] {
				seen[el] = true
				ks = append(ks, el.AI+"\x00"+el.Value)
			}
		}
		sort.Strings(ks)
		return fmt.Sprint(ks)
	}
	return key(a) == key(b)
}

// checkResult applies the properties common to every form.
func checkResult(t *testing.T, o Options, r *Result, err error, again func(*Result) (*Result, error), ordered bool) {
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || err.Error()[:5] != "gs1: " {
			t.Fatalf("error %q is not a gs1 *Error", err)
		}
		return
	}
	back, err := o.ParseBracketed(r.Bracketed())
	if err != nil || fmt.Sprint(back.Elements) != fmt.Sprint(r.Elements) {
		t.Fatalf("bracketed round trip of %v: %v %v", r.Elements, back, err)
	}
	if again == nil {
		return
	}
	back, err = again(r)
	if err != nil {
		t.Fatalf("round trip of %v: %v", r.Elements, err)
	}
	if ordered && fmt.Sprint(back.Elements) != fmt.Sprint(r.Elements) || !sameElements(back.Elements, r.Elements) {
		t.Fatalf("round trip of %v gave %v", r.Elements, back.Elements)
	}
}

func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, s string, ob byte) {
		o := fuzzOptions(ob)
		r, err := o.Parse(s)
		checkResult(t, o, r, err, nil, false)
	})
}

func FuzzElementString(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, s string, ob byte) {
		o := fuzzOptions(ob)
		r, err := o.ParseElementString(s)
		checkResult(t, o, r, err, func(r *Result) (*Result, error) {
			if r.Form == FormDigitalLink {
				return o.ParseDigitalLink(mustDL(t, r))
			}
			return o.ParseElementString(r.ElementString())
		}, r != nil && r.Form != FormDigitalLink)
	})
}

func FuzzBracketed(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, s string, ob byte) {
		o := fuzzOptions(ob)
		r, err := o.ParseBracketed(s)
		checkResult(t, o, r, err, func(r *Result) (*Result, error) { return o.ParseBracketed(r.Bracketed()) }, true)
	})
}

func FuzzDigitalLink(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, s string, ob byte) {
		o := fuzzOptions(ob)
		r, err := o.ParseDigitalLink(s)
		checkResult(t, o, r, err, func(r *Result) (*Result, error) { return o.ParseDigitalLink(mustDL(t, r)) }, false)
	})
}

// mustDL renders a Result parsed from a Digital Link back to one.
func mustDL(t *testing.T, r *Result) string {
	uri, err := r.DigitalLink("https://example.com/stem")
	if err != nil {
		t.Fatalf("DigitalLink of %v: %v", r.Elements, err)
	}
	return uri
}
