package gs1

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCheckDigitAndKeys(t *testing.T) {
	if got := CheckDigit("0950600013435"); got != '2' {
		t.Errorf("CheckDigit = %q, want '2'", got)
	}
	if CheckDigit("") != 0 || CheckDigit("12a") != 0 {
		t.Error("CheckDigit accepts non-digits")
	}
	for s, want := range map[string]bool{
		"09506000134352": true, "09506000134353": false, "4006381333931": true, "02345673": true,
		"416000336108": true, "0950600013435": false, "095060001343522": false, "0950600013435A": false,
	} {
		if ValidGTIN(s) != want {
			t.Errorf("ValidGTIN(%q) = %v", s, !want)
		}
	}
	if !ValidSSCC("006141411234567890") || ValidSSCC("006141411234567891") {
		t.Error("ValidSSCC")
	}
	if !ValidGLN("4006381333931") || ValidGLN("4006381333932") || ValidGLN("400638133393") {
		t.Error("ValidGLN")
	}
	for s, want := range map[string]bool{
		"A": true, "abcdefghijklmnopqrst": true, "abcdefghijklmnopqrstu": false, "": false, "A B": false, "Ä": false, "SN/1%\"": true,
	} {
		if ValidSerial(s) != want {
			t.Errorf("ValidSerial(%q) = %v", s, !want)
		}
		if ValidLot(s) != want {
			t.Errorf("ValidLot(%q) = %v", s, !want)
		}
	}
}

func TestExpiredBoundary(t *testing.T) {
	end := time.Date(2026, 3, 31, 23, 59, 59, 999999999, time.UTC)
	for _, tc := range []struct {
		s    string
		at   time.Time
		want bool
	}{
		{"260331", end, false},
		{"260331", end.Add(time.Nanosecond), true},
		{"260300", end, false},
		{"260300", end.Add(time.Nanosecond), true},
		// The end of the day is in UTC, whatever the zone of t.
		{"260331", time.Date(2026, 4, 1, 1, 30, 0, 0, time.FixedZone("CEST", 2*3600)), false},
	} {
		got, err := Expired(tc.s, tc.at)
		if err != nil || got != tc.want {
			t.Errorf("Expired(%s, %v) = %v, %v; want %v", tc.s, tc.at, got, err, tc.want)
		}
	}
	if _, err := Expired("260229", end); err == nil {
		t.Error("2026-02-29 accepted")
	}
}

// TestGCPLinters covers the gcppos1/gcppos2 cases that GS1's C tests build
// in loops (skipped in TestConformance): the first four digits of the
// company prefix must be digits, and present.
func TestGCPLinters(t *testing.T) {
	for _, tc := range []struct {
		fn        linterFunc
		in, code  string
		pos, size int
	}{
		{lintGCPPos1, "012345", "", 0, 0},
		{lintGCPPos1, "0123", "", 0, 0},
		{lintGCPPos1, "0123A", "", 0, 0},
		{lintGCPPos1, "012", "TOO_SHORT_FOR_GCP", 0, 3},
		{lintGCPPos1, "", "TOO_SHORT_FOR_GCP", 0, 0},
		{lintGCPPos1, "012AA", "INVALID_GCP_PREFIX", 3, 1},
		{lintGCPPos1, "AAAAA", "INVALID_GCP_PREFIX", 0, 1},
		{lintGCPPos2, "X0123", "", 0, 0},
		{lintGCPPos2, "X012", "TOO_SHORT_FOR_GCP", 0, 4},
		{lintGCPPos2, "", "TOO_SHORT_FOR_GCP", 0, 0},
		{lintGCPPos2, "X01A3", "INVALID_GCP_PREFIX", 3, 1},
	} {
		code, pos, n := tc.fn(tc.in)
		if code != tc.code || (code != "" && (pos != tc.pos || n != tc.size)) {
			t.Errorf("%q: got %s %d+%d, want %s %d+%d", tc.in, code, pos, n, tc.code, tc.pos, tc.size)
		}
	}
}

func TestErrorType(t *testing.T) {
	_, err := Parse("(01)09506000134352(17)260332(10)A(21)B")
	var e *Error
	if !errors.As(err, &e) || e.AI != "17" || e.Field != "expiry" || e.Rule != RuleDate || e.Lint != "ILLEGAL_DAY" || e.Pos != 4 || e.Len != 2 {
		t.Fatalf("got %#v", err)
	}
	if !strings.HasPrefix(err.Error(), "gs1: ") {
		t.Errorf("message %q lacks prefix", err)
	}
}

func TestDictionary(t *testing.T) {
	d, err := DefaultDictionary()
	if err != nil {
		t.Fatal(err)
	}
	if !d.Known("8030") || d.Known("89") || d.Title("17") != "USE BY or EXPIRY" {
		t.Error("dictionary content")
	}
	e := d.lookup("01")
	if !e.fixed || !e.dlAttr || !e.dlPKey || len(e.dlQuals) != 2 || e.maxLen != 14 {
		t.Errorf("(01) entry %+v", e)
	}
	if e := d.lookup("3103"); e == nil || !e.fixed {
		t.Error("AI range 3100-3105 not expanded")
	}
	for _, bad := range []string{"", "0x * N14", "01 * Q14", "01 * N14,nolinter", "01 * [N2] N3", "01 * N14\n01 * N14"} {
		if _, err := ParseDictionary(bad); err == nil {
			t.Errorf("ParseDictionary(%q) accepted", bad)
		}
	}
}

func TestConcurrentParse(t *testing.T) {
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				r, err := Parse(benchRaw)
				if err != nil || r.Serial != "SN0001XK7Q" {
					t.Error(r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestBuildAndRoundTrip(t *testing.T) {
	r, err := Options{}.Build(Element{"01", "09506000134352"}, Element{"21", "A(1"}, Element{"17", "260300"}, Element{"10", "L 1"})
	if err == nil {
		t.Fatalf("lot with a space accepted: %v", r)
	}
	r, err = Options{}.Build(Element{"01", "09506000134352"}, Element{"21", "A(1"}, Element{"17", "260300"}, Element{"10", "L1"})
	if err != nil {
		t.Fatal(err)
	}
	dl, _ := r.DigitalLink("https://example.com/")
	for _, s := range []string{r.ElementString(), "]d2" + r.ElementString(), r.Bracketed(), dl} {
		back, err := Parse(s)
		if err != nil || len(back.Elements) != 4 || back.Serial != "A(1" || back.Expiry != "260300" {
			t.Errorf("%q: %v %v", s, back, err)
		}
	}
}

// TestHandMadeResult: Results built by hand, not by this package, may hold
// anything. The generators must not panic, must render exactly the AIs
// given, and must refuse what they cannot render: a symbol that needs a
// valid GTIN, a Digital Link without a primary key, with an unknown AI or
// an empty value, an EPC without a valid key.
func TestHandMadeResult(t *testing.T) {
	for _, tc := range []struct {
		r         *Result
		bracketed string
		elements  string
		dl        string // "" means an error is wanted
		v01       string
		has01     bool
	}{
		{r: &Result{}},
		{r: &Result{Elements: []Element{{"01", ""}}}, bracketed: "(01)", elements: "01", has01: true},
		{r: &Result{Elements: []Element{{"01", "1"}, {"89", "X"}}, GTIN: "1"}, bracketed: "(01)1(89)X", elements: "01189X", v01: "1", has01: true},
		{r: &Result{Elements: []Element{{"00", "1"}, {"414", "x"}}, SSCC: "1", GLN: "x"}, bracketed: "(00)1(414)x", elements: "001414x",
			dl: "https://id.gs1.org/00/1?414=x"},
	} {
		name := fmt.Sprintf("%v", tc.r.Elements)
		noPanic(t, name, func() {
			if got := tc.r.Bracketed(); got != tc.bracketed {
				t.Errorf("%s: Bracketed() = %q, want %q", name, got, tc.bracketed)
			}
			if got := tc.r.ElementString(); got != tc.elements {
				t.Errorf("%s: ElementString() = %q, want %q", name, got, tc.elements)
			}
			for sym, aim := range map[Symbology]string{SymbologyNone: "", SymbologyDataMatrix: "]d2", SymbologyQRCode: "]Q3", SymbologyGS1128: "]C1"} {
				if got, err := tc.r.ScanData(sym); err != nil || got != aim+tc.elements {
					t.Errorf("%s: ScanData(%d) = %q, %v; want %q", name, sym, got, err, aim+tc.elements)
				}
			}
			for _, sym := range []Symbology{SymbologyDataBarOmni, SymbologyEAN13, SymbologyUPCA, SymbologyEAN8, SymbologyEAN8 + 1} {
				if got, err := tc.r.ScanData(sym); err == nil {
					t.Errorf("%s: ScanData(%d) = %q, want an error: no valid GTIN-14 first", name, sym, got)
				}
			}
			got, err := tc.r.DigitalLink("")
			if tc.dl == "" && err == nil {
				t.Errorf("%s: DigitalLink() = %q, want an error", name, got)
			}
			if tc.dl != "" && (err != nil || got != tc.dl) {
				t.Errorf("%s: DigitalLink() = %q, %v; want %q", name, got, err, tc.dl)
			}
			if got, err := tc.r.EPC(7); err == nil {
				t.Errorf("%s: EPC(7) = %q, want an error: no valid SGTIN, SSCC or SGLN key", name, got)
			}
			if v, ok := tc.r.Value("01"); v != tc.v01 || ok != tc.has01 {
				t.Errorf("%s: Value(01) = %q, %v; want %q, %v", name, v, ok, tc.v01, tc.has01)
			}
		})
	}
}

// noPanic runs f, reporting a panic as a test error.
func noPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s: panic: %v", name, p)
		}
	}()
	f()
}
