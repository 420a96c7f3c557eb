package ingest

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/pedigree-project/pedigree/services/internal/state"
)

// idFilter is a Bloom filter over the keys of the event table, so that the
// common case of deduplication, a new event ID, costs no read of Pebble:
// a point read of a key that is in no table still searches the memtable,
// which took about a fifth of the CPU time of the write path.
//
// It only ever answers "certainly absent" or "maybe present"; a maybe is
// settled by reading the event table, so the filter changes no outcome,
// only the cost of reaching it.
//
// Contents: every key of the event table once it is ready. The node scans
// the table once at start (in the background; until the scan is done, every
// lookup reads Pebble) and adds each batch's keys once the batch is
// durable. Keys of a batch still committing are found in that batch's own
// record of them (batchWork.prev), never through the filter.
//
// Size: a chain of blocked Bloom filters (one 64-byte cache line per key,
// six bits set in it, 12 bits per key: about 1% false positives each),
// each twice the capacity of the one before, starting at 2^20 keys: about
// 1.5 bytes of memory per event ID on the ledger, 24 MiB at 10M events,
// and at most a few cache lines read per lookup.
type idFilter struct {
	ready atomic.Bool
	mu    sync.Mutex // serialises growth
	segs  atomic.Pointer[[]*filterSeg]
}

const (
	filterFirstKeys  = 1 << 20
	filterBitsPerKey = 12
	filterProbes     = 6
	filterBlockWords = 8 // 512 bits, one cache line
	filterProbeBits  = 9 // 3 bits of word, 6 of bit, per probe
)

type filterSeg struct {
	words    []atomic.Uint64
	blocks   uint64 // a power of two
	capacity int64
	n        atomic.Int64
}

func newFilterSeg(capacity int64) *filterSeg {
	blocks := uint64(1)
	for int64(blocks*filterBlockWords*64) < capacity*filterBitsPerKey {
		blocks <<= 1
	}
	return &filterSeg{words: make([]atomic.Uint64, blocks*filterBlockWords), blocks: blocks, capacity: capacity}
}

func newIDFilter() *idFilter {
	f := &idFilter{}
	segs := []*filterSeg{newFilterSeg(filterFirstKeys)}
	f.segs.Store(&segs)
	return f
}

// probes returns the block and the probe bits of h. The event table's
// keys are SHA-256 prefixes, uniformly distributed: their bytes are used
// as they are.
func probes(h *state.EventHash) (block, bits uint64) {
	return binary.LittleEndian.Uint64(h[:8]), binary.LittleEndian.Uint64(h[8:])
}

func (s *filterSeg) add(h *state.EventHash) {
	block, bits := probes(h)
	base := (block & (s.blocks - 1)) * filterBlockWords
	for range filterProbes {
		s.words[base+bits&7].Or(1 << (bits >> 3 & 63))
		bits >>= filterProbeBits
	}
	s.n.Add(1)
}

func (s *filterSeg) mayContain(h *state.EventHash) bool {
	block, bits := probes(h)
	base := (block & (s.blocks - 1)) * filterBlockWords
	for range filterProbes {
		if s.words[base+bits&7].Load()&(1<<(bits>>3&63)) == 0 {
			return false
		}
		bits >>= filterProbeBits
	}
	return true
}

// add records that the event table holds h. It is safe to call
// concurrently with add and mayContain.
func (f *idFilter) add(h *state.EventHash) {
	segs := *f.segs.Load()
	last := segs[len(segs)-1]
	if last.n.Load() >= last.capacity {
		f.mu.Lock()
		segs = *f.segs.Load()
		if last = segs[len(segs)-1]; last.n.Load() >= last.capacity {
			last = newFilterSeg(2 * last.capacity)
			grown := append(append(make([]*filterSeg, 0, len(segs)+1), segs...), last)
			f.segs.Store(&grown)
		}
		f.mu.Unlock()
	}
	last.add(h)
}

// absent reports whether the event table certainly does not hold h. It is
// safe to call concurrently with add.
func (f *idFilter) absent(h *state.EventHash) bool {
	if !f.ready.Load() {
		return false
	}
	for _, s := range *f.segs.Load() {
		if s.mayContain(h) {
			return false
		}
	}
	return true
}

// load adds every key of the event table to f, then makes f answer. It
// gives up (leaving f to answer "maybe" to everything) when ctx ends or the
// table cannot be read.
func (f *idFilter) load(ctx context.Context, s *state.Store) error {
	if err := s.EventHashes(ctx, func(h state.EventHash) { f.add(&h) }); err != nil {
		return err
	}
	f.ready.Store(true)
	return nil
}
