package ingest

import (
	"fmt"
	"testing"

	"github.com/pedigree-project/pedigree/services/internal/state"
)

// TestIDFilter checks that the filter never calls an added key absent, that
// it answers "maybe" to everything until it is ready, that it grows past
// its first capacity, and that its false positives stay rare.
func TestIDFilter(t *testing.T) {
	f := newIDFilter()
	h := func(i int) state.EventHash { return state.HashEventID(fmt.Sprintf("id-%d", i)) }
	if k := h(-1); f.absent(&k) {
		t.Fatal("a filter that is not ready called a key absent")
	}
	const n = filterFirstKeys + filterFirstKeys/2
	for i := range n {
		k := h(i)
		f.add(&k)
	}
	f.ready.Store(true)
	if segs := len(*f.segs.Load()); segs != 2 {
		t.Errorf("%d segments after %d keys, want 2", segs, n)
	}
	for i := range n {
		if k := h(i); f.absent(&k) {
			t.Fatalf("key %d was added but is called absent", i)
		}
	}
	fp := 0
	const probes = 100000
	for i := range probes {
		if k := h(n + i); !f.absent(&k) {
			fp++
		}
	}
	if rate := float64(fp) / probes; rate > 0.03 {
		t.Errorf("false positive rate %.3f, want ≤ 0.03", rate)
	} else {
		t.Logf("false positive rate %.4f with %d keys in %d segments", rate, n, len(*f.segs.Load()))
	}
}
