package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// DefaultTileHeight is the tile height of a new log when Options.TileHeight
// is zero. A tile of height 6 holds 64 hashes (2 KiB). It was chosen by
// measurement (BENCHMARKS.md): at 10M entries, proofs took 60–75 µs with
// heights 5 and 6, about 90 µs with 4 (more tile reads) and 250–370 µs
// with 8 (an 8 KiB tile costs up to 255 node hashes to rebuild per tile
// level). Of 5 and 6, 6 keeps the tiles above level 0 smaller (0.5 bytes
// per entry), so the in-memory cache of them covers a longer log.
const DefaultTileHeight = 6

// MaxTileHeight is the largest supported tile height (1024 hashes, 32 KiB).
const MaxTileHeight = 10

// Options configure Open. The zero value opens an existing log read/append
// only (no checkpoints) with its stored origin and tile height.
type Options struct {
	// Origin is the first line of every checkpoint: a unique name for the
	// log, conventionally a schema-less URL such as
	// "pedigree.example/ledger". It is stored when the log is created and
	// must not change afterwards. Default: the stored origin, or else the
	// Signer's name.
	Origin string

	// Signer signs checkpoints. Nil disables Checkpoint (ErrNoSigner).
	Signer note.Signer

	// VerifierKey is the note verifier key ("name+hash+key") of Signer,
	// copied into every Checkpoint so that readers know which key to use.
	// Required with Signer; see LoadOrCreateKey and ReadVerifierKey.
	VerifierKey string

	// TileHeight is the tile height for a new log, 1..MaxTileHeight.
	// Zero means DefaultTileHeight, or the stored height of an existing
	// log; a non-zero value must match the stored height.
	TileHeight int

	// Clock paces RunCheckpointer. Nil means the system clock.
	Clock Clock
}

// A Log is a verifiable append-only log stored in a Pebble DB.
//
// Reads (Size, Head, Entry, Entries, Root, proofs, checkpoints) are safe
// for concurrent use and see only committed entries. Writes (Stage,
// Commit, Abort, Append) come from a single writer; see the package
// documentation for the durability contract.
type Log struct {
	db       *pebble.DB
	h        int
	origin   string
	signer   note.Signer
	verifier note.Verifier
	vkey     string
	clock    Clock

	// wmu guards w, the writer's view: the committed state plus the
	// scratch space Stage uses.
	wmu sync.Mutex
	w   writer
	amu sync.Mutex // serialises Append

	// mu guards the reader-visible committed state.
	mu     sync.RWMutex
	size   uint64
	root   tlog.Hash
	grown  chan struct{} // closed and replaced when size grows
	latest *Checkpoint

	cpMu sync.Mutex // serialises Checkpoint

	upper tileCache // full tiles above level 0, for proofs
}

// Entry is one stored log entry.
type Entry struct {
	// Index is the entry's position in the log, from 0.
	Index uint64
	// Data is the entry exactly as appended.
	Data []byte
	// Chain is chain_Index = SHA-256(chain_{Index-1} ‖ leaf_Index).
	Chain tlog.Hash
}

// LeafHash returns the entry's RFC 6962 leaf hash, SHA-256(0x00 ‖ Data).
func (e Entry) LeafHash() tlog.Hash { return tlog.RecordHash(e.Data) }

// Open opens the ledger kept in db, creating it if db holds no ledger.
// It recovers the log size from what is committed in db, so a crash after
// a batch commit and before Commit loses nothing and doubles nothing.
// At most one Log may be open on a DB at a time.
func Open(db *pebble.DB, opts Options) (*Log, error) {
	if db == nil {
		return nil, errors.New("ledger: open: nil db")
	}
	l := &Log{db: db, signer: opts.Signer, vkey: opts.VerifierKey, clock: opts.Clock, grown: make(chan struct{})}
	if l.clock == nil {
		l.clock = systemClock{}
	}
	if err := l.checkKeys(); err != nil {
		return nil, err
	}
	if opts.TileHeight < 0 || opts.TileHeight > MaxTileHeight {
		return nil, fmt.Errorf("ledger: open: tile height %d not in 1..%d", opts.TileHeight, MaxTileHeight)
	}
	if err := l.openMeta(opts); err != nil {
		return nil, err
	}
	if err := l.load(); err != nil {
		return nil, err
	}
	cp, err := l.lastCheckpoint()
	if err != nil {
		return nil, err
	}
	l.latest = cp
	return l, nil
}

func (l *Log) checkKeys() error {
	if l.signer == nil {
		if l.vkey != "" {
			return errors.New("ledger: open: VerifierKey given without Signer")
		}
		return nil
	}
	v, err := note.NewVerifier(l.vkey)
	if err != nil {
		return fmt.Errorf("ledger: open: verifier key: %w", err)
	}
	if v.Name() != l.signer.Name() || v.KeyHash() != l.signer.KeyHash() {
		return fmt.Errorf("ledger: open: verifier key %q does not match signer %s+%08x", v.Name(), l.signer.Name(), l.signer.KeyHash())
	}
	l.verifier = v
	return nil
}

// openMeta reads the format metadata, or writes it for a new log.
func (l *Log) openMeta(opts Options) error {
	version, err := getMeta(l.db, metaVersion)
	if err != nil {
		return err
	}
	if version == nil {
		return l.createMeta(opts)
	}
	if len(version) != 4 || binary.BigEndian.Uint32(version) != FormatVersion {
		return fmt.Errorf("ledger: open: unsupported format version %x (want %d)", version, FormatVersion)
	}
	h, err := getMeta(l.db, metaTileHeight)
	if err != nil {
		return err
	}
	if len(h) != 1 || h[0] < 1 || h[0] > MaxTileHeight {
		return fmt.Errorf("%w: tile height metadata %x", ErrCorrupt, h)
	}
	l.h = int(h[0])
	if opts.TileHeight != 0 && opts.TileHeight != l.h {
		return fmt.Errorf("ledger: open: tile height %d requested, log has %d", opts.TileHeight, l.h)
	}
	origin, err := getMeta(l.db, metaOrigin)
	if err != nil {
		return err
	}
	l.origin = string(origin)
	if opts.Origin != "" && opts.Origin != l.origin {
		return fmt.Errorf("ledger: open: origin %q requested, log has %q", opts.Origin, l.origin)
	}
	return nil
}

func (l *Log) createMeta(opts Options) error {
	if err := requireEmpty(l.db); err != nil {
		return err
	}
	l.h = opts.TileHeight
	if l.h == 0 {
		l.h = DefaultTileHeight
	}
	l.origin = opts.Origin
	if l.origin == "" && l.signer != nil {
		l.origin = l.signer.Name()
	}
	if err := validOrigin(l.origin); err != nil {
		return err
	}
	b := l.db.NewBatch()
	defer b.Close()
	_ = b.Set(metaKey(metaVersion), binary.BigEndian.AppendUint32(nil, FormatVersion), nil)
	_ = b.Set(metaKey(metaTileHeight), []byte{byte(l.h)}, nil)
	_ = b.Set(metaKey(metaOrigin), []byte(l.origin), nil)
	_ = b.Set(metaKey(metaSize), encodeSize(0), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("ledger: create: %w", err)
	}
	return nil
}

func validOrigin(origin string) error {
	if origin == "" {
		return errors.New("ledger: create: no origin (set Options.Origin or Options.Signer)")
	}
	if !utf8.ValidString(origin) || strings.ContainsAny(origin, "\n\r") {
		return fmt.Errorf("ledger: create: origin %q must be one line of UTF-8", origin)
	}
	return nil
}

// requireEmpty refuses to create metadata over ledger keys of unknown format.
func requireEmpty(db *pebble.DB) error {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{PrefixFirst}, UpperBound: []byte{PrefixLast + 1}})
	if err != nil {
		return fmt.Errorf("ledger: open: %w", err)
	}
	defer it.Close()
	if it.First() {
		return fmt.Errorf("%w: ledger keys present but no format version (key %x)", ErrCorrupt, it.Key())
	}
	return it.Error()
}

// getMeta returns a copy of a metadata value, or nil if it is absent.
func getMeta(r getter, id byte) ([]byte, error) {
	v, err := getCopy(r, metaKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

// getter is the read method shared by *pebble.DB, *pebble.Snapshot and
// *pebble.Batch.
type getter interface {
	Get(key []byte) ([]byte, io.Closer, error)
}

// getCopy returns a copy of the value of key. A missing key returns
// pebble.ErrNotFound unwrapped.
func getCopy(r getter, key []byte) ([]byte, error) {
	v, c, err := r.Get(key)
	if err != nil {
		if errors.Is(err, pebble.ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("ledger: get %x: %w", key, err)
	}
	out := bytes.Clone(v)
	if out == nil {
		out = []byte{}
	}
	return out, c.Close()
}

// storedSize reads the committed size metadata.
func storedSize(r getter) (uint64, error) {
	v, err := getMeta(r, metaSize)
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, nil
	}
	if len(v) != sizeValueLen {
		return 0, fmt.Errorf("%w: size metadata is %d bytes", ErrCorrupt, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// load rebuilds the writer and reader state from what is committed.
func (l *Log) load() error {
	size, err := storedSize(l.db)
	if err != nil {
		return err
	}
	var chain tlog.Hash
	if size > 0 {
		v, err := getCopy(l.db, entryKey(size-1))
		if err != nil {
			return fmt.Errorf("%w: size is %d but entry %d is unreadable: %w", ErrCorrupt, size, size-1, err)
		}
		if len(v) < chainSize {
			return fmt.Errorf("%w: entry %d is %d bytes", ErrCorrupt, size-1, len(v))
		}
		copy(chain[:], v)
	}
	switch _, err := getCopy(l.db, entryKey(size)); {
	case err == nil:
		return fmt.Errorf("%w: entry %d stored beyond size %d", ErrCorrupt, size, size)
	case !errors.Is(err, pebble.ErrNotFound):
		return err
	}
	e, err := loadEdge(l.db, l.h, size)
	if err != nil {
		return err
	}
	root, err := tlog.TreeHash(int64(size), e)
	if err != nil {
		return fmt.Errorf("ledger: open: tree hash: %w", err)
	}
	l.w.size, l.w.chain, l.w.edge = size, chain, e
	l.setHead(size, root)
	return nil
}

// Size returns the number of committed entries.
func (l *Log) Size() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.size
}

// Head returns the committed size and the tree root at that size.
func (l *Log) Head() (size uint64, root tlog.Hash) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.size, l.root
}

// Origin returns the log's checkpoint origin line.
func (l *Log) Origin() string { return l.origin }

// TileHeight returns the height of the log's stored tiles.
func (l *Log) TileHeight() int { return l.h }

// growth returns a channel that is closed when the size next grows.
func (l *Log) growth() <-chan struct{} {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.grown
}

// Entry returns the entry at index i < Size().
func (l *Log) Entry(ctx context.Context, i uint64) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	if size := l.Size(); i >= size {
		return Entry{}, fmt.Errorf("%w: entry %d, log size %d", ErrOutOfRange, i, size)
	}
	v, err := getCopy(l.db, entryKey(i))
	if err != nil {
		return Entry{}, fmt.Errorf("%w: entry %d: %w", ErrCorrupt, i, err)
	}
	if len(v) < chainSize {
		return Entry{}, fmt.Errorf("%w: entry %d is %d bytes", ErrCorrupt, i, len(v))
	}
	e := Entry{Index: i, Data: v[chainSize:]}
	copy(e.Chain[:], v)
	return e, nil
}

// Entries calls fn for each entry with index in [from, to), in order, and
// stops at the first error fn returns. It requires from ≤ to ≤ Size().
// e.Data is only valid until fn returns; fn must copy it to keep it.
func (l *Log) Entries(ctx context.Context, from, to uint64, fn func(e Entry) error) error {
	if size := l.Size(); to > size {
		return fmt.Errorf("%w: entries [%d, %d), log size %d", ErrOutOfRange, from, to, size)
	}
	if from > to {
		return fmt.Errorf("%w: entries [%d, %d)", ErrInvalidArgument, from, to)
	}
	if from == to {
		return ctx.Err()
	}
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: entryKey(from), UpperBound: entryKey(to)})
	if err != nil {
		return fmt.Errorf("ledger: entries: %w", err)
	}
	defer it.Close()
	next := from
	for ok := it.First(); ok; ok = it.Next() {
		if next&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		i, _ := entryIndex(it.Key())
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("ledger: entry %d: %w", next, err)
		}
		if i != next || len(v) < chainSize {
			return fmt.Errorf("%w: entry %d missing or short", ErrCorrupt, next)
		}
		e := Entry{Index: i, Data: v[chainSize:]}
		copy(e.Chain[:], v)
		if err := fn(e); err != nil {
			return err
		}
		next++
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("ledger: entries: %w", err)
	}
	if next != to {
		return fmt.Errorf("%w: entry %d missing", ErrCorrupt, next)
	}
	return nil
}

// Root returns the Merkle tree root hash of the first n entries, n ≤ Size().
// The root of the empty tree is SHA-256 of the empty string.
func (l *Log) Root(ctx context.Context, n uint64) (tlog.Hash, error) {
	if err := ctx.Err(); err != nil {
		return tlog.Hash{}, err
	}
	size, root := l.Head()
	if n > size {
		return tlog.Hash{}, fmt.Errorf("%w: tree size %d, log size %d", ErrOutOfRange, n, size)
	}
	if n == size {
		return root, nil
	}
	h, err := tlog.TreeHash(int64(n), l.hashReader(l.db, n))
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("ledger: root at %d: %w", n, err)
	}
	return h, nil
}
