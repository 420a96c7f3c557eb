package node

import (
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNodeWritesItsPublicKey checks DATA/keys/node.pub: the node key's
// public half in the base64 form scanners read, rewritten if altered.
func TestNodeWritesItsPublicKey(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, testConfig(dir))
	path := filepath.Join(dir, KeysDir, NodePublicKeyFile)
	read := func() ed25519.PublicKey {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(pub) != ed25519.PublicKeySize {
			t.Fatalf("%s holds %q: %v", path, b, err)
		}
		return pub
	}
	if got := read(); !got.Equal(n.NodeKey()) {
		t.Fatalf("node.pub holds %x, the node key is %x", got, n.NodeKey())
	}
	want := n.NodeKey()
	shutdown(t, n)
	if err := os.WriteFile(path, []byte("tampered\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n = startNode(t, testConfig(dir))
	defer shutdown(t, n)
	if got := read(); !got.Equal(want) || !n.NodeKey().Equal(want) {
		t.Fatalf("after a restart node.pub holds %x, want the same node key %x", got, want)
	}
}
