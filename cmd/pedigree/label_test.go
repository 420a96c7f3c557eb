package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runLabelCommand runs `pedigree label` in-process and returns its output
// and error.
func runLabelCommand(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"label"}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// writeSerials writes lines to a serials file in dir.
func writeSerials(t *testing.T, dir string, lines ...string) string {
	t.Helper()
	path := filepath.Join(dir, "serials.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func serialLines(n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("SN%05d", i+1)
	}
	return lines
}

// TestLabelRefusesLine checks that a bad line of the serials file is
// refused naming its line and rule, and that nothing is written then.
func TestLabelRefusesLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, bad, want string
	}{
		{"space", "SN 7", "line 7: gs1: (21) serial 'SN 7': character ' ' is not allowed"},
		{"too long", strings.Repeat("9", 21), "line 7: gs1: (21) serial '999999999999999999999' is too long"},
		{"empty", "", "line 7: gs1: (21) has no serial"},
		{"duplicate", "SN00002", `line 7: serial "SN00002" repeats line 2`},
		{"CRLF and GS", "A\x1d21B\r", "line 7: gs1: (21) serial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := serialLines(10)
			lines[6] = tc.bad
			out := filepath.Join(dir, tc.name+".svg")
			_, err := runLabelCommand(t, "09506000134352", "LOT1", "--serials", writeSerials(t, dir, lines...), "--expiry", "281231", "--out", out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s written despite the error (%v)", out, err)
			}
		})
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"09506000134353", "LOT1", "--expiry", "281231"}, "check digit"},
		{[]string{"09506000134352", "LOT 1", "--expiry", "281231"}, "(10) lot 'LOT 1'"},
		{[]string{"09506000134352", "LOT1", "--expiry", "281331"}, "expiry"},
		{[]string{"09506000134352", "LOT1", "--expiry", "281231", "--format", "pdf"}, `--format "pdf"`},
		{[]string{"09506000134352", "LOT1", "--expiry", "281231", "--per-sheet", "0"}, "--per-sheet 0"},
	} {
		args := append(tc.args, "--serials", writeSerials(t, dir, "S1"), "--out", filepath.Join(dir, "x"))
		if _, err := runLabelCommand(t, args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}

// TestLabelWrites runs the command for each format: txt gives one line per
// pack with GS, svg into a directory gives sheets of --per-sheet packs.
func TestLabelWrites(t *testing.T) {
	dir := t.TempDir()
	serials := writeSerials(t, dir, serialLines(25)...)
	common := []string{"09506000134352", "LOT1", "--serials", serials, "--expiry", "281200"}

	txt, err := runLabelCommand(t, append(common, "--format", "txt", "--out", "-")...)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(txt, "\n"), "\n")
	if len(lines) != 25 || lines[24] != "(01)09506000134352(17)281200(10)LOT1(21)SN00025\t01095060001343521728120010LOT1\x1d21SN00025" {
		t.Fatalf("txt: %d lines, last %q", len(lines), lines[len(lines)-1])
	}

	sheets := filepath.Join(dir, "sheets")
	if _, err := runLabelCommand(t, append(common, "--format", "svg", "--qr", "--per-sheet", "10", "--out", sheets)...); err != nil {
		t.Fatal(err)
	}
	total := 0
	for n, want := range []int{10, 10, 5} {
		data, err := os.ReadFile(filepath.Join(sheets, fmt.Sprintf("sheet-%04d.svg", n+1)))
		if err != nil {
			t.Fatal(err)
		}
		if err := xml.Unmarshal(data, new(struct{})); err != nil {
			t.Fatalf("sheet %d: %v", n+1, err)
		}
		if got := strings.Count(string(data), `class="gs1-datamatrix"`); got != want {
			t.Errorf("sheet %d: %d DataMatrix symbols, want %d", n+1, got, want)
		}
		total += strings.Count(string(data), `class="gs1-qr"`)
	}
	if total != 25 {
		t.Errorf("%d QR codes, want 25", total)
	}

	png := filepath.Join(dir, "all.png")
	out, err := runLabelCommand(t, append(common, "--format", "png", "--out", png)...)
	if err != nil || !strings.Contains(out, "25 packs: "+png) {
		t.Fatalf("png: %q, %v", out, err)
	}
	if data, err := os.ReadFile(png); err != nil || !bytes.HasPrefix(data, []byte("\x89PNG")) {
		t.Fatalf("png file: %v", err)
	}
}
