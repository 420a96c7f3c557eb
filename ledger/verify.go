package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Report summarises a Verify run.
type Report struct {
	// Origin and TileHeight are the log's stored metadata.
	Origin     string
	TileHeight int
	// Entries is the number of entries verified.
	Entries uint64
	// Root is the tree root recomputed from the entries.
	Root tlog.Hash
	// Checkpoints is the number of stored checkpoints verified.
	Checkpoints uint64
	// Duration is the wall time Verify took.
	Duration time.Duration
}

// Rate returns the entries verified per second.
func (r Report) Rate() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Entries) / r.Duration.Seconds()
}

// progressEvery is how many entries Verify checks between progress calls.
const progressEvery = 1 << 16

// Verify audits the ledger stored in db, which should belong to a stopped
// node (Verify reads a snapshot, so a live node is safe but its newest
// entries may be missed). In one pass over the entries it recomputes every
// leaf hash from the stored bytes and the chain hash of every entry,
// rebuilds the Merkle tree incrementally and compares every stored tile
// with the one recomputed from the leaves, and checks every stored
// checkpoint: its signature verifies with verifier, its size is at most
// the log size and its root equals the recomputed root at its size.
//
// On the first problem it returns a *VerifyError (which matches ErrCorrupt)
// naming the object and the first entry index affected, such as
// "ledger: entry 41: chain hash mismatch". progress, if not nil, is called
// every 65536 entries and at the end with the entries done and the size
// the log claims.
//
// Verify reads the entries on one goroutine and hashes them on another. It
// runs fastest on a DB opened with AuditPebbleOptions.
func Verify(ctx context.Context, db *pebble.DB, verifier note.Verifier, progress func(done, total uint64)) (Report, error) {
	return VerifyEntries(ctx, db, verifier, progress, nil)
}

// VerifyEntries is Verify that also passes every entry's bytes, in index
// order, to check (if not nil), which knows what entries mean (the ledger
// does not): the first error it returns fails the audit with a
// *VerifyError naming the entry. check must not keep data, whose buffer
// is reused.
func VerifyEntries(ctx context.Context, db *pebble.DB, verifier note.Verifier, progress func(done, total uint64), check func(index uint64, data []byte) error) (Report, error) {
	return verifyEntries(ctx, db, verifier, progress, check, scanShape{})
}

// verifyEntries is VerifyEntries with the scan split as shape says (the
// tests vary it; zero is the default).
func verifyEntries(ctx context.Context, db *pebble.DB, verifier note.Verifier, progress func(done, total uint64), check func(index uint64, data []byte) error, shape scanShape) (Report, error) {
	start := time.Now()
	if verifier == nil {
		return Report{}, errors.New("ledger: verify: nil verifier")
	}
	snap := db.NewSnapshot()
	defer snap.Close()
	v := &verification{shape: shape, snap: snap, verifier: verifier, progress: progress, check: check}
	err := v.run(ctx)
	v.report.Duration = time.Since(start)
	for _, it := range v.tree.its {
		if it != nil {
			if cerr := it.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("ledger: verify: %w", cerr)
			}
		}
	}
	if v.cps != nil {
		if cerr := v.cps.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("ledger: verify: %w", cerr)
		}
	}
	return v.report, err
}

type verification struct {
	shape    scanShape // zero: rangeEntries, a reader per core
	snap     *pebble.Snapshot
	verifier note.Verifier
	progress func(done, total uint64)
	check    func(index uint64, data []byte) error
	report   Report
	size     uint64 // size metadata
	tree     tileTree

	cps    *pebble.Iterator // stored checkpoints, in seq order
	cp     Checkpoint       // next checkpoint to check, if haveCP
	haveCP bool
	cpSize uint64 // size of the previous checkpoint
}

func (v *verification) run(ctx context.Context) error {
	if err := v.readMeta(); err != nil {
		return err
	}
	v.tree.h = v.report.TileHeight
	v.tree.snap = v.snap
	lo, hi := prefixBounds(prefixCheckpoint)
	var err error
	if v.cps, err = v.snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi}); err != nil {
		return fmt.Errorf("ledger: verify: %w", err)
	}
	v.cps.First()
	if err := v.checkpointsAt(0); err != nil {
		return err
	}
	if err := v.entries(ctx); err != nil {
		return err
	}
	n := v.report.Entries
	if v.haveCP {
		return checkpointError(v.cp.Seq, v.cp.Size, n, "log has only %d entries (truncated)", n)
	}
	if v.size > n {
		return entryError(n, "missing (size metadata says %d entries)", v.size)
	}
	if v.size < n {
		return &VerifyError{Index: v.size, Object: "size metadata", Problem: fmt.Sprintf("says %d entries but %d are stored", v.size, n)}
	}
	if err := v.tree.finish(); err != nil {
		return err
	}
	v.report.Root = v.tree.root()
	if v.progress != nil {
		v.progress(n, v.size)
	}
	return nil
}

func (v *verification) readMeta() error {
	ver, err := getMeta(v.snap, metaVersion)
	if err != nil {
		return err
	}
	if ver == nil {
		return &VerifyError{Object: "format version", Problem: "missing (no ledger in this database)"}
	}
	if len(ver) != 4 || binary.BigEndian.Uint32(ver) != FormatVersion {
		return &VerifyError{Object: "format version", Problem: fmt.Sprintf("unsupported %x", ver)}
	}
	h, err := getMeta(v.snap, metaTileHeight)
	if err != nil {
		return err
	}
	if len(h) != 1 || h[0] < 1 || h[0] > MaxTileHeight {
		return &VerifyError{Object: "tile height metadata", Problem: fmt.Sprintf("bad value %x", h)}
	}
	origin, err := getMeta(v.snap, metaOrigin)
	if err != nil {
		return err
	}
	if v.size, err = storedSize(v.snap); err != nil {
		return &VerifyError{Object: "size metadata", Problem: err.Error()}
	}
	v.report.Origin, v.report.TileHeight = string(origin), int(h[0])
	return nil
}

// entries checks the entries the scan reads (verifyscan.go): leaf and chain
// hashes, the tiles they complete, and the checkpoints whose size they
// reach.
func (v *verification) entries(ctx context.Context) error {
	shape := v.shape
	if shape.readers == 0 {
		shape = scanShape{rangeEntries: rangeEntries, readers: runtime.GOMAXPROCS(0)}
	}
	scan := startScan(v.snap, v.size, shape)
	defer scan.close()
	var (
		next  uint64
		chain tlog.Hash
		pair  [2 * tlog.HashSize]byte
		err   error
	)
	scan.chunks(func(c *scanChunk) bool {
		defer func() { c.free <- c }()
		start := 0
		for k := range c.ends {
			stored, leafInput := c.entryRecord(start, k)
			start = c.ends[k]
			leaf := c.leaves[k]
			copy(pair[:tlog.HashSize], chain[:])
			copy(pair[tlog.HashSize:], leaf[:])
			chain = sha256.Sum256(pair[:])
			if !bytes.Equal(stored, chain[:]) {
				err = entryError(next, "chain hash mismatch")
				return false
			}
			if v.check != nil {
				if cerr := v.check(next, leafInput[1:]); cerr != nil {
					ve := entryError(next, "%v", cerr)
					ve.Err = cerr
					err = ve
					return false
				}
			}
			if err = v.tree.add(leaf); err != nil {
				return false
			}
			next++
			if v.haveCP && v.cp.Size == next {
				if err = v.checkpointsAt(next); err != nil {
					return false
				}
			}
			if next%progressEvery == 0 {
				if err = ctx.Err(); err != nil {
					return false
				}
				if v.progress != nil {
					v.progress(next, v.size)
				}
			}
		}
		if c.err != nil {
			err = c.err
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	v.report.Entries = next
	return nil
}

// checkpointsAt checks every pending checkpoint of size n against the tree
// so far (which has n leaves) and loads the next one of a larger size.
func (v *verification) checkpointsAt(n uint64) error {
	for {
		if !v.haveCP {
			if err := v.loadCheckpoint(); err != nil || !v.haveCP {
				return err
			}
		}
		if v.cp.Size != n {
			return nil
		}
		if root := v.tree.root(); root != v.cp.Root {
			return checkpointError(v.cp.Seq, v.cp.Size, n, "root hash %s differs from recomputed %s", v.cp.Root, root)
		}
		v.report.Checkpoints++
		v.haveCP = false
	}
}

// loadCheckpoint reads and checks the next stored checkpoint, if any.
func (v *verification) loadCheckpoint() error {
	if !v.cps.Valid() {
		return v.cps.Error()
	}
	seq, ok := checkpointSeq(v.cps.Key())
	if !ok {
		return &VerifyError{Object: "checkpoint", Problem: fmt.Sprintf("malformed key %x", v.cps.Key())}
	}
	msg := append([]byte(nil), v.cps.Value()...)
	v.cps.Next()
	cp, err := parseCheckpointNote(msg, nil)
	if err != nil {
		return &VerifyError{Object: fmt.Sprintf("checkpoint %d", seq), Problem: err.Error()}
	}
	if _, err := note.Open(msg, note.VerifierList(v.verifier)); err != nil {
		return checkpointError(seq, cp.Size, cp.Size, "bad signature: %v", err)
	}
	if cp.Origin != v.report.Origin {
		return checkpointError(seq, cp.Size, cp.Size, "origin %q, log has %q", cp.Origin, v.report.Origin)
	}
	if cp.Size < v.cpSize {
		return checkpointError(seq, cp.Size, cp.Size, "size smaller than the previous checkpoint's %d", v.cpSize)
	}
	if cp.Size < v.tree.n {
		return checkpointError(seq, cp.Size, cp.Size, "out of order: log already checked to %d", v.tree.n)
	}
	cp.Seq = seq
	v.cp, v.haveCP, v.cpSize = cp, true, cp.Size
	return nil
}
