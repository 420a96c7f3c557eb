package gs1

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The conformance test replays the verdicts extracted from GS1's own test
// suites (testdata/gs1-syntax-engine, testdata/gs1-syntax-dictionary; see
// their LICENSE files). Each record names the C test macro it came from;
// runVector maps every macro to this package's API. Vectors that cannot apply
// are listed with a reason in testdata/conformance_skips.txt; every other
// vector must pass.

type vector struct {
	Macro    string            `json:"macro"`
	Args     []any             `json:"args"`
	Options  map[string]string `json:"options_in_effect"`
	Source   string            `json:"source"`
	Line     int               `json:"line"`
	Comment  *string           `json:"comment"`
	Function string            `json:"test_function"`
	file     string
}

func (v vector) key() string { return fmt.Sprintf("%s:%d", v.file, v.Line) }

var vectorFiles = []string{
	"gs1-syntax-engine/ai_c_vectors.jsonl",
	"gs1-syntax-engine/dl_c_vectors.jsonl",
	"gs1-syntax-engine/scandata_c_vectors.jsonl",
	"gs1-syntax-dictionary/linter_vectors.jsonl",
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	var out []vector
	for _, f := range vectorFiles {
		fh, err := os.Open(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var v vector
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			v.file = filepath.Base(f)
			if strings.HasPrefix(v.file, "linter") {
				// Linter line numbers are per source file.
				v.file = strings.TrimSuffix(filepath.Base(v.Source[strings.LastIndexByte(v.Source, ':')+1:]), ".c")
			}
			out = append(out, v)
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// loadSkips reads "key<whitespace>reason" lines; a key is file:line or
// file:macro (every vector of that macro in the file).
func loadSkips(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "conformance_skips.txt"))
	if err != nil {
		t.Fatal(err)
	}
	skips := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, reason, _ := strings.Cut(line, " ")
		if strings.TrimSpace(reason) == "" {
			t.Fatalf("skip %s has no reason", key)
		}
		skips[key] = strings.TrimSpace(reason)
	}
	return skips
}

func TestConformance(t *testing.T) {
	vectors := loadVectors(t)
	skips := loadSkips(t)
	used := map[string]bool{}
	var passed, skipped, failed int
	perMacro := map[string][3]int{}
	for _, v := range vectors {
		k := v.file + ":" + v.Macro
		c := perMacro[k]
		_, skip := skips[v.key()]
		if !skip {
			_, skip = skips[k]
			if skip {
				used[k] = true
			}
		} else {
			used[v.key()] = true
		}
		if skip {
			skipped++
			c[1]++
			perMacro[k] = c
			continue
		}
		if err := runVector(v); err != nil {
			failed++
			c[2]++
			t.Errorf("%s %s%v: %v", v.key(), v.Macro, v.Args, err)
		} else {
			passed++
			c[0]++
		}
		perMacro[k] = c
	}
	for k := range skips {
		if !used[k] {
			t.Errorf("skip entry %s matches no vector", k)
		}
	}
	keys := make([]string, 0, len(perMacro))
	for k := range perMacro {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := perMacro[k]
		t.Logf("%-48s pass %4d  skip %3d  fail %d", k, c[0], c[1], c[2])
	}
	applicable := passed + failed
	t.Logf("conformance: %d vectors, %d applicable, %d passed, %d skipped (listed with reasons), %d failed",
		len(vectors), applicable, passed, skipped, failed)
	if applicable == 0 || float64(passed)/float64(applicable) < 0.99 {
		t.Errorf("pass rate %d/%d is below 99%%", passed, applicable)
	}
}

// runVector evaluates one vector, returning why it failed.
func runVector(v vector) error {
	switch v.Macro {
	case "UNIT_TEST_PASS", "UNIT_TEST_FAIL":
		return runLinterVector(v)
	case "test_existsInAIdata":
		return runExistsInAIdata(v)
	case "test_parseAIdata":
		return runParseAIdata(v)
	case "test_processAIdata":
		return runProcessAIdata(v)
	case "test_validateAIs":
		return runValidateAIs(v)
	case "test_parseDLuri":
		return runParseDLuri(v)
	case "test_URIunescape", "test_URIescape":
		return runURIcoding(v)
	case "test_testGenerateDLuri":
		return runGenerateDLuri(v)
	case "test_testProcessScanData":
		return runProcessScanData(v)
	case "test_testGenerateScanData":
		return runGenerateScanData(v)
	}
	return fmt.Errorf("no mapping for macro %s", v.Macro)
}

// options maps the vector's non-default Syntax Engine settings.
func (v vector) options() Options {
	var o Options
	for k, val := range v.Options {
		on := val == "true"
		switch k {
		case "gs1_encoder_setPermitUnknownAIs":
			o.PermitUnknownAIs = on
		case "ctx->permitConvenienceAlphas":
			o.PermitConvenienceAlphas = on
		case "gs1_encoder_setPermitZeroSuppressedGTINinDLuris":
			o.PermitZeroSuppressedGTIN = on
		case "gs1_encoder_setValidationEnabled(gs1_encoder_vUNKNOWN_AI_NOT_DL_ATTR)":
			o.PermitUnknownDLAttributes = !on
		}
	}
	return o
}

func str(a any) (string, bool) { s, ok := a.(string); return s, ok }

func ident(a any) string {
	if m, ok := a.(map[string]any); ok {
		s, _ := m["ident"].(string)
		return s
	}
	return ""
}

// latin1 turns the JSON rendering of C byte strings back into bytes.
func latin1(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return string(b)
}

// engineData converts the Syntax Engine's internal data string ("^" for
// FNC1, leading "^" for FNC1 in first position) to a raw element string.
func engineData(s string) (string, bool) {
	if !strings.HasPrefix(s, "^") {
		return "", false
	}
	return strings.ReplaceAll(s[1:], "^", string(GS)), true
}

func verdict(should bool, err error) error {
	switch {
	case should && err != nil:
		return fmt.Errorf("want success, got %v", err)
	case !should && err == nil:
		return fmt.Errorf("want failure, got success")
	}
	return nil
}

func elemsOf(r *Result) []elem {
	out := make([]elem, len(r.Elements))
	for i, el := range r.Elements {
		out[i] = elem{ai: el.AI, value: el.Value, e: r.entryOf(el.AI)}
	}
	return out
}
