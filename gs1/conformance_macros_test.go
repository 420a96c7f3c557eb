package gs1

import (
	"fmt"
	"strings"
)

// Data of the C tests that the extraction names by identifier.
var engineIdents = map[string]string{
	"dataStr1": "(01)12345678901231",
	"dataStr2": "(98)DEF(97)GHI(96)JKL(95)MNO",
	"dataStr3": "(01)12345678901231(235)ABC123(8002)123456",
}

func runExistsInAIdata(v vector) error {
	should, _ := v.Args[0].(bool)
	data := engineIdents[ident(v.Args[1])]
	needle, _ := str(v.Args[2])
	ignore, _ := str(v.Args[3])
	expect, hasExpect := str(v.Args[4])
	r, err := Options{SkipAssociations: true}.ParseBracketed(data)
	if err != nil {
		return err
	}
	got, ok := existsInAIdata(elemsOf(r), needle, ignore)
	if ok != should {
		return fmt.Errorf("found=%v (%s), want %v", ok, got, should)
	}
	if hasExpect && got != expect {
		return fmt.Errorf("matched (%s), want (%s)", got, expect)
	}
	return nil
}

// reconstructed holds inputs the C tests build in code; the extraction has
// only the variable name. They are rebuilt from the C test's comment.
func reconstructed(v vector) (string, bool) {
	comment := ""
	if v.Comment != nil {
		comment = *v.Comment
	}
	switch {
	case strings.HasPrefix(comment, "Exactly 90 chars") && v.Macro == "test_parseAIdata":
		return "(91)" + strings.Repeat("X", 90), true
	case strings.HasPrefix(comment, "91 chars") && v.Macro == "test_parseAIdata":
		return "(91)" + strings.Repeat("X", 91), true
	case strings.HasPrefix(comment, "Exactly 90 chars"):
		return "^91" + strings.Repeat("X", 90), true
	case strings.HasPrefix(comment, "91 chars"):
		return "^91" + strings.Repeat("X", 91), true
	case strings.HasPrefix(comment, "Exactly 64 AIs"):
		return "^" + strings.Repeat("0112345678901231", 64), true
	case strings.HasPrefix(comment, "65 AIs"):
		return "^" + strings.Repeat("0112345678901231", 65), true
	}
	return "", false
}

func runParseAIdata(v vector) error {
	should, _ := v.Args[0].(bool)
	in, ok := str(v.Args[1])
	if !ok {
		in, _ = reconstructed(v)
	}
	r, err := Options{SkipAssociations: true}.ParseBracketed(in)
	if err := verdict(should, err); err != nil || !should {
		return err
	}
	want, ok := str(v.Args[2])
	if !ok {
		want = "^" + in[1:3] + in[4:]
	}
	want, _ = engineData(want)
	if got := r.ElementString(); got != want {
		return fmt.Errorf("element string %q, want %q", got, want)
	}
	return nil
}

func runProcessAIdata(v vector) error {
	should, _ := v.Args[0].(bool)
	in, ok := str(v.Args[1])
	if !ok {
		in, _ = reconstructed(v)
	}
	raw, isGS1 := engineData(in)
	if !isGS1 {
		return verdict(should, fmt.Errorf("no FNC1 in first position"))
	}
	o := v.options()
	o.SkipAssociations = true
	_, err := o.ParseElementString(raw)
	return verdict(should, err)
}

func runValidateAIs(v vector) error {
	should, _ := v.Args[0].(bool)
	fn := ident(v.Args[1])
	in, _ := str(v.Args[2])
	o := v.options()
	o.SkipAssociations = true
	r, err := o.ParseBracketed(in)
	if err != nil {
		return fmt.Errorf("parse failed for non-association reasons: %v", err)
	}
	checks := map[string]func([]elem) *Error{
		"validateAIrepeats":                   checkRepeats,
		"validateAImutex":                     checkExclusions,
		"validateAIrequisites":                checkRequisites,
		"validateDigSigRequiresSerialisedKey": checkDigSig,
	}
	check, ok := checks[fn]
	if !ok {
		return fmt.Errorf("no mapping for %s", fn)
	}
	if cerr := check(elemsOf(r)); cerr != nil {
		return verdict(should, cerr)
	}
	return verdict(should, nil)
}

func runParseDLuri(v vector) error {
	should, _ := v.Args[0].(bool)
	uri, _ := str(v.Args[1])
	r, err := v.options().ParseDigitalLink(uri)
	if err := verdict(should, err); err != nil || !should {
		return err
	}
	exp, _ := str(v.Args[2])
	want, _ := engineData(exp)
	if got := r.ElementString(); got != want {
		return fmt.Errorf("element string %q, want %q", got, want)
	}
	return nil
}

func runURIcoding(v vector) error {
	in, _ := str(v.Args[0])
	path, _ := str(v.Args[1])
	query, _ := str(v.Args[2])
	in, path, query = latin1(in), latin1(path), latin1(query)
	f := unescape
	if v.Macro == "test_URIescape" {
		f = escape
	}
	if got := f(in, false); got != path {
		return fmt.Errorf("path form %q, want %q", got, path)
	}
	if got := f(in, true); got != query {
		return fmt.Errorf("query form %q, want %q", got, query)
	}
	return nil
}

func runGenerateDLuri(v vector) error {
	should, _ := v.Args[0].(bool)
	stem, _ := str(v.Args[1])
	data, _ := str(v.Args[2])
	r, err := v.options().ParseBracketed(data)
	if err != nil {
		return verdict(should, err)
	}
	uri, err := r.DigitalLink(stem)
	if err := verdict(should, err); err != nil || !should {
		return err
	}
	if want, _ := str(v.Args[3]); uri != want {
		return fmt.Errorf("URI %q, want %q", uri, want)
	}
	return nil
}

// symbologies maps the C test's symbology names.
var symbologies = map[string]Symbology{
	"NONE": SymbologyNone, "QR": SymbologyQRCode, "DM": SymbologyDataMatrix, "DotCode": SymbologyDotCode,
	"DataBarExpanded": SymbologyDataBarExpanded, "GS1_128_CCA": SymbologyGS1128, "GS1_128_CCC": SymbologyGS1128,
	"DataBarOmni": SymbologyDataBarOmni, "DataBarLimited": SymbologyDataBarLimited, "UPCA": SymbologyUPCA,
	"UPCE": SymbologyUPCE, "EAN13": SymbologyEAN13, "EAN8": SymbologyEAN8,
}

// engineMessage converts the engine's data string, "primary|composite", to
// elements: GS1 parts start with "^"; a linear primary may be bare digits.
func engineMessage(data string) ([]Element, error) {
	var out []Element
	for i, part := range strings.Split(data, "|") {
		if raw, ok := engineData(part); ok {
			r, err := Options{SkipAssociations: true}.ParseElementString(raw)
			if err != nil {
				return nil, err
			}
			out = append(out, r.Elements...)
			continue
		}
		if i > 0 || !allDigits(part) || len(part) > 14 || len(part) < 8 {
			return nil, fmt.Errorf("plain data %q", part)
		}
		out = append(out, Element{AI: "01", Value: strings.Repeat("0", 14-len(part)) + part})
	}
	return out, nil
}

func runGenerateScanData(v vector) error {
	sym := symbologies[ident(v.Args[0])]
	data, _ := str(v.Args[1])
	want, should := str(v.Args[2])
	els, err := engineMessage(data)
	if err != nil {
		return verdict(should, err)
	}
	r, err := Options{}.Build(els...)
	if err != nil {
		return verdict(should, err)
	}
	got, err := r.ScanData(sym)
	if err := verdict(should, err); err != nil || !should {
		return err
	}
	if got != want {
		return fmt.Errorf("scan data %q, want %q", got, want)
	}
	return nil
}

func runProcessScanData(v vector) error {
	should, _ := v.Args[0].(bool)
	in, _ := str(v.Args[1])
	r, err := Options{}.ParseElementString(in)
	if err := verdict(should, err); err != nil || !should {
		return err
	}
	wantSym := symbologies[ident(v.Args[2])]
	if r.Symbology != wantSym && !(wantSym == SymbologyEAN13 && r.Symbology == SymbologyEAN13) {
		return fmt.Errorf("symbology %d, want %d", r.Symbology, wantSym)
	}
	exp, _ := str(v.Args[3])
	if isDigitalLink(exp) {
		if r.Form != FormDigitalLink {
			return fmt.Errorf("form %d, want Digital Link", r.Form)
		}
		return nil
	}
	els, err := engineMessage(exp)
	if err != nil {
		return err
	}
	want := (&Result{Elements: els, dict: r.dict}).ElementString()
	if got := r.ElementString(); got != want {
		return fmt.Errorf("element string %q, want %q", got, want)
	}
	return nil
}

// linterByIdent maps the C linter function names to this package's linters.
func linterByIdent(id string) (linterFunc, bool) {
	name := strings.TrimPrefix(id, "gs1_lint_")
	switch name {
	case "csetnumeric":
		return lintNumeric, true
	case "cset82":
		return lintCset82, true
	case "cset39":
		return lintCset39, true
	case "cset64":
		return lintCset64, true
	}
	f, ok := linterTable[name]
	return f, ok
}

func runLinterVector(v vector) error {
	fn, ok := linterByIdent(ident(v.Args[0]))
	if !ok {
		return fmt.Errorf("no linter %s", ident(v.Args[0]))
	}
	data, ok := str(v.Args[1])
	if !ok {
		return fmt.Errorf("data is built in C code")
	}
	data = latin1(data)
	code, pos, n := fn(data)
	if v.Macro == "UNIT_TEST_PASS" {
		if code != "" {
			return fmt.Errorf("got %s at %d+%d, want pass", code, pos, n)
		}
		return nil
	}
	want := strings.TrimPrefix(ident(v.Args[2]), "GS1_LINTER_")
	if code != want {
		return fmt.Errorf("got %q, want %s", code, want)
	}
	markup, _ := str(v.Args[3])
	if got := data[:pos] + "*" + data[pos:pos+n] + "*" + data[pos+n:]; got != latin1(markup) {
		return fmt.Errorf("error at %q, want %q", got, latin1(markup))
	}
	return nil
}
