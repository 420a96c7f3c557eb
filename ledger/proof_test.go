package ledger

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// The proofs are checked with an independent RFC 6962 implementation,
// github.com/transparency-dev/merkle.

func hashesToBytes(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

type proofFixture struct {
	t     testing.TB
	l     *Log
	roots []tlog.Hash // roots[n] = root of the first n entries
}

func newProofFixture(t testing.TB, h, size int) *proofFixture {
	e := newEnv(t)
	l := e.open(h)
	rng := rand.New(rand.NewPCG(uint64(h), uint64(size)))
	for int(l.Size()) < size {
		n := int(l.Size())
		mustAppend(t, l, testEntries(n, min(size, n+1+rng.IntN(50))))
	}
	f := &proofFixture{t: t, l: l}
	for n := 0; n <= size; n++ {
		r, err := l.Root(context.Background(), uint64(n))
		if err != nil {
			t.Fatal(err)
		}
		f.roots = append(f.roots, r)
	}
	return f
}

// checkInclusion verifies the proof of i in n independently, and that it
// fails for a wrong index, size, leaf, and any flipped bit.
func (f *proofFixture) checkInclusion(i, n uint64, flip int) {
	t := f.t
	t.Helper()
	p, err := f.l.InclusionProof(context.Background(), i, n)
	if err != nil {
		t.Fatalf("InclusionProof(%d, %d): %v", i, n, err)
	}
	h := rfc6962.DefaultHasher
	leaf := h.HashLeaf(testEntry(int(i)))
	pb := hashesToBytes(p)
	root := f.roots[n][:]
	if err := proof.VerifyInclusion(h, i, n, leaf, pb, root); err != nil {
		t.Fatalf("inclusion %d in %d does not verify: %v", i, n, err)
	}
	if n > 1 {
		if err := proof.VerifyInclusion(h, (i+1)%n, n, leaf, pb, root); err == nil {
			t.Fatalf("inclusion %d in %d verifies for index %d", i, n, (i+1)%n)
		}
	}
	// A wrong size, with the root of that size.
	for _, m := range []uint64{n - 1, n + 1} {
		if m > i && m < uint64(len(f.roots)) {
			if err := proof.VerifyInclusion(h, i, m, leaf, pb, f.roots[m][:]); err == nil {
				t.Fatalf("inclusion %d in %d verifies for size %d", i, n, m)
			}
		}
	}
	if err := proof.VerifyInclusion(h, i, n, h.HashLeaf(testEntry(int(i)+1)), pb, root); err == nil {
		t.Fatalf("inclusion %d in %d verifies for another leaf", i, n)
	}
	if len(pb) > 0 {
		bad := flipBit(pb, flip)
		if err := proof.VerifyInclusion(h, i, n, leaf, bad, root); err == nil {
			t.Fatalf("inclusion %d in %d verifies with bit %d flipped", i, n, flip)
		}
	}
}

func (f *proofFixture) checkConsistency(m, n uint64, flip int) {
	t := f.t
	t.Helper()
	p, err := f.l.ConsistencyProof(context.Background(), m, n)
	if err != nil {
		t.Fatalf("ConsistencyProof(%d, %d): %v", m, n, err)
	}
	h := rfc6962.DefaultHasher
	pb := hashesToBytes(p)
	if err := proof.VerifyConsistency(h, m, n, pb, f.roots[m][:], f.roots[n][:]); err != nil {
		t.Fatalf("consistency %d→%d does not verify: %v", m, n, err)
	}
	if err := tlog.CheckTree(p, int64(n), f.roots[n], int64(m), f.roots[m]); err != nil {
		t.Fatalf("consistency %d→%d fails tlog.CheckTree: %v", m, n, err)
	}
	if m < n {
		if err := proof.VerifyConsistency(h, m, n, pb, f.roots[m-1][:], f.roots[n][:]); err == nil && m > 1 {
			t.Fatalf("consistency %d→%d verifies with root of %d", m, n, m-1)
		}
		if len(pb) > 0 {
			if err := proof.VerifyConsistency(h, m, n, flipBit(pb, flip), f.roots[m][:], f.roots[n][:]); err == nil {
				t.Fatalf("consistency %d→%d verifies with bit %d flipped", m, n, flip)
			}
		}
	}
}

func flipBit(p [][]byte, bit int) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = append([]byte(nil), p[i]...)
	}
	bit %= len(p) * 256
	out[bit/256][bit%256/8] ^= 1 << (bit % 8)
	return out
}

// TestProofsExhaustive checks every inclusion and consistency proof of
// small trees with several tile heights.
func TestProofsExhaustive(t *testing.T) {
	for _, h := range []int{1, 2, 3, 6} {
		f := newProofFixture(t, h, 70)
		for n := uint64(1); n <= 70; n++ {
			for i := uint64(0); i < n; i++ {
				f.checkInclusion(i, n, int(i*7+n))
			}
			for m := uint64(1); m <= n; m++ {
				f.checkConsistency(m, n, int(m*5+n))
			}
		}
	}
}

// TestProofsRandom checks random proofs in larger trees.
func TestProofsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, h := range []int{2, 4, 6} {
		size := 500 + rng.IntN(1500)
		f := newProofFixture(t, h, size)
		for k := 0; k < 300; k++ {
			n := 1 + uint64(rng.IntN(size))
			f.checkInclusion(uint64(rng.Int64N(int64(n))), n, rng.Int())
			f.checkConsistency(1+uint64(rng.Int64N(int64(n))), n, rng.Int())
		}
	}
}

// FuzzProofs: for any index and sizes, the proofs verify independently and
// fail once a bit is flipped.
func FuzzProofs(f *testing.F) {
	fx := newProofFixture(f, 2, 600)
	f.Add(uint16(0), uint16(1), uint16(1), 0)
	f.Add(uint16(5), uint16(64), uint16(17), 100)
	f.Add(uint16(599), uint16(600), uint16(599), 9000)
	f.Fuzz(func(t *testing.T, a, b, c uint16, bit int) {
		if bit < 0 {
			bit = -bit
		}
		n := 1 + uint64(b)%600
		fx.t = t
		fx.checkInclusion(uint64(a)%n, n, bit)
		fx.checkConsistency(1+uint64(c)%n, n, bit)
	})
}

func TestProofArguments(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	l := e.open(2)
	mustAppend(t, l, testEntries(0, 10))
	cases := []struct {
		name string
		err  error
		call func() error
	}{
		{"inclusion index = size", ErrInvalidArgument, func() error { _, err := l.InclusionProof(ctx, 5, 5); return err }},
		{"inclusion size > log", ErrOutOfRange, func() error { _, err := l.InclusionProof(ctx, 0, 11); return err }},
		{"inclusion in empty tree", ErrInvalidArgument, func() error { _, err := l.InclusionProof(ctx, 0, 0); return err }},
		{"consistency m = 0", ErrInvalidArgument, func() error { _, err := l.ConsistencyProof(ctx, 0, 5); return err }},
		{"consistency m > n", ErrInvalidArgument, func() error { _, err := l.ConsistencyProof(ctx, 6, 5); return err }},
		{"consistency n > log", ErrOutOfRange, func() error { _, err := l.ConsistencyProof(ctx, 5, 11); return err }},
	}
	for _, c := range cases {
		if err := c.call(); !errors.Is(err, c.err) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.err)
		}
	}
	p, err := l.ConsistencyProof(ctx, 10, 10)
	if err != nil || len(p) != 0 {
		t.Fatalf("consistency 10→10 = %v, %v; want empty", p, err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.InclusionProof(canceled, 1, 5); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}
