package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/tlog"
)

// memTree is an independent in-memory RFC 6962 tree built with tlog's
// reference functions, for comparing roots.
type memTree struct {
	n      int64
	hashes []tlog.Hash
}

func (m *memTree) add(t testing.TB, data []byte) {
	t.Helper()
	hs, err := tlog.StoredHashes(m.n, data, m)
	if err != nil {
		t.Fatal(err)
	}
	m.hashes = append(m.hashes, hs...)
	m.n++
}

func (m *memTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *memTree) root(t testing.TB, n int64) tlog.Hash {
	t.Helper()
	h, err := tlog.TreeHash(n, m)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestAppendAndRead(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	l := e.open(0)
	if l.TileHeight() != DefaultTileHeight || l.Origin() != testOrigin {
		t.Fatalf("height %d origin %q", l.TileHeight(), l.Origin())
	}
	if first := mustAppend(t, l, testEntries(0, 5)); first != 0 {
		t.Fatalf("first = %d", first)
	}
	if first := mustAppend(t, l, testEntries(5, 12)); first != 5 {
		t.Fatalf("first = %d", first)
	}
	if first := mustAppend(t, l, [][]byte{{}, {0, 1, 2}}); first != 12 {
		t.Fatalf("first = %d", first)
	}
	want := append(testEntries(0, 12), []byte{}, []byte{0, 1, 2})
	if l.Size() != uint64(len(want)) {
		t.Fatalf("size %d", l.Size())
	}
	var chain tlog.Hash
	for i, data := range want {
		got, err := l.Entry(ctx, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		leaf := tlog.RecordHash(data)
		chain = sha256.Sum256(append(chain[:], leaf[:]...))
		if !bytes.Equal(got.Data, data) || got.Chain != chain || got.Index != uint64(i) || got.LeafHash() != leaf {
			t.Fatalf("entry %d = %+v, want data %q chain %v", i, got, data, chain)
		}
	}
	var seen []uint64
	err := l.Entries(ctx, 3, 9, func(en Entry) error {
		if !bytes.Equal(en.Data, want[en.Index]) {
			t.Errorf("entry %d data %q", en.Index, en.Data)
		}
		seen = append(seen, en.Index)
		return nil
	})
	if err != nil || len(seen) != 6 || seen[0] != 3 || seen[5] != 8 {
		t.Fatalf("Entries: %v %v", seen, err)
	}
	stop := errors.New("stop")
	if err := l.Entries(ctx, 0, 14, func(Entry) error { return stop }); err != stop {
		t.Fatalf("Entries stop: %v", err)
	}
	if _, err := l.Entry(ctx, 14); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Entry(14): %v", err)
	}
	if err := l.Entries(ctx, 0, 15, func(Entry) error { return nil }); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Entries(0,15): %v", err)
	}
	if err := l.Entries(ctx, 5, 4, func(Entry) error { return nil }); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Entries(5,4): %v", err)
	}
	if _, err := l.Root(ctx, 15); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Root(15): %v", err)
	}
	empty, err := l.Root(ctx, 0)
	if err != nil || empty != sha256.Sum256(nil) {
		t.Fatalf("Root(0) = %v, %v", empty, err)
	}
	e.mustVerify()
}

// TestRootAtEverySize checks Root against tlog.TreeHash over an
// independently built in-memory tree, for several tile heights and
// random batch sizes, and that Verify agrees.
func TestRootAtEverySize(t *testing.T) {
	ctx := context.Background()
	for _, h := range []int{1, 2, 3, 6} {
		e := newEnv(t)
		l := e.open(h)
		rng := rand.New(rand.NewPCG(uint64(h), 1))
		var mem memTree
		for l.Size() < 300 {
			n := int(l.Size())
			k := rng.IntN(40)
			entries := testEntries(n, n+k)
			mustAppend(t, l, entries)
			for _, d := range entries {
				mem.add(t, d)
			}
			if _, root := l.Head(); root != mem.root(t, int64(l.Size())) {
				t.Fatalf("h=%d: head root at %d differs", h, l.Size())
			}
		}
		for n := uint64(0); n <= l.Size(); n++ {
			got, err := l.Root(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if want := mem.root(t, int64(n)); got != want {
				t.Fatalf("h=%d: Root(%d) = %v, want %v", h, n, got, want)
			}
		}
		if r := e.mustVerify(); r.Root != mem.root(t, int64(l.Size())) || r.Entries != l.Size() {
			t.Fatalf("h=%d: Verify report %+v", h, r)
		}
	}
}

// TestBatchingDoesNotMatter: the stored bytes depend only on the entries,
// not on how they were split into batches.
func TestBatchingDoesNotMatter(t *testing.T) {
	all := testEntries(0, 333)
	for _, h := range []int{2, 6} {
		one := newEnv(t)
		mustAppend(t, one.open(h), all)
		want := dump(t, one.db)
		for _, split := range []int{1, 64, 200, 332} {
			two := newEnv(t)
			l := two.open(h)
			mustAppend(t, l, all[:split])
			mustAppend(t, l, all[split:])
			got := dump(t, two.db)
			if len(got) != len(want) {
				t.Fatalf("h=%d split %d: %d keys, want %d", h, split, len(got), len(want))
			}
			for k, v := range want {
				if got[k] != v {
					t.Fatalf("h=%d split %d: key %x differs", h, split, k)
				}
			}
		}
	}
}

func TestCrashAfterBatchCommitBeforeCommit(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	l := e.open(2)
	mustAppend(t, l, testEntries(0, 10))
	b := e.db.NewBatch()
	p, err := l.Stage(b, testEntries(10, 25))
	if err != nil {
		t.Fatal(err)
	}
	if p.First() != 10 || p.Size() != 25 {
		t.Fatalf("pending first %d size %d", p.First(), p.Size())
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	// Crash: no Commit(p). Restart.
	e.reopenDB()
	l = e.open(2)
	if l.Size() != 25 {
		t.Fatalf("size after restart = %d, want 25", l.Size())
	}
	if _, root := l.Head(); root != p.Root() {
		t.Fatal("root after restart differs from the staged root")
	}
	if r := e.mustVerify(); r.Entries != 25 {
		t.Fatalf("verified %d entries", r.Entries)
	}
	if first := mustAppend(t, l, testEntries(25, 30)); first != 25 {
		t.Fatalf("first after restart = %d", first)
	}
	for i := uint64(0); i < 30; i++ {
		en, err := l.Entry(ctx, i)
		if err != nil || !bytes.Equal(en.Data, testEntry(int(i))) {
			t.Fatalf("entry %d: %q %v", i, en.Data, err)
		}
	}
	e.mustVerify()
}

func TestCrashBeforeBatchCommit(t *testing.T) {
	e := newEnv(t)
	l := e.open(2)
	mustAppend(t, l, testEntries(0, 10))
	b := e.db.NewBatch()
	if _, err := l.Stage(b, testEntries(100, 125)); err != nil {
		t.Fatal(err)
	}
	b.Close() // crash before commit
	e.reopenDB()
	l = e.open(2)
	if l.Size() != 10 {
		t.Fatalf("size after restart = %d, want 10", l.Size())
	}
	if first := mustAppend(t, l, testEntries(10, 20)); first != 10 {
		t.Fatalf("first = %d", first)
	}
	e.mustVerify()
}

// TestMissedCommitInProcess: a batch committed without Commit is picked
// up by the next Stage, not overwritten.
func TestMissedCommitInProcess(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	l := e.open(2)
	b := e.db.NewBatch()
	if _, err := l.Stage(b, testEntries(0, 7)); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if first := mustAppend(t, l, testEntries(7, 9)); first != 7 {
		t.Fatalf("first = %d, want 7", first)
	}
	if en, err := l.Entry(ctx, 3); err != nil || !bytes.Equal(en.Data, testEntry(3)) {
		t.Fatalf("entry 3: %q %v", en.Data, err)
	}
	e.mustVerify()
}

func TestPendingContract(t *testing.T) {
	e := newEnv(t)
	l := e.open(2)
	// Commit without committing the batch.
	b := e.db.NewBatch()
	p, err := l.Stage(b, testEntries(0, 3))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(p); !errors.Is(err, ErrStalePending) {
		t.Fatalf("Commit of uncommitted batch: %v", err)
	}
	b.Close()
	// A dropped pending, then a newer one: only the newer commits.
	b1 := e.db.NewBatch()
	p1, _ := l.Stage(b1, testEntries(0, 3))
	b1.Close()
	b2 := e.db.NewBatch()
	p2, err := l.Stage(b2, testEntries(0, 4))
	if err != nil {
		t.Fatal(err)
	}
	if err := b2.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(p1); !errors.Is(err, ErrStalePending) {
		t.Fatalf("Commit(p1): %v", err)
	}
	if err := l.Commit(p2); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(p2); !errors.Is(err, ErrStalePending) {
		t.Fatalf("second Commit(p2): %v", err)
	}
	// Abort.
	b3 := e.db.NewBatch()
	p3, _ := l.Stage(b3, testEntries(4, 6))
	l.Abort(p3)
	b3.Close()
	if err := l.Commit(p3); !errors.Is(err, ErrStalePending) {
		t.Fatalf("Commit after Abort: %v", err)
	}
	if l.Size() != 4 {
		t.Fatalf("size %d", l.Size())
	}
	// Empty stage.
	if first := mustAppend(t, l, nil); first != 4 || l.Size() != 4 {
		t.Fatalf("empty append: first %d size %d", first, l.Size())
	}
	e.mustVerify()
}

// TestSharedBatch: the caller's own keys and the ledger's commit together
// or not at all, and the ledger writes only its reserved prefixes.
func TestSharedBatch(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	l := e.open(2)
	stateKey := []byte{0x10, 'p', 'a', 'c', 'k'}

	b := e.db.NewBatch()
	if err := b.Set(stateKey, []byte("dispensed"), nil); err != nil {
		t.Fatal(err)
	}
	p, err := l.Stage(b, testEntries(0, 20))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(p); err != nil {
		t.Fatal(err)
	}
	if got := e.get(stateKey); string(got) != "dispensed" || l.Size() != 20 {
		t.Fatalf("state %q size %d", got, l.Size())
	}

	// A batch that is never committed leaves neither.
	b = e.db.NewBatch()
	_ = b.Set(stateKey, []byte("destroyed"), nil)
	if _, err := l.Stage(b, testEntries(20, 30)); err != nil {
		t.Fatal(err)
	}
	b.Close()
	e.reopenDB()
	l = e.open(2)
	if got := e.get(stateKey); string(got) != "dispensed" || l.Size() != 20 {
		t.Fatalf("after uncommitted batch: state %q size %d", got, l.Size())
	}

	it, err := e.db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if !bytes.Equal(k, stateKey) && (k[0] < PrefixFirst || k[0] > PrefixLast) {
			t.Errorf("ledger wrote key %x outside its prefixes", k)
		}
	}
	if _, err := l.Entry(ctx, 19); err != nil {
		t.Fatal(err)
	}
	e.mustVerify()
}

func TestOpenChecks(t *testing.T) {
	e := newEnv(t)
	l := e.open(3)
	mustAppend(t, l, testEntries(0, 5))
	if _, err := Open(e.db, Options{TileHeight: 4}); err == nil {
		t.Fatal("Open with another tile height succeeded")
	}
	if _, err := Open(e.db, Options{Origin: "other"}); err == nil {
		t.Fatal("Open with another origin succeeded")
	}
	if _, err := Open(e.db, Options{Signer: e.signer}); err == nil {
		t.Fatal("Open with Signer but no VerifierKey succeeded")
	}
	other := newEnv(t)
	if _, err := Open(e.db, Options{Signer: e.signer, VerifierKey: other.vkey}); err == nil {
		t.Fatal("Open with a mismatched verifier key succeeded")
	}
	if _, err := Open(e.db, Options{TileHeight: MaxTileHeight + 1}); err == nil {
		t.Fatal("Open with tile height too large succeeded")
	}
	ro, err := Open(e.db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ro.Size() != 5 || ro.TileHeight() != 3 || ro.Origin() != testOrigin {
		t.Fatalf("read-only open: size %d h %d origin %q", ro.Size(), ro.TileHeight(), ro.Origin())
	}
	if _, err := ro.Checkpoint(context.Background()); !errors.Is(err, ErrNoSigner) {
		t.Fatalf("Checkpoint without signer: %v", err)
	}
	fresh := newEnv(t)
	if _, err := Open(fresh.db, Options{}); err == nil {
		t.Fatal("creating a log without origin succeeded")
	}
	fresh.edit(func(b *pebble.Batch) { _ = b.Set(rawEntryKey(0), make([]byte, 40), nil) })
	if _, err := Open(fresh.db, fresh.opts(0)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open over foreign ledger keys: %v", err)
	}
}

// TestConcurrentReaders runs readers against a writer (run with -race).
func TestConcurrentReaders(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	l := e.open(2)
	mustAppend(t, l, testEntries(0, 10))
	var wg sync.WaitGroup
	done := make(chan struct{})
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				size, root := l.Head()
				i := size / 2
				p, err := l.InclusionProof(ctx, i, size)
				if err != nil {
					t.Error(err)
					return
				}
				if err := tlog.CheckRecord(p, int64(size), root, int64(i), tlog.RecordHash(testEntry(int(i)))); err != nil {
					t.Errorf("size %d index %d: %v", size, i, err)
					return
				}
				if _, err := l.Checkpoint(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := 10; i < 400; i += 13 {
		mustAppend(t, l, testEntries(i, i+13))
	}
	close(done)
	wg.Wait()
	e.mustVerify()
}
