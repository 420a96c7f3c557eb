package lifecycle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestDataDriven runs the cockroachdb/datadriven files testdata/*.txt: a
// command line, "----", and the expected output, ended by a blank line;
// lines starting with # are comments. Cases run in order and share state
// within one file. Regenerate the expected output with -rewrite and review
// the diff.
func TestDataDriven(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata files (%v)", err)
	}
	n := 0
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			h := newHarness()
			datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
				n++
				return h.run(t, d)
			})
		})
	}
	t.Logf("%d data-driven cases", n)
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
