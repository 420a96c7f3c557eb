package gs1

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// ddUnescape makes control characters typeable in the files.
var ddUnescape = strings.NewReplacer("<GS>", "\x1d", "<CR>", "\r", "<LF>", "\n")
var ddEscape = strings.NewReplacer("\x1d", "<GS>", "\r", "<CR>", "\n", "<LF>")

// TestDataDriven runs the cockroachdb/datadriven files in
// testdata/datadriven: a command, the input, "----", the expected output.
// Regenerate the expected output with -rewrite and review the diff.
func TestDataDriven(t *testing.T) {
	n := 0
	datadriven.Walk(t, "testdata/datadriven", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			n++
			return runDD(t, d)
		})
	})
	if n == 0 {
		t.Fatal("no data-driven cases in testdata/datadriven")
	}
	t.Logf("%d data-driven cases", n)
}

func runDD(t *testing.T, d *datadriven.TestData) string {
	in := ddUnescape.Replace(d.Input)
	switch d.Cmd {
	case "parse":
		var o Options
		for _, a := range d.CmdArgs {
			switch a.Key {
			case "permit-ambiguous-run-on":
				o.PermitAmbiguousRunOn = true
			case "permit-unknown-ais":
				o.PermitUnknownAIs = true
			case "skip-associations":
				o.SkipAssociations = true
			default:
				t.Fatalf("%s: unknown option %s", d.Pos, a.Key)
			}
		}
		r, err := o.Parse(in)
		if err != nil {
			return ddError(err)
		}
		return describe(r)
	case "expiry":
		var s string
		d.ScanArgs(t, "at", &s)
		at, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatalf("%s: at: %v", d.Pos, err)
		}
		d, err := ExpiryDate(in, at)
		if err != nil {
			return ddError(err)
		}
		exp, err := Expired(in, at)
		if err != nil {
			return ddError(err)
		}
		return fmt.Sprintf("date=%s expired=%v", d.Format(time.DateOnly), exp)
	}
	t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
	return ""
}

func ddError(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return "error (not *Error): " + err.Error()
	}
	return fmt.Sprintf("error rule=%s ai=%s field=%s: %v", e.Rule, e.AI, e.Field, err)
}

var formNames = map[Form]string{FormElementString: "element-string", FormBracketed: "bracketed", FormDigitalLink: "digital-link", FormElements: "elements"}
var symNames = map[Symbology]string{
	SymbologyNone: "none", SymbologyDataMatrix: "datamatrix", SymbologyQRCode: "qrcode", SymbologyDotCode: "dotcode",
	SymbologyGS1128: "gs1-128", SymbologyDataBarExpanded: "databar-expanded", SymbologyEAN13: "ean-13", SymbologyEAN8: "ean-8",
}

// describe renders a Result: its shortcut fields and all generated forms.
func describe(r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ok form=%s symbology=%s\n", formNames[r.Form], symNames[r.Symbology])
	var fields []string
	for _, f := range []struct{ name, v string }{
		{"sscc", r.SSCC}, {"gtin", r.GTIN}, {"lot", r.Lot}, {"expiry", r.Expiry}, {"serial", r.Serial}, {"gln", r.GLN},
	} {
		if f.v != "" {
			fields = append(fields, f.name+"="+f.v)
		}
	}
	if r.NHRN.AI != "" {
		fields = append(fields, fmt.Sprintf("nhrn=(%s)%s", r.NHRN.AI, r.NHRN.Value))
	}
	if len(fields) > 0 {
		b.WriteString(strings.Join(fields, " ") + "\n")
	}
	b.WriteString("bracketed " + r.Bracketed() + "\n")
	scan, err := r.ScanData(r.Symbology)
	if err != nil {
		scan = "error: " + err.Error()
	}
	b.WriteString("scan " + ddEscape.Replace(scan) + "\n")
	dl, err := r.DigitalLink("")
	if err != nil {
		dl = "error: " + err.Error()
	}
	b.WriteString("dl " + dl)
	return b.String()
}
