package gs1

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of data-driven test files")

// ddCase is one case of a data-driven file, in the style of
// cockroachdb/datadriven: a command line, input lines, "----", expected
// output, ended by a blank line.
type ddCase struct {
	cmd, input, want string
	line             int
}

// readDD parses a data-driven file; it also returns the file's text split so
// that expected output can be rewritten.
func readDD(t *testing.T, path string) ([]ddCase, []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var cases []ddCase
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		c := ddCase{cmd: l, line: i + 1}
		var in []string
		for i++; i < len(lines) && lines[i] != "----"; i++ {
			in = append(in, lines[i])
		}
		var out []string
		for i++; i < len(lines) && lines[i] != ""; i++ {
			out = append(out, lines[i])
		}
		c.input, c.want = strings.Join(in, "\n"), strings.Join(out, "\n")
		cases = append(cases, c)
	}
	return cases, lines
}

// ddUnescape makes control characters typeable in the files.
var ddUnescape = strings.NewReplacer("<GS>", "\x1d", "<CR>", "\r", "<LF>", "\n")
var ddEscape = strings.NewReplacer("\x1d", "<GS>", "\r", "<CR>", "\n", "<LF>")

func TestDataDriven(t *testing.T) {
	files, _ := filepath.Glob("testdata/datadriven/*.txt")
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cases, _ := readDD(t, path)
			var out strings.Builder
			for _, c := range cases {
				got := runDD(t, c)
				if *rewrite {
					out.WriteString(c.cmd + "\n" + c.input + "\n----\n" + got + "\n\n")
					continue
				}
				if got != c.want {
					t.Errorf("%s:%d: %s\n%s\n got:\n%s\nwant:\n%s", path, c.line, c.cmd, c.input, got, c.want)
				}
			}
			if *rewrite {
				rewriteDD(t, path, cases)
			}
		})
	}
}

// rewriteDD replaces every expected output in place, keeping comments.
func rewriteDD(t *testing.T, path string, cases []ddCase) {
	_, lines := readDD(t, path)
	var b strings.Builder
	ci := 0
	for i := 0; i < len(lines); i++ {
		if ci < len(cases) && i+1 == cases[ci].line {
			c := cases[ci]
			b.WriteString(c.cmd + "\n" + c.input + "\n----\n" + runDD(t, c) + "\n")
			for i < len(lines) && lines[i] != "----" {
				i++
			}
			for i++; i < len(lines) && lines[i] != ""; i++ {
			}
			if i < len(lines) {
				b.WriteString("\n")
			}
			ci++
			continue
		}
		b.WriteString(lines[i])
		if i < len(lines)-1 {
			b.WriteString("\n")
		}
	}
	text := strings.TrimRight(b.String(), "\n") + "\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func runDD(t *testing.T, c ddCase) string {
	f := strings.Fields(c.cmd)
	in := ddUnescape.Replace(c.input)
	switch f[0] {
	case "parse":
		var o Options
		for _, a := range f[1:] {
			switch a {
			case "permit-ambiguous-run-on":
				o.PermitAmbiguousRunOn = true
			case "permit-unknown-ais":
				o.PermitUnknownAIs = true
			case "skip-associations":
				o.SkipAssociations = true
			default:
				t.Fatalf("line %d: unknown option %s", c.line, a)
			}
		}
		r, err := o.Parse(in)
		if err != nil {
			return ddError(err)
		}
		return describe(r)
	case "expiry":
		at, err := time.Parse(time.RFC3339, strings.TrimPrefix(f[1], "at="))
		if err != nil {
			t.Fatalf("line %d: %v", c.line, err)
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
	t.Fatalf("line %d: unknown command %q", c.line, f[0])
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
