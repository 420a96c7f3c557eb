package ledger

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/note"
)

const testOrigin = "test.example/ledger"

// testEnv is a Pebble DB on a temporary directory with a signing key.
type testEnv struct {
	t        testing.TB
	dir      string
	db       *pebble.DB
	signer   note.Signer
	verifier note.Verifier
	vkey     string
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	keyDir := t.TempDir()
	signer, verifier, err := LoadOrCreateKey(keyDir, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := ReadVerifierKey(keyDir)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, dir: t.TempDir(), signer: signer, verifier: verifier, vkey: vkey}
	e.reopenDB()
	t.Cleanup(func() {
		if e.db != nil {
			e.db.Close()
		}
	})
	return e
}

func quietPebble() *pebble.Options {
	return &pebble.Options{Logger: quietLogger{}}
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// reopenDB closes the DB, if open, and opens it again: what a restart
// (or a crash, since every commit was synced) looks like to the ledger.
func (e *testEnv) reopenDB() {
	e.t.Helper()
	if e.db != nil {
		if err := e.db.Close(); err != nil {
			e.t.Fatal(err)
		}
	}
	db, err := pebble.Open(e.dir, quietPebble())
	if err != nil {
		e.t.Fatal(err)
	}
	e.db = db
}

func (e *testEnv) opts(h int) Options {
	return Options{Origin: testOrigin, Signer: e.signer, VerifierKey: e.vkey, TileHeight: h}
}

func (e *testEnv) open(h int) *Log {
	e.t.Helper()
	l, err := Open(e.db, e.opts(h))
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

func (e *testEnv) verify() (Report, error) {
	return Verify(context.Background(), e.db, e.verifier, nil)
}

func (e *testEnv) mustVerify() Report {
	e.t.Helper()
	r, err := e.verify()
	if err != nil {
		e.t.Fatalf("Verify: %v", err)
	}
	return r
}

// testEntry is the deterministic content of entry i in tests.
func testEntry(i int) []byte { return fmt.Appendf(nil, "entry %d %x", i, i*i) }

func testEntries(from, to int) [][]byte {
	out := make([][]byte, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, testEntry(i))
	}
	return out
}

func mustAppend(t testing.TB, l *Log, entries [][]byte) uint64 {
	t.Helper()
	first, err := l.Append(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	return first
}

// Raw keys, spelled out from the layout documented in keys.go rather than
// built with its helpers, so that tests check the documentation.
func rawEntryKey(i uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{0x01}, i)
}

func rawTileKey(level byte, n uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{0x02, level}, n)
}

func rawCheckpointKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{0x03}, seq)
}

var rawSizeKey = []byte{0x04, 0x04}

// get returns a copy of a raw value.
func (e *testEnv) get(key []byte) []byte {
	e.t.Helper()
	v, c, err := e.db.Get(key)
	if err != nil {
		e.t.Fatalf("get %x: %v", key, err)
	}
	defer c.Close()
	return append([]byte(nil), v...)
}

// edit applies raw changes to the DB, as an attacker with disk access would.
func (e *testEnv) edit(fn func(b *pebble.Batch)) {
	e.t.Helper()
	b := e.db.NewBatch()
	fn(b)
	if err := b.Commit(pebble.Sync); err != nil {
		e.t.Fatal(err)
	}
}

// dump returns every key and value in the ledger's prefixes.
func dump(t testing.TB, db *pebble.DB) map[string]string {
	t.Helper()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{0x01}, UpperBound: []byte{0x10}})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	out := map[string]string{}
	for ok := it.First(); ok; ok = it.Next() {
		out[string(it.Key())] = string(it.Value())
	}
	return out
}

var _ io.Closer = (*pebble.DB)(nil)
