package ledger

import (
	"crypto/sha256"
	"fmt"
	"math"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/tlog"
)

// Verify reads the entries on every core and checks the hash chain, the
// tree and the checkpoints on one goroutine, in index order. The entries
// are cut into ranges of rangeEntries; reader w of W reads ranges w, w+W,
// w+2W, … with an iterator of its own, copies them out in chunks of about
// chunkBytes and computes their leaf hashes (almost all the hashing an
// audit does, and it needs nothing but the entry); the checker takes the
// ranges in order, from each reader in turn. Each reader recycles its own
// few chunks, so the scan allocates nothing per entry and its memory is
// bounded by the number of cores.

const (
	chunkBytes = 1 << 20
	// rangeEntries is how many entries a reader reads in one range: small
	// enough that a reader can read its next range whole (readerChunks
	// of about chunkBytes) while the checker is on another reader's, for
	// entries of 100-event captures (about 14 KB).
	rangeEntries = 256
	// readerChunks is each reader's chunks: one being filled, one being
	// checked and the rest read ahead.
	readerChunks = 6
)

// scanChunk is a run of consecutive entries copied out of Pebble.
type scanChunk struct {
	data   []byte      // per entry: chain hash ‖ 0x00 ‖ entry bytes, so the leaf hash input is in place
	ends   []int       // ends[k] is the end offset of the chunk's entry k in data
	leaves []tlog.Hash // leaves[k] is the leaf hash of entry k
	last   bool        // the last chunk of its range
	end    bool        // the log ends after this chunk's entries
	err    error       // a problem met after the last entry of the chunk
	free   chan<- *scanChunk
}

// entryRecord returns the stored chain hash and the leaf hash input
// (0x00 ‖ entry bytes) of entry k of c, whose record starts at start.
func (c *scanChunk) entryRecord(start, k int) (chain, leafInput []byte) {
	rec := c.data[start:c.ends[k]]
	return rec[:chainSize], rec[chainSize:]
}

// hashLeaves computes the leaf hashes of c's entries.
func (c *scanChunk) hashLeaves() {
	c.leaves = c.leaves[:0]
	start := 0
	for k := range c.ends {
		_, leafInput := c.entryRecord(start, k)
		start = c.ends[k]
		c.leaves = append(c.leaves, tlog.Hash(sha256.Sum256(leafInput)))
	}
}

// entryScan reads a log's entries on several goroutines (see above).
type entryScan struct {
	snap    *pebble.Snapshot
	rng     uint64 // entries per range
	outs    []chan *scanChunk
	stop    chan struct{}
	wg      sync.WaitGroup
	lastRng uint64 // the last range, open-ended: the one holding the size metadata's index
}

// scanShape is how a scan splits its work: entries per range and readers.
type scanShape struct {
	rangeEntries uint64
	readers      int
}

// startScan starts the readers of snap's entries.
func startScan(snap *pebble.Snapshot, size uint64, shape scanShape) *entryScan {
	workers := max(shape.readers, 1)
	rng := max(shape.rangeEntries, 1)
	s := &entryScan{snap: snap, rng: rng, stop: make(chan struct{}), lastRng: size / rng}
	s.outs = make([]chan *scanChunk, workers)
	for w := range workers {
		out := make(chan *scanChunk, readerChunks-1)
		s.outs[w] = out
		free := make(chan *scanChunk, readerChunks)
		for range readerChunks {
			free <- &scanChunk{data: make([]byte, 0, chunkBytes+64<<10), ends: make([]int, 0, 4096), free: free}
		}
		s.wg.Go(func() { s.read(uint64(w), uint64(workers), free, out) })
	}
	return s
}

// chunks calls fn with every chunk in index order until fn returns false
// or a chunk ends the log; fn gives the chunk back with c.free.
func (s *entryScan) chunks(fn func(c *scanChunk) bool) {
	for r := uint64(0); r <= s.lastRng; r++ {
		out := s.outs[r%uint64(len(s.outs))]
		for {
			c, ok := <-out
			if !ok {
				return
			}
			last, end := c.last, c.end || c.err != nil
			if !fn(c) || end {
				return
			}
			if last {
				break
			}
		}
	}
}

// close stops the readers and waits until none uses the snapshot.
func (s *entryScan) close() {
	close(s.stop)
	s.wg.Wait()
}

// read reads ranges w, w+n, w+2n, … up to the last, open-ended one,
// checking that the keys are well formed and contiguous. A problem ends
// the range with a chunk carrying it; a range that stops short of its end
// ends the log, unless an entry is stored past the gap.
func (s *entryScan) read(w, n uint64, free chan *scanChunk, out chan<- *scanChunk) {
	defer close(out)
	lo, hi := prefixBounds(prefixEntry)
	for r := w; r <= s.lastRng; r += n {
		first := r * s.rng
		iterOpts := &pebble.IterOptions{LowerBound: lo, UpperBound: hi}
		if r > 0 {
			iterOpts.LowerBound = entryKey(first)
		}
		bounded := r < s.lastRng
		if bounded {
			iterOpts.UpperBound = entryKey(first + s.rng)
		}
		if !s.readRange(first, bounded, iterOpts, free, out) {
			return
		}
	}
}

// readRange reads one range; false means stop reading.
func (s *entryScan) readRange(first uint64, bounded bool, o *pebble.IterOptions, free chan *scanChunk, out chan<- *scanChunk) bool {
	var c *scanChunk
	take := func() bool {
		select {
		case c = <-free:
		case <-s.stop:
			return false
		}
		c.data, c.ends, c.leaves, c.last, c.end, c.err = c.data[:0], c.ends[:0], c.leaves[:0], false, false, nil
		return true
	}
	send := func() bool {
		c.hashLeaves()
		select {
		case out <- c:
			return !c.end && c.err == nil
		case <-s.stop:
			return false
		}
	}
	if !take() {
		return false
	}
	it, err := s.snap.NewIter(o)
	if err != nil {
		c.err, c.last = fmt.Errorf("ledger: verify: %w", err), true
		send()
		return false
	}
	defer it.Close()
	next := first
	limit := uint64(math.MaxUint64)
	if bounded {
		limit = first + s.rng
	}
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
		if len(c.data) >= chunkBytes && next < limit {
			if !send() || !take() {
				return false
			}
		}
	}
	if c.err == nil {
		if err := it.Error(); err != nil {
			c.err = fmt.Errorf("ledger: verify: %w", err)
		}
	}
	if c.err == nil && next < limit {
		// The range stopped short: the log ends here, or has a gap.
		c.end = true
		if after, ok := s.nextStored(next); ok {
			c.end, c.err = false, entryError(next, "missing (next stored entry is %d)", after)
		}
	}
	c.last = true
	return send()
}

// nextStored returns the index of the first entry key at or after from,
// if any.
func (s *entryScan) nextStored(from uint64) (uint64, bool) {
	_, hi := prefixBounds(prefixEntry)
	it, err := s.snap.NewIter(&pebble.IterOptions{LowerBound: entryKey(from), UpperBound: hi})
	if err != nil {
		return 0, false
	}
	defer it.Close()
	if !it.First() {
		return 0, false
	}
	idx, _ := entryIndex(it.Key())
	return idx, true
}
