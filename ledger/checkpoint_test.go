package ledger

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	s1, v1, err := LoadOrCreateKey(dir, "log.example/a")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, fi.Mode())
	}
	vkey, err := ReadVerifierKey(dir)
	if err != nil || !strings.HasPrefix(vkey, "log.example/a+") {
		t.Fatalf("verifier key %q, %v", vkey, err)
	}
	s2, v2, err := LoadOrCreateKey(dir, "log.example/a")
	if err != nil {
		t.Fatal(err)
	}
	if s1.KeyHash() != s2.KeyHash() || v1.KeyHash() != v2.KeyHash() || s1.KeyHash() != v1.KeyHash() {
		t.Fatal("second load returned another key")
	}
	msg, err := note.Sign(&note.Note{Text: "hello\n"}, s2)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, note.VerifierList(pub)); err != nil {
		t.Fatalf("signature does not verify with the published key: %v", err)
	}
	if _, _, err := LoadOrCreateKey(dir, "log.example/b"); err == nil {
		t.Fatal("loaded a key under another name")
	}
	if err := os.WriteFile(filepath.Join(dir, VerifierKeyFile), []byte("log.example/a+00000000+AAAA\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKey(dir, "log.example/a"); err == nil {
		t.Fatal("accepted a mismatched verifier key file")
	}
	if err := os.Chmod(filepath.Join(dir, KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKey(dir, "log.example/a"); err == nil || !strings.Contains(err.Error(), "mode") {
		t.Fatalf("accepted a world-readable key file: %v", err)
	}
}

func TestCheckpoint(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	l := e.open(2)
	if _, err := l.Latest(); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("Latest of new log: %v", err)
	}
	mustAppend(t, l, testEntries(0, 10))
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, root := l.Head()
	body := testOrigin + "\n10\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n\n"
	if !strings.HasPrefix(string(cp.Note), body) || !strings.HasPrefix(string(cp.Note[len(body):]), "— "+testOrigin+" ") {
		t.Fatalf("note:\n%s", cp.Note)
	}
	if cp.Seq != 0 || cp.Size != 10 || cp.Root != root || cp.Origin != testOrigin || cp.VerifierKey != e.vkey {
		t.Fatalf("checkpoint %+v", cp)
	}
	v, err := note.NewVerifier(cp.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseCheckpoint(cp.Note, v)
	if err != nil || parsed.Size != 10 || parsed.Root != root || parsed.Origin != testOrigin {
		t.Fatalf("ParseCheckpoint: %+v, %v", parsed, err)
	}
	if _, err := ParseCheckpoint(cp.Note, newEnv(t).verifier); err == nil {
		t.Fatal("ParseCheckpoint accepted another key")
	}
	// An inclusion proof checks against the checkpoint.
	p, err := l.InclusionProof(ctx, 3, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckRecord(p, int64(cp.Size), cp.Root, 3, tlog.RecordHash(testEntry(3))); err != nil {
		t.Fatal(err)
	}

	again, err := l.Checkpoint(ctx)
	if err != nil || again.Seq != 0 {
		t.Fatalf("repeated checkpoint at the same size: seq %d, %v", again.Seq, err)
	}
	mustAppend(t, l, testEntries(10, 15))
	cp1, err := l.Checkpoint(ctx)
	if err != nil || cp1.Seq != 1 || cp1.Size != 15 {
		t.Fatalf("second checkpoint %+v, %v", cp1, err)
	}

	e.reopenDB()
	l = e.open(0)
	latest, err := l.Latest()
	if err != nil || latest.Seq != 1 || latest.Size != 15 || string(latest.Note) != string(cp1.Note) {
		t.Fatalf("Latest after reopen: %+v, %v", latest, err)
	}
	first, err := l.ReadCheckpoint(ctx, 0)
	if err != nil || first.Size != 10 || string(first.Note) != string(cp.Note) {
		t.Fatalf("ReadCheckpoint(0): %+v, %v", first, err)
	}
	if _, err := l.ReadCheckpoint(ctx, 2); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("ReadCheckpoint(2): %v", err)
	}
	var sizes []uint64
	if err := l.Checkpoints(ctx, 0, func(c Checkpoint) error { sizes = append(sizes, c.Size); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 2 || sizes[0] != 10 || sizes[1] != 15 {
		t.Fatalf("Checkpoints: %v", sizes)
	}
	if r := e.mustVerify(); r.Checkpoints != 2 {
		t.Fatalf("verified %d checkpoints", r.Checkpoints)
	}
}

// fakeClock is a Clock whose time moves only when the test says so.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []fakeTimer
	waiting chan time.Duration // receives d for each After(d)
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), waiting: make(chan time.Duration, 16)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	ch := make(chan time.Time, 1)
	c.timers = append(c.timers, fakeTimer{c.now.Add(d), ch})
	c.mu.Unlock()
	c.waiting <- d
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, tm := range c.timers {
		if tm.at.After(c.now) {
			kept = append(kept, tm)
		} else {
			tm.ch <- c.now
		}
	}
	c.timers = kept
}

// within fails the test if ch yields nothing before a generous deadline.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestRunCheckpointer(t *testing.T) {
	e := newEnv(t)
	clock := newFakeClock()
	opts := e.opts(2)
	opts.Clock = clock
	l, err := Open(e.db, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	published := make(chan Checkpoint, 16)
	done := make(chan error, 1)
	go func() { done <- RunCheckpointer(ctx, l, time.Second, func(cp Checkpoint) { published <- cp }) }()

	// First entries: a checkpoint at once.
	mustAppend(t, l, testEntries(0, 5))
	if cp := within(t, published, "first checkpoint"); cp.Size != 5 || cp.Seq != 0 {
		t.Fatalf("first checkpoint %+v", cp)
	}
	// More entries within the interval: it waits for the rest of it.
	mustAppend(t, l, testEntries(5, 8))
	if d := within(t, clock.waiting, "timer"); d != time.Second {
		t.Fatalf("waits %v, want 1s", d)
	}
	mustAppend(t, l, testEntries(8, 10))
	clock.Advance(time.Second)
	if cp := within(t, published, "second checkpoint"); cp.Size != 10 || cp.Seq != 1 {
		t.Fatalf("second checkpoint %+v", cp)
	}
	// Idle: time passes, nothing is issued. Then an entry after a long
	// pause is checkpointed at once.
	clock.Advance(time.Minute)
	mustAppend(t, l, testEntries(10, 11))
	if cp := within(t, published, "third checkpoint"); cp.Size != 11 || cp.Seq != 2 {
		t.Fatalf("third checkpoint %+v", cp)
	}
	cancel()
	if err := within(t, done, "checkpointer exit"); err != nil {
		t.Fatal(err)
	}
	if len(published) != 0 || len(clock.waiting) != 0 {
		t.Fatalf("%d extra checkpoints, %d extra timers", len(published), len(clock.waiting))
	}
	if err := RunCheckpointer(ctx, l, 0, nil); err == nil {
		t.Fatal("zero interval accepted")
	}
}
