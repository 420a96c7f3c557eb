package ledger

import (
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// PebbleOptions returns Pebble options for a serving node whose DB holds
// a ledger: 64 MiB memtables, so that batches of thousands of entries do
// not stall on flushes; up to two compaction workers; Bloom filters (10
// bits per key), so that a point read such as a tile fetch skips the
// tables that cannot hold its key; 16 KiB blocks, a quarter of the read
// calls of Pebble's 4 KiB for a scan such as Verify (which ran a third
// faster) and no slower for proofs; and a 256 MiB block cache, which keeps
// the index and filter blocks that every proof walks through (with 64 MiB,
// proofs at 10M entries took half as long again). The WAL stays on: the
// ledger's durability contract depends on commits with pebble.Sync.
// Callers may adjust the result before pebble.Open. An offline audit
// should use AuditPebbleOptions instead.
func PebbleOptions() *pebble.Options {
	o := &pebble.Options{
		MemTableSize:                64 << 20,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       24,
		LBaseMaxBytes:               256 << 20,
		CacheSize:                   256 << 20,
		CompactionConcurrencyRange:  func() (lower, upper int) { return 1, 2 },
	}
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		o.Levels[i].BlockSize = 16 << 10
	}
	o.EnsureDefaults()
	return o
}

// AuditPebbleOptions returns PebbleOptions with an 8 MiB block cache, for
// opening a stopped node's DB to run Verify: a single scan gains nothing
// from a large cache and runs faster without one (BENCHMARKS.md).
func AuditPebbleOptions() *pebble.Options {
	o := PebbleOptions()
	o.CacheSize = 8 << 20
	return o
}
