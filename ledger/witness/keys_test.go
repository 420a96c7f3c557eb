package witness

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

func TestConfigurationIsChecked(t *testing.T) {
	l := newLog(t, t.TempDir())
	// A Pedigree node's key is named after its origin.
	if got, err := ParseLog(l.vkey); err != nil || got.Origin != testOrigin {
		t.Fatalf("ParseLog(vkey) = %+v, %v", got, err)
	}
	if got, err := ParseLog("other.example/log=" + l.vkey); err != nil || got.Origin != "other.example/log" {
		t.Fatalf("ParseLog(origin=vkey) = %+v, %v", got, err)
	}
	logs, err := ParseLogs([]byte("# logs\n\n" + l.vkey + "\nother=" + l.vkey + "\n" + testOrigin + "=" + l.vkey + "\n"))
	if err != nil || len(logs) != 2 || len(logs[0].Verifiers) != 2 {
		t.Fatalf("ParseLogs = %+v, %v", logs, err)
	}
	for _, bad := range []string{"", "=", "origin=", "origin=notakey", "notakey"} {
		if _, err := ParseLog(bad); err == nil {
			t.Errorf("ParseLog(%q) accepted", bad)
		}
	}
	if _, err := ParseLogs([]byte("ok=" + l.vkey + "\nbad\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("ParseLogs with a bad line: %v", err)
	}

	_, wkey, err := LoadOrCreateKey(t.TempDir(), "witness.test/w")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseEndpoint("http://127.0.0.1:7380=" + wkey); err != nil {
		t.Fatalf("ParseEndpoint: %v", err)
	}
	for _, bad := range []string{"", "http://127.0.0.1:7380", "=" + wkey, "ftp://x=" + wkey, "http://x?a=" + wkey, "http://x=garbage"} {
		if _, err := ParseEndpoint(bad); err == nil {
			t.Errorf("ParseEndpoint(%q) accepted", bad)
		}
	}
	for _, policy := range []string{"quorum g\n", "witness w1 " + wkey + " ftp://x\nquorum w1\n", "witness w1 " + wkey + " http://x\ngroup g 2 w1\nquorum g\n", "nonsense\n"} {
		if _, err := NewCollector(CollectorConfig{Log: l, Policy: []byte(policy), Logger: discard()}); err == nil {
			t.Errorf("policy %q accepted", policy)
		}
	}

	keyDir := t.TempDir()
	if _, _, err := LoadOrCreateKey(keyDir, ""); err == nil {
		t.Error("a witness key was created without a name")
	}
	_, vkey, err := LoadOrCreateKey(keyDir, "witness.test/a")
	if err != nil {
		t.Fatal(err)
	}
	if _, again, err := LoadOrCreateKey(keyDir, ""); err != nil || again != vkey {
		t.Errorf("reloading the key without its name: %s, %v", again, err)
	}
	if _, _, err := LoadOrCreateKey(keyDir, "witness.test/b"); err == nil {
		t.Error("the key was loaded under another name")
	}
	store, err := OpenStore(t.TempDir(), discard())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	signer, _, _ := LoadOrCreateKey(keyDir, "")
	if _, err := New(Config{Signer: signer, Store: store, Logger: discard(), Logs: []Log{logOf(l), logOf(l)}}); err == nil {
		t.Error("a log configured twice was accepted")
	}
}

func FuzzParseCosignatureKey(f *testing.F) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	_, vkey, err := NewEd25519Cosigner("node-a", priv)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(vkey)
	f.Add("node-a+00000000+BA==")
	f.Add("node-a+deadbeef+AQ" + strings.Repeat("A", 42) + "=")
	f.Add("+++")
	f.Fuzz(func(t *testing.T, s string) {
		name, pub, err := ParseCosignatureKey(s)
		if err != nil {
			return
		}
		// What parses is a key whose verifier key is s again.
		v, err := note.NewEd25519VerifierKey(name, pub)
		if err != nil {
			t.Fatalf("%q parsed to name %q and a key it cannot encode: %v", s, name, err)
		}
		again, err := fnote.VKeyToCosignatureV1(v)
		if err != nil || again != s {
			t.Fatalf("%q parsed to %q+%x, which encodes as %q (%v)", s, name, pub, again, err)
		}
	})
}
