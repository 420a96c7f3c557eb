package lifecycle

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rewrite reports whether -rewrite was given: the flag is the one
// github.com/cockroachdb/datadriven defines (the master-data rule tests use
// that package), so that one flag rewrites every testdata file.
func rewrite() bool {
	f := flag.Lookup("rewrite")
	return f != nil && f.Value.String() == "true"
}

// A data-driven file, in the style of cockroachdb/datadriven, is a sequence
// of cases: a command line, "----", and the expected output, ended by a
// blank line. Lines starting with # between cases are comments. Cases run
// in order and share state within one file.

// ddCase is one case of a data-driven file.
type ddCase struct {
	cmd  string
	want string
	line int // 1-based line of the command
	end  int // 0-based index of the line after the expected output
}

// readDD parses a data-driven file into its lines and cases.
func readDD(t *testing.T, path string) ([]string, []ddCase) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var cases []ddCase
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		c := ddCase{cmd: l, line: i + 1}
		i++
		if i >= len(lines) || lines[i] != "----" {
			t.Fatalf("%s:%d: command not followed by ----", path, c.line)
		}
		var out []string
		for i++; i < len(lines) && lines[i] != ""; i++ {
			out = append(out, lines[i])
		}
		c.want, c.end = strings.Join(out, "\n"), i
		cases = append(cases, c)
	}
	return lines, cases
}

// runDDFile runs every case of a file through run, comparing its output
// with the expected one, or with -rewrite replacing the expected outputs.
func runDDFile(t *testing.T, path string, run func(t *testing.T, c ddCase) string) {
	lines, cases := readDD(t, path)
	var b strings.Builder
	next := 0
	for _, c := range cases {
		got := run(t, c)
		if rewrite() {
			for _, l := range lines[next : c.line-1] {
				b.WriteString(l + "\n")
			}
			b.WriteString(c.cmd + "\n----\n")
			if got != "" {
				b.WriteString(got + "\n")
			}
			next = c.end
			continue
		}
		if got != c.want {
			t.Errorf("%s:%d: %s\n got:\n%s\nwant:\n%s", path, c.line, c.cmd, got, c.want)
		}
	}
	if rewrite() {
		for _, l := range lines[next:] {
			b.WriteString(l + "\n")
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDataDriven(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata files (%v)", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			h := newHarness()
			runDDFile(t, path, h.run)
		})
	}
}

// TestEveryCodeCovered checks that the data-driven files raise every alert
// code at least once.
func TestEveryCodeCovered(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	var all strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(data)
	}
	for c := CodeUnknownProduct; c <= CodeUnauthorizedStep; c++ {
		if !strings.Contains(all.String(), "\nalert "+c.String()) {
			t.Errorf("no data-driven case raises %s", c)
		}
	}
}
