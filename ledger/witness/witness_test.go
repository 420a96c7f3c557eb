package witness

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigree-project/pedigree/ledger"
)

// cosign submits cp with the proof from old and fails the test on error.
func (tw *testWitness) cosign(t *testing.T, l *testLog, old uint64, cp ledger.Checkpoint) []note.Signature {
	t.Helper()
	sigs, err := tw.add(l, old, cp)
	if err != nil {
		t.Fatalf("add-checkpoint of size %d from %d: %v", cp.Size, old, err)
	}
	return sigs
}

func (tw *testWitness) add(l *testLog, old uint64, cp ledger.Checkpoint) ([]note.Signature, error) {
	var proof tlog.TreeProof
	if old > 0 && old < cp.Size {
		var err error
		if proof, err = l.ConsistencyProof(context.Background(), old, cp.Size); err != nil {
			return nil, err
		}
	}
	return tw.client.AddCheckpoint(context.Background(), old, proof, cp.Note)
}

func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var se *StatusError
	if !errors.As(err, &se) || se.Status != status {
		t.Fatalf("got %v, want a %d answer", err, status)
	}
}

func wantConflict(t *testing.T, err error, size uint64) {
	t.Helper()
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Size != size {
		t.Fatalf("got %v, want a 409 naming size %d", err, size)
	}
}

func TestWitnessCosignsAGrowingLog(t *testing.T) {
	l := newLog(t, t.TempDir())
	tw := startWitness(t, t.TempDir(), logOf(l))
	wv, err := NewCosignatureVerifier(tw.vkey)
	if err != nil {
		t.Fatal(err)
	}
	var old uint64
	for step, n := range []int{1, 2, 5, 64, 3} {
		cp := l.grow(t, "e", n)
		sigs := tw.cosign(t, l, old, cp)
		if len(sigs) != 1 || sigs[0].Name != "witness.test/w" {
			t.Fatalf("step %d: cosignatures %v", step, sigs)
		}
		merged, err := appendSignatures(cp.Note, sigs)
		if err != nil {
			t.Fatal(err)
		}
		got, verified, err := VerifyCheckpoint(merged, []note.Verifier{l.verifier, wv}, 2)
		if err != nil || got.Size != cp.Size || len(verified) != 2 {
			t.Fatalf("step %d: the cosigned note does not carry both signatures: %v %v", step, verified, err)
		}
		old = cp.Size
	}
	// The same checkpoint again is cosigned again (a log that lost the
	// answer asks twice).
	latest, err := l.Latest()
	if err != nil {
		t.Fatal(err)
	}
	tw.cosign(t, l, old, latest)
	// A log that does not know what the witness holds learns it from a 409.
	_, err = tw.add(l, 0, latest)
	wantConflict(t, err, latest.Size)
	code, ctype, body := tw.post(t, Request{OldSize: 0, Checkpoint: latest.Note}.Marshal())
	if code != http.StatusConflict || ctype != SizeContentType || body != "75\n" {
		t.Fatalf("409 answer: %d %q %q", code, ctype, body)
	}
}

func TestWitnessRefusesAForkedLedger(t *testing.T) {
	keys := t.TempDir() // both ledgers sign with the same key: one log, two histories
	a, b := newLog(t, keys), newLog(t, keys)
	a.grow(t, "common", 4)
	b.grow(t, "common", 4)
	cpA := a.grow(t, "a", 3)
	cpB := b.grow(t, "b", 3)
	if cpA.Size != cpB.Size || cpA.Root == cpB.Root {
		t.Fatal("the two ledgers did not fork")
	}
	tw := startWitness(t, t.TempDir(), logOf(a))
	tw.cosign(t, a, 0, cpA)

	// Another tree of the same size.
	_, err := tw.add(b, cpA.Size, cpB)
	wantConflict(t, err, cpA.Size)
	// A larger tree that does not extend the cosigned one: B's proof
	// from 7 to 9 starts from B's tree of 7, not A's.
	cpB2 := b.grow(t, "b", 2)
	_, err = tw.add(b, cpA.Size, cpB2)
	wantStatus(t, err, http.StatusUnprocessableEntity)
	// A smaller tree than the cosigned one.
	cpB0, err := b.ReadCheckpoint(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tw.add(b, cpA.Size, cpB0)
	wantStatus(t, err, http.StatusBadRequest)
	// A's history still grows.
	cpA2 := a.grow(t, "a", 2)
	tw.cosign(t, a, cpA.Size, cpA2)
	_, err = tw.add(b, cpA2.Size, cpB2)
	wantConflict(t, err, cpA2.Size)
}

func TestWitnessRefusesWhatItDoesNotTrust(t *testing.T) {
	l := newLog(t, t.TempDir())
	other := newLog(t, t.TempDir()) // same origin, another key
	tw := startWitness(t, t.TempDir(), logOf(l))
	_, err := tw.add(other, 0, other.grow(t, "x", 2))
	wantStatus(t, err, http.StatusForbidden)

	stranger := strings.Replace(string(l.grow(t, "e", 1).Note), testOrigin, "stranger.example/log", 1)
	code, _, _ := tw.post(t, Request{Checkpoint: []byte(stranger)}.Marshal())
	if code != http.StatusNotFound {
		t.Fatalf("unknown origin: %d, want 404", code)
	}
	for name, body := range map[string]string{
		"no old line":     "\n\n" + string(l.grow(t, "e", 1).Note),
		"leading zero":    "old 01\n\n" + string(l.grow(t, "e", 1).Note),
		"proof from zero": "old 0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n" + string(l.grow(t, "e", 1).Note),
		"not a note":      "old 0\n\nhello\n",
		"no checkpoint":   "old 0\n\n",
	} {
		if code, _, msg := tw.post(t, []byte(body)); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, code, msg)
		}
	}
	resp, err := tw.srv.Client().Get(tw.srv.URL + "/add-checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET add-checkpoint: %d", resp.StatusCode)
	}
}

func TestWitnessKeepsItsStateAcrossRestart(t *testing.T) {
	l := newLog(t, t.TempDir())
	dir := t.TempDir()
	tw := startWitness(t, dir, logOf(l))
	cp := l.grow(t, "e", 9)
	tw.cosign(t, l, 0, cp)
	vkey := tw.vkey
	tw.stop()

	tw = startWitness(t, dir, logOf(l))
	if tw.vkey != vkey {
		t.Fatalf("the witness key changed across restart: %s, then %s", vkey, tw.vkey)
	}
	_, err := tw.add(l, 0, cp)
	wantConflict(t, err, 9)
	tw.cosign(t, l, 9, l.grow(t, "e", 3))
}
