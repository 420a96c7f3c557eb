package state

import (
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// TestCloseTwice: a second Close returns the first one's answer instead of
// panicking in Pebble, so shutdown paths may close defensively.
func TestCloseTwice(t *testing.T) {
	s, err := Open(t.TempDir(), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
