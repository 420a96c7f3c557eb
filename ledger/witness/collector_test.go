package witness

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/mod/sumdb/note"

	"github.com/pedigree-project/pedigree/ledger"
)

func newCollector(t *testing.T, l *testLog, reg prometheus.Registerer, quorum int, ws ...*testWitness) *Collector {
	t.Helper()
	var eps []Endpoint
	for _, w := range ws {
		eps = append(eps, Endpoint{URL: w.url, VerifierKey: w.vkey})
	}
	policy, err := PolicyOf(eps, quorum)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCollector(CollectorConfig{Log: l, Policy: policy, Logger: discard(), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func trusted(t *testing.T, l *testLog, ws ...*testWitness) []note.Verifier {
	t.Helper()
	vs := []note.Verifier{l.verifier}
	for _, w := range ws {
		v, err := NewTrustedVerifier(w.vkey)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func TestCollectorServesCheckpointsCosignedByItsWitnesses(t *testing.T) {
	ctx := context.Background()
	l := newLog(t, t.TempDir())
	w1 := startWitness(t, t.TempDir(), logOf(l))
	w2 := startWitness(t, t.TempDir(), logOf(l))
	keys := trusted(t, l, w1, w2)
	reg := prometheus.NewRegistry()
	c := newCollector(t, l, reg, 2, w1, w2)

	cp := l.grow(t, "e", 5)
	out, met, _, err := c.cosign(ctx, cp, true)
	if err != nil || !met {
		t.Fatalf("cosign: met=%v %v", met, err)
	}
	if _, sigs, err := VerifyCheckpoint(out.Note, keys, 3); err != nil || len(sigs) != 3 {
		t.Fatalf("served note: %v %v\n%s", sigs, err, out.Note)
	}
	if s, err := c.Served(); err != nil || string(s.Note) != string(out.Note) {
		t.Fatalf("Served: %v %s", err, s.Note)
	}

	// A restarted node knows nothing of what its witnesses hold: it learns
	// it from their 409s.
	c = newCollector(t, l, nil, 2, w1, w2)
	cp = l.grow(t, "e", 4)
	if out, met, _, err = c.cosign(ctx, cp, true); err != nil || !met {
		t.Fatalf("cosign after restart: met=%v %v", met, err)
	}
	served := out

	// One witness down: the checkpoint gets one cosignature, short of the
	// quorum of 2, and the previous one is still served.
	w2.stop()
	c2 := newCollector(t, l, prometheus.NewRegistry(), 2, w1, w2)
	c2.known[0], c2.known[1] = served.Size, served.Size
	c2.serving = &served
	cp = l.grow(t, "e", 1)
	out, met, _, err = c2.cosign(ctx, cp, true)
	if err != nil || met {
		t.Fatalf("cosign with a witness down: met=%v %v", met, err)
	}
	if s, _ := c2.Served(); s.Size != served.Size {
		t.Fatalf("served size %d, want the last cosigned %d", s.Size, served.Size)
	}
	_, _, err = VerifyCheckpoint(out.Note, keys, 3)
	var few *TooFewSignaturesError
	if !errors.As(err, &few) || few.Have != 2 {
		t.Fatalf("checkpoint with one witness down: %v", err)
	}
	// An entry beyond the served checkpoint gets the newer one, with the
	// cosignatures there are.
	cov, err := c2.Covering(ctx, cp.Size-1)
	if err != nil || cov.Size != cp.Size {
		t.Fatalf("Covering: size %d, %v", cov.Size, err)
	}
	if _, sigs, err := VerifyCheckpoint(cov.Note, keys, 2); err != nil || len(sigs) != 2 {
		t.Fatalf("Covering note: %v %v", sigs, err)
	}
	if got := testutil.ToFloat64(c.requests.WithLabelValues(w1.url, "cosigned")); got != 1 {
		t.Errorf("cosigned requests to w1 after the restart: %v, want 1", got)
	}
	if got := testutil.ToFloat64(c2.requests.WithLabelValues(w2.url, "error")); got != 1 {
		t.Errorf("failed requests to w2: %v, want 1", got)
	}
	if got := testutil.ToFloat64(c2.rounds.WithLabelValues("short")); got != 1 {
		t.Errorf("short rounds: %v, want 1", got)
	}
}

func TestCollectorWithoutWitnessesServesTheLogsCheckpoint(t *testing.T) {
	l := newLog(t, t.TempDir())
	c, err := NewCollector(CollectorConfig{Log: l, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	cp := l.grow(t, "e", 3)
	s, err := c.Served()
	if err != nil || string(s.Note) != string(cp.Note) {
		t.Fatalf("Served: %v", err)
	}
	l.grow(t, "e", 1)
	if _, err := l.Append(context.Background(), [][]byte{[]byte("x")}); err != nil {
		t.Fatal(err)
	}
	cov, err := c.Covering(context.Background(), 4)
	if err != nil || cov.Size != 5 {
		t.Fatalf("Covering(4): size %d, %v", cov.Size, err)
	}
	if _, err := PolicyOf([]Endpoint{{URL: "http://127.0.0.1:1", VerifierKey: "k"}}, 2); err == nil {
		t.Fatal("a quorum above the number of witnesses was accepted")
	}
}

func TestCollectorRunServesEachOfferedCheckpoint(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l := newLog(t, t.TempDir())
	first := l.grow(t, "e", 2)
	w1 := startWitness(t, t.TempDir(), logOf(l))
	w2 := startWitness(t, t.TempDir(), logOf(l))
	policy, err := PolicyOf([]Endpoint{{URL: w1.url, VerifierKey: w1.vkey}, {URL: w2.url, VerifierKey: w2.vkey}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan ledger.Checkpoint, 8)
	c, err := NewCollector(CollectorConfig{Log: l, Policy: policy, Logger: discard(), OnServe: func(cp ledger.Checkpoint) { served <- cp }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	next := func(want uint64) {
		t.Helper()
		for {
			var cp ledger.Checkpoint
			select {
			case cp = <-served:
			case <-ctx.Done():
				t.Fatalf("checkpoint %d was never served", want)
			}
			if cp.Size > want {
				t.Fatalf("served size %d, want %d", cp.Size, want)
			}
			if cp.Size == want {
				if _, _, err := VerifyCheckpoint(cp.Note, trusted(t, l, w1, w2), 3); err != nil {
					t.Fatalf("served checkpoint %d: %v", want, err)
				}
				return
			}
		}
	}
	next(first.Size) // Run starts with the log's latest checkpoint
	for _, n := range []int{3, 1, 7} {
		c.Offer(l.grow(t, "e", n))
		next(l.Size())
	}
	cancel()
	<-done
}
