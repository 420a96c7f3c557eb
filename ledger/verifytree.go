package ledger

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/tlog"
)

// tileTree rebuilds the Merkle tree from leaf hashes for Verify, without
// reading anything back from storage: a compact range (the roots of the
// perfect subtrees, largest first) gives the root at any size, and the
// hashes at tile levels are collected into tiles that are compared with
// the stored ones as soon as they are complete. It deliberately does not
// share code with the writer (edge), so that a bug there shows up here.
type tileTree struct {
	h     int
	snap  *pebble.Snapshot
	n     uint64             // leaves added
	stack []tlog.Hash        // compact range over [0, n)
	tiles [][]byte           // tiles[L]: hashes so far of the current tile at level L
	its   []*pebble.Iterator // its[L]: stored tiles of level L, positioned at the current one
}

// add appends the next leaf hash.
func (t *tileTree) add(leaf tlog.Hash) error {
	if err := t.tileHash(0, t.n, leaf); err != nil {
		return err
	}
	h := leaf
	level := 0
	for m := t.n; m&1 == 1; m >>= 1 {
		h = tlog.NodeHash(t.stack[len(t.stack)-1], h)
		t.stack = t.stack[:len(t.stack)-1]
		level++
		if level%t.h == 0 {
			if err := t.tileHash(level/t.h, t.n>>level, h); err != nil {
				return err
			}
		}
	}
	t.stack = append(t.stack, h)
	t.n++
	return nil
}

// root returns the RFC 6962 root of the first n leaves.
func (t *tileTree) root() tlog.Hash {
	if len(t.stack) == 0 {
		h, _ := tlog.TreeHash(0, nil)
		return h
	}
	h := t.stack[len(t.stack)-1]
	for i := len(t.stack) - 2; i >= 0; i-- {
		h = tlog.NodeHash(t.stack[i], h)
	}
	return h
}

// tileHash records hash number pos at tile level L (tree level L·h) and
// checks the tile once it is full.
func (t *tileTree) tileHash(level int, pos uint64, h tlog.Hash) error {
	for len(t.tiles) <= level {
		t.tiles = append(t.tiles, make([]byte, 0, tlog.HashSize<<t.h))
		t.its = append(t.its, nil)
	}
	t.tiles[level] = append(t.tiles[level], h[:]...)
	if len(t.tiles[level]) < tlog.HashSize<<t.h {
		return nil
	}
	if err := t.check(level, int64(pos>>t.h)); err != nil {
		return err
	}
	t.tiles[level] = t.tiles[level][:0]
	return nil
}

// check compares stored tile (level, n) with t.tiles[level] and moves the
// level's iterator past it.
func (t *tileTree) check(level int, n int64) error {
	it := t.its[level]
	if it == nil {
		lo, hi := tileLevelBounds(level)
		var err error
		if it, err = t.snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi}); err != nil {
			return fmt.Errorf("ledger: verify: %w", err)
		}
		t.its[level] = it
		it.First()
	}
	want := t.tiles[level]
	first := uint64(n) << t.h // first hash position in the tile
	if !it.Valid() {
		if err := it.Error(); err != nil {
			return fmt.Errorf("ledger: verify: %w", err)
		}
		return tileError(level, n, first<<(level*t.h), "missing")
	}
	gotLevel, gotN, ok := decodeTileKey(it.Key())
	switch {
	case !ok || gotLevel != level:
		return tileError(level, n, first<<(level*t.h), "unexpected key %x", it.Key())
	case gotN > n:
		return tileError(level, n, first<<(level*t.h), "missing")
	case gotN < n:
		return tileError(level, gotN, uint64(gotN)<<t.h<<(level*t.h), "unexpected tile before L%d/N%d", level, n)
	}
	got, err := it.ValueAndErr()
	if err != nil {
		return fmt.Errorf("ledger: verify: tile L%d/N%d: %w", level, n, err)
	}
	if !bytes.Equal(got, want) {
		return t.mismatch(level, n, got, want)
	}
	it.Next()
	return nil
}

// mismatch describes the first hash where a stored tile differs.
func (t *tileTree) mismatch(level int, n int64, got, want []byte) error {
	first := uint64(n) << t.h
	for j := 0; j < len(want)/tlog.HashSize; j++ {
		lo, hi := j*tlog.HashSize, (j+1)*tlog.HashSize
		if hi > len(got) {
			return tileError(level, n, (first+uint64(j))<<(level*t.h), "has %d hashes, want %d", len(got)/tlog.HashSize, len(want)/tlog.HashSize)
		}
		if !bytes.Equal(got[lo:hi], want[lo:hi]) {
			idx := (first + uint64(j)) << (level * t.h)
			if level == 0 {
				return tileError(level, n, idx, "hash at index %d differs", idx)
			}
			return tileError(level, n, idx, "hash at level %d covering entries from %d differs", level*t.h, idx)
		}
	}
	idx := (first + uint64(len(want)/tlog.HashSize)) << (level * t.h)
	return tileError(level, n, idx, "has %d hashes, want %d", len(got)/tlog.HashSize, len(want)/tlog.HashSize)
}

// finish checks the partial tiles at the end of the log and that no tile
// is stored beyond it.
func (t *tileTree) finish() error {
	for level := 0; level < len(t.tiles) || t.n>>(level*t.h) > 0; level++ {
		for len(t.tiles) <= level {
			t.tiles = append(t.tiles, nil)
			t.its = append(t.its, nil)
		}
		if len(t.tiles[level]) > 0 {
			if err := t.check(level, int64((t.n>>(level*t.h))>>t.h)); err != nil {
				return err
			}
		}
	}
	_, hi := prefixBounds(prefixTile)
	it, err := t.snap.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixTile}, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("ledger: verify: %w", err)
	}
	defer it.Close()
	// Tiles before the last expected one of each level were checked in
	// order; look for any after it, and for tiles above the top level.
	for level := 0; ; level++ {
		count := t.n >> (level * t.h) // hashes at this tile level
		after := int64((count + 1<<t.h - 1) >> t.h)
		if !it.SeekGE(tileKey(level, after)) {
			return it.Error()
		}
		gotLevel, n, valid := decodeTileKey(it.Key())
		if !valid {
			return &VerifyError{Index: t.n, Object: "tile", Problem: fmt.Sprintf("malformed key %x", it.Key())}
		}
		if gotLevel == level || count == 0 {
			return tileError(gotLevel, n, t.n, "stored beyond the end of the log (%d entries)", t.n)
		}
	}
}
