package ledger

import (
	"crypto/sha256"
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/cockroachdb/pebble/v2"
)

// Verify reads entries on one goroutine, computes their leaf hashes on
// every core (hashLeaves), and checks the hash chain, the tree and the
// checkpoints on one more, in index order: the leaf hash of an entry is
// almost all the hashing an audit does, and it needs nothing but the
// entry. Entries travel in chunks of about chunkBytes, recycled through a
// small pool, so the scan allocates nothing per entry.

const (
	chunkBytes = 1 << 20
	// chunkPool is one chunk being read, one being checked, and one
	// being hashed per core.
	chunkPool = 2
)

// scanChunk is a run of consecutive entries copied out of Pebble.
type scanChunk struct {
	first  uint64        // index of the first entry
	data   []byte        // per entry: chain hash ‖ 0x00 ‖ entry bytes, so the leaf hash input is in place
	ends   []int         // ends[k] is the end offset of entry first+k in data
	err    error         // a problem met after the last entry of the chunk
	leaves []tlog.Hash   // leaves[k] is the leaf hash of entry first+k, once hashed is signalled
	hashed chan struct{} // receives once the leaves are computed
}

func newScanChunk() *scanChunk {
	return &scanChunk{data: make([]byte, 0, chunkBytes+64<<10), ends: make([]int, 0, 4096), hashed: make(chan struct{}, 1)}
}

// hashLeaves passes the chunks of in to out in their order, and has
// workers goroutines compute each chunk's leaf hashes meanwhile: a
// receiver of out waits on the chunk's hashed before reading its leaves.
// It closes out once in is closed and every chunk is hashed.
func hashLeaves(in <-chan *scanChunk, out chan<- *scanChunk, workers int) {
	work := make(chan *scanChunk)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range work {
				c.leaves = c.leaves[:0]
				start := 0
				for k := range c.ends {
					_, leafInput := c.entryRecord(start, k)
					start = c.ends[k]
					c.leaves = append(c.leaves, tlog.Hash(sha256.Sum256(leafInput)))
				}
				c.hashed <- struct{}{}
			}
		})
	}
	for c := range in {
		out <- c
		work <- c
	}
	close(work)
	wg.Wait()
	close(out)
}

// entryRecord returns the stored chain hash and the leaf hash input
// (0x00 ‖ entry bytes) of entry k of c, whose record starts at start.
func (c *scanChunk) entryRecord(start, k int) (chain, leafInput []byte) {
	rec := c.data[start:c.ends[k]]
	return rec[:chainSize], rec[chainSize:]
}

// scanEntries sends the entries of snap to out in index order, checking
// that their keys are well formed and contiguous from 0. A problem ends the
// stream with a chunk carrying it after the entries before it. It stops
// early if stop is closed, and closes out when done.
func scanEntries(snap *pebble.Snapshot, free <-chan *scanChunk, out chan<- *scanChunk, stop <-chan struct{}) {
	defer close(out)
	var c *scanChunk
	take := func(first uint64) bool {
		select {
		case c = <-free:
		case <-stop:
			return false
		}
		c.first, c.data, c.ends, c.err = first, c.data[:0], c.ends[:0], nil
		return true
	}
	send := func() bool {
		select {
		case out <- c:
			return true
		case <-stop:
			return false
		}
	}
	if !take(0) {
		return
	}
	lo, hi := prefixBounds(prefixEntry)
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		c.err = fmt.Errorf("ledger: verify: %w", err)
		send()
		return
	}
	defer it.Close()
	next := uint64(0)
	for ok := it.First(); ok; ok = it.Next() {
		idx, isEntry := entryIndex(it.Key())
		if !isEntry {
			c.err = entryError(next, "malformed key %x", it.Key())
			break
		}
		if idx != next {
			c.err = entryError(next, "missing (next stored entry is %d)", idx)
			break
		}
		val, err := it.ValueAndErr()
		if err != nil {
			c.err = fmt.Errorf("ledger: verify: entry %d: %w", idx, err)
			break
		}
		if len(val) < chainSize {
			c.err = entryError(idx, "value is %d bytes, shorter than its chain hash", len(val))
			break
		}
		c.data = append(c.data, val[:chainSize]...)
		c.data = append(c.data, 0x00)
		c.data = append(c.data, val[chainSize:]...)
		c.ends = append(c.ends, len(c.data))
		next++
		if len(c.data) >= chunkBytes {
			if !send() || !take(next) {
				return
			}
		}
	}
	if c.err == nil {
		if err := it.Error(); err != nil {
			c.err = fmt.Errorf("ledger: verify: %w", err)
		}
	}
	send()
}
