package main

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNodeKeyAndItsArguments: `pedigree node key` creates a node key once
// and prints it in hex; `node add` takes exactly one of --key and
// --key-hex, each checked before anything is sent.
func TestNodeKeyAndItsArguments(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	first := strings.TrimSpace(mustRun(ctx, t, "node", "key", "--data", dir))
	again := strings.TrimSpace(mustRun(ctx, t, "node", "key", "--data", dir))
	if raw, err := hex.DecodeString(first); err != nil || len(raw) != 32 || again != first {
		t.Fatalf("node key: %q then %q", first, again)
	}
	pub := filepath.Join(dir, "keys", "node.pub")
	if _, err := os.Stat(pub); err != nil {
		t.Fatal(err)
	}
	if k, err := nodeKeyArg(pub, ""); err != nil || hex.EncodeToString(k) != first {
		t.Fatalf("--key %s: %x %v", pub, k, err)
	}
	if k, err := nodeKeyArg("", first); err != nil || hex.EncodeToString(k) != first {
		t.Fatalf("--key-hex: %x %v", k, err)
	}
	for _, c := range []struct{ file, hex, want string }{
		{"", "", "exactly one"},
		{pub, first, "exactly one"},
		{"", "zz", "64 hex digits"},
		{"", first[:62], "64 hex digits"},
		{filepath.Join(dir, "keys", "node.key"), "", "public key"},
	} {
		if _, err := nodeKeyArg(c.file, c.hex); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("nodeKeyArg(%q, %q): %v, want an error naming %q", c.file, c.hex, err, c.want)
		}
	}
	if _, errOut, ok := runPedigree(ctx, t, "", nil, "node", "key"); ok || !strings.Contains(errOut, "--data") {
		t.Errorf("node key without --data: %s", errOut)
	}
}
