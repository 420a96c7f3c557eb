package ledger

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Verify reads entries on one goroutine and hashes them on another, so
// that Pebble's iteration and SHA-256 use both cores. Entries travel in
// chunks of about chunkBytes, recycled through a small pool, so the scan
// allocates nothing per entry.

const (
	chunkBytes = 1 << 20
	chunkPool  = 3
)

// scanChunk is a run of consecutive entries copied out of Pebble.
type scanChunk struct {
	first uint64 // index of the first entry
	data  []byte // per entry: chain hash ‖ 0x00 ‖ entry bytes, so the leaf hash input is in place
	ends  []int  // ends[k] is the end offset of entry first+k in data
	err   error  // a problem met after the last entry of the chunk
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
