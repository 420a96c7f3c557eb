package ledger

import (
	"bufio"
	"context"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// goldenVector is one block of testdata/entries.txt.
type goldenVector struct {
	name               string
	entry, leaf, chain []byte
}

// readGolden parses testdata/entries.txt: blocks of "key: value" lines
// separated by blank lines, # comments.
func readGolden(t *testing.T) []goldenVector {
	t.Helper()
	f, err := os.Open("testdata/entries.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []goldenVector
	var cur goldenVector
	hexOf := func(v string) []byte {
		b, err := hex.DecodeString(v)
		if err != nil {
			t.Fatalf("%s: %v", cur.name, err)
		}
		return b
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if line == "" {
			if cur.name != "" {
				out = append(out, cur)
			}
			cur = goldenVector{}
			continue
		}
		k, v, _ := strings.Cut(line, ": ")
		switch k {
		case "name":
			cur.name = v
		case "entry":
			cur.entry = hexOf(v)
		case "leaf":
			cur.leaf = hexOf(v)
		case "chain":
			cur.chain = hexOf(v)
		}
	}
	if cur.name != "" {
		out = append(out, cur)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGoldenHashes appends the golden entries to a ledger on Pebble and
// checks that it stores them as given, with the golden leaf and chain
// hashes, and that Verify accepts the result. The vectors must never
// change: a change is a ledger format change.
func TestGoldenHashes(t *testing.T) {
	vs := readGolden(t)
	if len(vs) != 8 {
		t.Fatalf("%d golden entries, want 8", len(vs))
	}
	e := newEnv(t)
	l := e.open(2)
	entries := make([][]byte, len(vs))
	for i, v := range vs {
		entries[i] = v.entry
	}
	ctx := context.Background()
	if _, err := l.Append(ctx, entries); err != nil {
		t.Fatal(err)
	}
	err := l.Entries(ctx, 0, uint64(len(vs)), func(got Entry) error {
		v := vs[got.Index]
		leaf := got.LeafHash()
		if string(got.Data) != string(v.entry) {
			t.Errorf("%s: stored bytes differ", v.name)
		}
		if hex.EncodeToString(leaf[:]) != hex.EncodeToString(v.leaf) || leaf != tlog.RecordHash(v.entry) {
			t.Errorf("%s: leaf %x, want %x", v.name, leaf[:], v.leaf)
		}
		if hex.EncodeToString(got.Chain[:]) != hex.EncodeToString(v.chain) {
			t.Errorf("%s: chain %x, want %x", v.name, got.Chain[:], v.chain)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.mustVerify()
}
