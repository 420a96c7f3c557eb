package browsertest

import (
	"strings"
	"testing"
)

// TestFindFailsWithoutChromium: with no browser on PATH, Find reports an
// error saying how to install one (New turns it into t.Fatal: the browser
// tests fail, never skip).
func TestFindFailsWithoutChromium(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("PEDIGREE_CHROMIUM", "")
	p, err := Find()
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y chromium") {
		t.Fatalf("Find() = %q, %v; want an error saying how to install Chromium", p, err)
	}
}
