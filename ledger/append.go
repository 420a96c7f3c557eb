package ledger

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/tlog"
)

// writer is the single writer's view of the committed log.
type writer struct {
	size  uint64
	chain tlog.Hash // chain hash of entry size-1, zero if size == 0
	edge  *edge     // right edge of the tree of size entries
	gen   uint64    // incremented by every Stage; only the latest Pending commits
}

// A Pending is the result of Stage: entries written into a caller's batch
// but not yet part of the log. Pass it to Commit once the batch is
// committed with pebble.Sync, or drop it (or call Abort) if the batch is
// discarded.
type Pending struct {
	log    *Log
	gen    uint64
	first  uint64
	size   uint64
	chain  tlog.Hash
	edge   *edge
	root   tlog.Hash
	leaves []tlog.Hash
}

// First returns the index of the first staged entry (the log size if none
// were staged).
func (p Pending) First() uint64 { return p.first }

// Size returns the log size once p is committed.
func (p Pending) Size() uint64 { return p.size }

// Leaves returns the RFC 6962 leaf hashes of the staged entries, in
// order, as Stage computed them.
func (p Pending) Leaves() []tlog.Hash { return p.leaves }

// Root returns the tree root hash once p is committed.
func (p Pending) Root() tlog.Hash { return p.root }

// Stage writes entries, their chain hashes, the tree tiles they change and
// the new size into b without committing b. Entry k of entries gets index
// p.First()+k. b may hold the caller's own keys (prefixes ≥ 0x10), which
// then commit atomically with the entries.
//
// The caller MUST commit b with pebble.Sync and then call Commit(p); it
// MUST NOT report an index as durable before that commit returned nil.
// If b is not committed, the caller drops p (or calls Abort) and the log
// stays at its old size. Only the latest Pending can be committed: the
// caller MUST NOT stage a second batch while an earlier one may still be
// committed. If Stage returns an error, b MUST be discarded.
func (l *Log) Stage(b *pebble.Batch, entries [][]byte) (Pending, error) {
	if b == nil {
		return Pending{}, errors.New("ledger: stage: nil batch")
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if err := l.reconcile(); err != nil {
		return Pending{}, err
	}
	w := &l.w
	w.gen++
	p := Pending{log: l, gen: w.gen, first: w.size, size: w.size, chain: w.chain, edge: w.edge, root: l.headRoot()}
	if len(entries) == 0 {
		return p, nil
	}
	e := w.edge.clone()
	chain := w.chain
	var werr error
	setTile := func(level int, n int64, data []byte) {
		if err := b.Set(tileKey(level, n), data, nil); err != nil && werr == nil {
			werr = err
		}
	}
	var pair [2 * tlog.HashSize]byte
	p.leaves = make([]tlog.Hash, 0, len(entries))
	for _, data := range entries {
		idx := e.n
		op := b.SetDeferred(entryKeyLen, chainSize+len(data))
		putEntryKey(op.Key, uint64(idx))
		v := op.Value
		copy(v[chainSize:], data)
		// Hash 0x00 ‖ data in place: the byte before data is the last chain
		// byte, written below.
		v[chainSize-1] = 0x00
		leaf := tlog.Hash(sha256.Sum256(v[chainSize-1:]))
		p.leaves = append(p.leaves, leaf)
		copy(pair[:tlog.HashSize], chain[:])
		copy(pair[tlog.HashSize:], leaf[:])
		chain = sha256.Sum256(pair[:])
		copy(v, chain[:])
		if err := op.Finish(); err != nil {
			return Pending{}, fmt.Errorf("ledger: stage entry %d: %w", idx, err)
		}
		hashes, err := tlog.StoredHashesForRecordHash(idx, leaf, e)
		if err != nil {
			return Pending{}, fmt.Errorf("ledger: stage entry %d: %w", idx, err)
		}
		e.add(hashes, setTile)
	}
	// Full tiles were written as they filled; write the partial ones.
	for _, t := range tlog.NewTiles(l.h, int64(w.size), e.n) {
		if t.W == 1<<l.h {
			continue
		}
		data := e.tiles[t.L]
		if len(data) != t.W*tlog.HashSize {
			return Pending{}, fmt.Errorf("ledger: internal error: tile %v has %d bytes", t, len(data))
		}
		setTile(t.L, t.N, data)
	}
	if err := b.Set(metaKey(metaSize), encodeSize(uint64(e.n)), nil); err != nil && werr == nil {
		werr = err
	}
	if werr != nil {
		return Pending{}, fmt.Errorf("ledger: stage: %w", werr)
	}
	root, err := tlog.TreeHash(e.n, e)
	if err != nil {
		return Pending{}, fmt.Errorf("ledger: stage: tree hash: %w", err)
	}
	p.size, p.chain, p.edge, p.root = uint64(e.n), chain, e, root
	return p, nil
}

// Commit makes the entries of p, whose batch the caller has committed with
// pebble.Sync, visible to readers. It fails with ErrStalePending if p is
// not the latest Pending or its batch is not committed; the caller MUST
// NOT call Commit for a batch whose commit failed.
func (l *Log) Commit(p Pending) error {
	if p.log != l {
		return fmt.Errorf("%w: pending belongs to another log", ErrStalePending)
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if p.gen != l.w.gen || p.first != l.w.size {
		return fmt.Errorf("%w: staged at size %d, log is at %d", ErrStalePending, p.first, l.w.size)
	}
	stored, err := storedSize(l.db)
	if err != nil {
		return err
	}
	if stored != p.size {
		return fmt.Errorf("%w: batch not committed (stored size %d, pending size %d)", ErrStalePending, stored, p.size)
	}
	l.w.size, l.w.chain, l.w.edge = p.size, p.chain, p.edge
	l.setHead(p.size, p.root)
	return nil
}

// Abort records that the batch of p will not be committed. The log stays
// at its committed size. Dropping p has the same effect; Abort exists so
// that call sites read as Stage … Commit or Abort.
func (l *Log) Abort(p Pending) {
	if p.log != l {
		return
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if p.gen == l.w.gen {
		l.w.gen++
	}
}

// Append appends entries in one Pebble batch committed with pebble.Sync
// and returns the index of the first; entry k gets index first+k. When
// Append returns nil the entries are durable. Concurrent Append calls are
// serialised; Append must not be mixed with a concurrent Stage.
func (l *Log) Append(ctx context.Context, entries [][]byte) (first uint64, err error) {
	l.amu.Lock()
	defer l.amu.Unlock()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 1024
	for _, e := range entries {
		n += 16 + entryKeyLen + chainSize + len(e)
	}
	b := l.db.NewBatchWithSize(n)
	defer b.Close()
	p, err := l.Stage(b, entries)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		l.Abort(p)
		return 0, err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		l.Abort(p)
		return 0, fmt.Errorf("ledger: append: %w", err)
	}
	if err := l.Commit(p); err != nil {
		return 0, err
	}
	return p.first, nil
}

// reconcile catches up with a batch that was committed without Commit.
// Caller holds wmu.
func (l *Log) reconcile() error {
	stored, err := storedSize(l.db)
	if err != nil {
		return err
	}
	switch {
	case stored == l.w.size:
		return nil
	case stored < l.w.size:
		return fmt.Errorf("%w: stored size %d below committed size %d", ErrCorrupt, stored, l.w.size)
	}
	gen := l.w.gen
	if err := l.load(); err != nil {
		return err
	}
	l.w.gen = gen
	return nil
}

func (l *Log) headRoot() tlog.Hash {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.root
}

// setHead publishes a new committed size and root to readers.
func (l *Log) setHead(size uint64, root tlog.Hash) {
	l.mu.Lock()
	defer l.mu.Unlock()
	grew := size > l.size
	l.size, l.root = size, root
	if grew {
		close(l.grown)
		l.grown = make(chan struct{})
	}
}
