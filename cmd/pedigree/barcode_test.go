package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// runPedigree runs the pedigree command with args and stdin, and returns
// its stdout, stderr and whether it exited with status 0. Under the race
// detector the command does not wait its default second at exit.
func runPedigree(ctx context.Context, t *testing.T, stdin string, env []string, args ...string) (stdout, stderr string, ok bool) {
	t.Helper()
	cmd := pedigreeCmd(ctx, t, args...)
	cmd.Env = append(append(cmd.Env, "GORACE=atexit_sleep_ms=0"), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err == nil
}

func TestBarcodeParse(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want := map[string]string{"gtin": "09506000134352", "serial": "S1", "lot": "LOT1", "expiry": "281231", "sscc": ""}
	for _, tc := range []struct {
		name, stdin string
		args        []string
	}{
		{"raw with symbology identifier", "", []string{"]d2010950600013435217281231" + "10LOT1\x1d21S1"}},
		{"bracketed", "", []string{"(01)09506000134352(17)281231(10)LOT1(21)S1"}},
		{"digital link", "", []string{"https://id.example.com/01/09506000134352/10/LOT1/21/S1?17=281231"}},
		{"GS stand-in |", "", []string{"--gs", "|", "01095060001343521728123110LOT1|21S1"}},
		{"GS stand-in ^ from stdin", "01095060001343521728123110LOT1^21S1\r\n", []string{"--gs", "^", "-"}},
	} {
		out, errOut, ok := runPedigree(ctx, t, tc.stdin, nil, append([]string{"barcode", "parse", "--json"}, tc.args...)...)
		if !ok {
			t.Errorf("%s: failed: %s", tc.name, errOut)
			continue
		}
		var got struct {
			GTIN, Serial, Lot, Expiry, SSCC string
			AIs                             map[string]string
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Errorf("%s: output is not JSON: %v\n%s", tc.name, err, out)
			continue
		}
		fields := map[string]string{"gtin": got.GTIN, "serial": got.Serial, "lot": got.Lot, "expiry": got.Expiry, "sscc": got.SSCC}
		for k, v := range want {
			if fields[k] != v {
				t.Errorf("%s: %s = %q, want %q", tc.name, k, fields[k], v)
			}
		}
		if got.AIs["01"] != "09506000134352" || got.AIs["21"] != "S1" || len(got.AIs) != 4 {
			t.Errorf("%s: ais = %v", tc.name, got.AIs)
		}
	}
}

func TestBarcodeParseText(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, errOut, ok := runPedigree(ctx, t, "", nil, "barcode", "parse", "(00)340123450000000000")
	if !ok {
		t.Fatalf("failed: %s", errOut)
	}
	for _, w := range []string{"SSCC:", "340123450000000000", "(00)", "SSCC"} {
		if !strings.Contains(out, w) {
			t.Errorf("text output lacks %q:\n%s", w, out)
		}
	}
	out, _, ok = runPedigree(ctx, t, "", nil, "barcode", "parse", "(01)09506000134352(17)260300(10)L(21)S")
	if !ok || !strings.Contains(out, "BATCH/LOT") || !strings.Contains(out, "260300 (2026-03-31)") {
		t.Errorf("text output lacks the AI titles or the expiry's last day of month:\n%s", out)
	}
}

func TestBarcodeParseErrorsNameTheProblem(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"missing GS run-on", []string{"]d2010950600013435210ABC12317260331"}, []string{"(10)", "(17)", "GS", "missing"}},
		{"bad GTIN check digit", []string{"(01)09506000134353(21)S1"}, []string{"(01)", "check digit"}},
		{"letter as GS stand-in", []string{"--gs", "A", "x"}, []string{"--gs"}},
	} {
		out, errOut, ok := runPedigree(ctx, t, "", nil, append([]string{"barcode", "parse"}, tc.args...)...)
		if ok {
			t.Errorf("%s: exited 0 with %s", tc.name, out)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: message %q does not mention %q", tc.name, errOut, w)
			}
		}
	}
}

func TestBarcodeBuildRoundTrips(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fields := []string{"--gtin", "09506000134352", "--serial", "S1", "--lot", "LOT1", "--expiry", "281231"}
	for form, want := range map[string]string{
		"raw":       "01095060001343521728123110LOT1|21S1\n",
		"bracketed": "(01)09506000134352(17)281231(10)LOT1(21)S1\n",
		"dl":        "https://id.gs1.org/01/09506000134352/10/LOT1/21/S1?17=281231\n",
	} {
		out, errOut, ok := runPedigree(ctx, t, "", nil, append([]string{"barcode", "build", "--form", form, "--gs", "|"}, fields...)...)
		if !ok || out != want {
			t.Errorf("--form %s: %q %s, want %q", form, out, errOut, want)
		}
	}
	if _, errOut, ok := runPedigree(ctx, t, "", nil, "barcode", "build", "--gtin", "09506000134353"); ok || !strings.Contains(errOut, "(01)") {
		t.Errorf("bad GTIN built: %s", errOut)
	}
}
