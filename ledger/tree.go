package ledger

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/tlog"
)

// edge is the right edge of a tree of n leaves: for each tile level L, the
// hashes of the last, incomplete tile at that level (possibly none). It is
// all the writer needs to extend the tree, and it serves the hashes that
// tlog.StoredHashesForRecordHash and tlog.TreeHash read, because those are
// always on the edge.
type edge struct {
	h     int
	n     int64
	tiles [][]byte    // tiles[L] holds ((n >> (L·h)) mod 2^h) hashes of tile (L, (n >> (L·h)) >> h)
	last  []lastNode  // last[l]: the latest node added at tree level l, if known
	out   []tlog.Hash // ReadHashes result, reused
}

// lastNode caches a node on the edge. The nodes tlog reads to extend the
// tree or to hash its root are the latest ones at their levels, so the
// cache answers nearly every read without rehashing a tile.
type lastNode struct {
	pos  int64
	hash tlog.Hash
	ok   bool
}

var _ tlog.HashReader = (*edge)(nil)

// loadEdge reads the partial tiles of a committed tree of size leaves.
func loadEdge(r getter, h int, size uint64) (*edge, error) {
	e := &edge{h: h, n: int64(size)}
	for level := 0; e.n>>(level*h) > 0; level++ {
		c := e.n >> (level * h)
		w := int(c & (1<<h - 1))
		buf := make([]byte, 0, tlog.HashSize<<h)
		if w > 0 {
			v, err := getCopy(r, tileKey(level, c>>h))
			if errors.Is(err, pebble.ErrNotFound) {
				return nil, fmt.Errorf("%w: tile L%d/N%d missing", ErrCorrupt, level, c>>h)
			}
			if err != nil {
				return nil, err
			}
			if len(v) != w*tlog.HashSize {
				return nil, fmt.Errorf("%w: tile L%d/N%d is %d bytes, want %d hashes", ErrCorrupt, level, c>>h, len(v), w)
			}
			buf = append(buf, v...)
		}
		e.tiles = append(e.tiles, buf)
	}
	return e, nil
}

func (e *edge) clone() *edge {
	c := &edge{h: e.h, n: e.n, tiles: make([][]byte, len(e.tiles), len(e.tiles)+1), last: append([]lastNode(nil), e.last...)}
	for i, t := range e.tiles {
		c.tiles[i] = append(make([]byte, 0, tlog.HashSize<<e.h), t...)
	}
	return c
}

// ReadHashes implements tlog.HashReader for hashes on the edge.
func (e *edge) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := e.out[:0]
	for _, x := range indexes {
		if level, pos := tlog.SplitStoredHashIndex(x); level < len(e.last) && e.last[level].ok && e.last[level].pos == pos {
			out = append(out, e.last[level].hash)
			continue
		}
		t := tlog.TileForIndex(e.h, x)
		if t.L >= len(e.tiles) || t.N != (e.n>>(t.L*e.h))>>e.h || len(e.tiles[t.L]) < t.W*tlog.HashSize {
			return nil, fmt.Errorf("ledger: internal error: hash %d is not on the edge of tree %d", x, e.n)
		}
		data := e.tiles[t.L]
		t.W = len(data) / tlog.HashSize
		h, err := tlog.HashFromTile(t, data, x)
		if err != nil {
			return nil, fmt.Errorf("ledger: internal error: %w", err)
		}
		out = append(out, h)
	}
	e.out = out
	return out, nil
}

// add records leaf e.n given the hashes tlog.StoredHashesForRecordHash
// returned for it (hashes[j] is at level j, position e.n >> j). It calls
// full for each tile the leaf completes.
func (e *edge) add(hashes []tlog.Hash, full func(level int, n int64, data []byte)) {
	for len(e.last) < len(hashes) {
		e.last = append(e.last, lastNode{})
	}
	for j, h := range hashes {
		e.last[j] = lastNode{pos: e.n >> j, hash: h, ok: true}
	}
	for j := 0; j < len(hashes); j += e.h {
		level := j / e.h
		if level == len(e.tiles) {
			e.tiles = append(e.tiles, make([]byte, 0, tlog.HashSize<<e.h))
		}
		e.tiles[level] = append(e.tiles[level], hashes[j][:]...)
		if len(e.tiles[level]) == tlog.HashSize<<e.h {
			full(level, (e.n>>j)>>e.h, e.tiles[level])
			e.tiles[level] = e.tiles[level][:0]
		}
	}
	e.n++
}

// storedReader is a tlog.HashReader over the tiles committed in Pebble,
// for a tree of n ≤ committed size leaves. Hashes of a tree of size n
// never change as the log grows, so no snapshot is needed.
type storedReader struct {
	r     getter
	h     int
	n     int64
	upper *tileCache // may be nil
	cache []storedTile
}

type storedTile struct {
	level int
	n     int64
	data  []byte
}

var _ tlog.HashReader = (*storedReader)(nil)

func (l *Log) hashReader(r getter, n uint64) *storedReader {
	return &storedReader{r: r, h: l.h, n: int64(n), upper: &l.upper}
}

// ReadHashes implements tlog.HashReader.
func (s *storedReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	limit := tlog.StoredHashIndex(0, s.n)
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= limit {
			return nil, fmt.Errorf("ledger: internal error: hash %d not in tree of size %d", x, s.n)
		}
		t := tlog.TileForIndex(s.h, x)
		data, err := s.tile(t.L, t.N)
		if err != nil {
			return nil, err
		}
		if len(data) < t.W*tlog.HashSize || len(data) > tlog.HashSize<<s.h || len(data)%tlog.HashSize != 0 {
			return nil, fmt.Errorf("%w: tile L%d/N%d is %d bytes, need %d hashes", ErrCorrupt, t.L, t.N, len(data), t.W)
		}
		t.W = len(data) / tlog.HashSize
		if out[i], err = tlog.HashFromTile(t, data, x); err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
	}
	return out, nil
}

func (s *storedReader) tile(level int, n int64) ([]byte, error) {
	for _, t := range s.cache {
		if t.level == level && t.n == n {
			return t.data, nil
		}
	}
	cacheable := level > 0 && s.upper != nil
	if cacheable {
		if data := s.upper.get(level, n); data != nil {
			return data, nil
		}
	}
	data, err := getCopy(s.r, tileKey(level, n))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("%w: tile L%d/N%d missing", ErrCorrupt, level, n)
	}
	if err != nil {
		return nil, err
	}
	s.cache = append(s.cache, storedTile{level, n, data})
	if cacheable && len(data) == tlog.HashSize<<s.h {
		s.upper.add(level, n, data)
	}
	return data, nil
}

// upperTileCacheBytes bounds the tileCache of a Log: 32 MiB holds every
// tile above level 0 of a log of about 64M entries at tile height 6.
const upperTileCacheBytes = 32 << 20

// tileCache keeps full tiles above level 0 in memory. Every proof reads
// one tile per tile level; those above level 0 are few (1/2^h of the
// leaves) and, once full, never change, so caching them turns most of a
// proof's Pebble reads into map lookups. When full it stops caching.
type tileCache struct {
	mu    sync.RWMutex
	tiles map[tileID][]byte
	bytes int
}

type tileID struct {
	level int
	n     int64
}

func (c *tileCache) get(level int, n int64) []byte {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tiles[tileID{level, n}]
}

func (c *tileCache) add(level int, n int64, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes+len(data) > upperTileCacheBytes {
		return
	}
	if c.tiles == nil {
		c.tiles = make(map[tileID][]byte)
	}
	if _, ok := c.tiles[tileID{level, n}]; !ok {
		c.tiles[tileID{level, n}] = data
		c.bytes += len(data)
	}
}

// InclusionProof returns the RFC 6962 inclusion proof (audit path, leaf to
// root) that entry index is in the tree of the first size entries. It
// requires index < size ≤ Size().
func (l *Log) InclusionProof(ctx context.Context, index, size uint64) (tlog.RecordProof, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := l.checkTreeSize(size); err != nil {
		return nil, err
	}
	if index >= size {
		return nil, fmt.Errorf("%w: inclusion of index %d in tree size %d", ErrInvalidArgument, index, size)
	}
	p, err := tlog.ProveRecord(int64(size), int64(index), l.hashReader(l.db, size))
	if err != nil {
		return nil, fmt.Errorf("ledger: inclusion proof %d in %d: %w", index, size, err)
	}
	return p, nil
}

// ConsistencyProof returns the RFC 6962 consistency proof that the tree of
// the first m entries is a prefix of the tree of the first n entries. It
// requires 0 < m ≤ n ≤ Size(); the proof for m == n is empty.
func (l *Log) ConsistencyProof(ctx context.Context, m, n uint64) (tlog.TreeProof, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := l.checkTreeSize(n); err != nil {
		return nil, err
	}
	if m == 0 || m > n {
		return nil, fmt.Errorf("%w: consistency of tree size %d with %d (need 0 < m ≤ n)", ErrInvalidArgument, m, n)
	}
	p, err := tlog.ProveTree(int64(n), int64(m), l.hashReader(l.db, n))
	if err != nil {
		return nil, fmt.Errorf("ledger: consistency proof %d to %d: %w", m, n, err)
	}
	return p, nil
}

func (l *Log) checkTreeSize(n uint64) error {
	if size := l.Size(); n > size || n > math.MaxInt64 {
		return fmt.Errorf("%w: tree size %d, log size %d", ErrOutOfRange, n, size)
	}
	return nil
}
