package state

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pedigree-project/pedigree/lifecycle"
)

// The lot index (0x28 lotpack) names every pack under its batch, so that a
// batch's packs are read without the product's other lots: its export and
// its trace cost what the batch holds, not what the product holds. A
// pack's lot is fixed when it is commissioned, so the index is written
// then (PutLotPack) and never changed.
//
// A store written before the index existed has none: BuildMissingIndexes
// writes it from the pack table once, before the node consumes the stream
// again, and records LotIndexFormat; every commit records it too
// (PutIndexFormats), so a store that has it is complete.

// LotIndexFormat is the format of the lot index this node keeps.
const LotIndexFormat = 1

func lotPackPrefix(gtin, lot string) []byte {
	return appendStr(append([]byte{prefixLotPack}, gtin...), lot)
}

// PutLotPack records into b that pack (gtin, serial) belongs to lot; buf
// is scratch space for the key, returned for reuse.
func PutLotPack(b *pebble.Batch, gtin, lot, serial string, buf []byte) ([]byte, error) {
	buf = appendStr(appendStr(append(append(buf[:0], prefixLotPack), gtin...), lot), serial)
	return buf, b.Set(buf, nil, nil)
}

// PutIndexFormats records into b that the store's derived indexes (lot,
// alert and EPCIS) are complete in their formats; every commit of the
// ingest pipeline records it.
func PutIndexFormats(b *pebble.Batch) error {
	return errors.Join(b.Set(metaKey(metaLotIndex), []byte{LotIndexFormat}, nil),
		b.Set(metaKey(metaAlertIndex), []byte{AlertIndexFormat}, nil), PutEPCISIndexFormat(b))
}

// indexComplete reports whether the index recorded under meta key m is
// complete in format f.
func (s *Store) indexComplete(m, f byte) (bool, error) {
	v, ok, err := get(s.db, metaKey(m))
	if err != nil || !ok {
		return false, err
	}
	return len(v) == 1 && v[0] == f, nil
}

// indexBuildBatch is how many records an index build indexes per Pebble
// batch.
const indexBuildBatch = 1 << 16

// IndexBuild reports an index BuildMissingIndexes wrote.
type IndexBuild struct {
	Name    string // "lot" or "alert"
	Records uint64 // packs or alerts indexed
}

// BuildMissingIndexes writes each derived index the store lacks (a store
// written by an earlier version) from its table, and records them
// complete. It must run before anything else writes to the store: the
// ingest pipeline calls it before it consumes.
func (s *Store) BuildMissingIndexes(ctx context.Context) ([]IndexBuild, error) {
	var built []IndexBuild
	b := s.db.NewBatch()
	defer func() { _ = b.Close() }()
	for _, ix := range []struct {
		name  string
		meta  byte
		f     byte
		build func(context.Context, *pebble.Batch) (uint64, error)
	}{
		{"lot", metaLotIndex, LotIndexFormat, s.buildLotIndex},
		{"alert", metaAlertIndex, AlertIndexFormat, s.buildAlertIndex},
	} {
		ok, err := s.indexComplete(ix.meta, ix.f)
		if err != nil {
			return built, err
		}
		if ok {
			continue
		}
		n, err := ix.build(ctx, b)
		if err != nil {
			return built, fmt.Errorf("state: build %s index: %w", ix.name, err)
		}
		if err := b.Set(metaKey(ix.meta), []byte{ix.f}, nil); err != nil {
			return built, err
		}
		if err := b.Commit(pebble.Sync); err != nil {
			return built, fmt.Errorf("state: build %s index: %w", ix.name, err)
		}
		b.Reset()
		built = append(built, IndexBuild{Name: ix.name, Records: n})
	}
	return built, nil
}

// commitPart commits what a build wrote into b so far, unsynced (the
// final commit syncs), and empties b.
func commitPart(ctx context.Context, b *pebble.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return err
	}
	b.Reset()
	return nil
}

// buildLotIndex writes the lot index from the pack table into b,
// committing every indexBuildBatch packs; it returns the number indexed.
func (s *Store) buildLotIndex(ctx context.Context, b *pebble.Batch) (uint64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixPack}, UpperBound: []byte{prefixPack + 1}})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var n uint64
	var buf []byte
	const gtinLen = 14
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) < 1+gtinLen+1 || int(k[1+gtinLen]) != len(k)-2-gtinLen {
			return n, fmt.Errorf("%w: pack key %x", errRecord, k)
		}
		gtin, serial := string(k[1:1+gtinLen]), string(k[2+gtinLen:])
		p, err := decodePack(gtin, serial, it.Value())
		if err != nil {
			return n, err
		}
		if buf, err = PutLotPack(b, gtin, p.Lot, serial, buf); err != nil {
			return n, err
		}
		if n++; n%indexBuildBatch == 0 {
			if err := commitPart(ctx, b); err != nil {
				return n, err
			}
		}
	}
	return n, it.Error()
}

// BatchPacksAfter calls fn with the packs of batch (gtin, lot) whose
// serial comes after serial after in the table's order (ComparePacks:
// shorter serials first), all of them when after is empty, until fn
// returns false or an error. It walks the lot index and the pack table
// side by side, in bounded memory.
func (s *Store) BatchPacksAfter(gtin, lot, after string, fn func(lifecycle.Pack) (bool, error)) error {
	prefix := lotPackPrefix(gtin, lot)
	lower := prefix
	if after != "" {
		lower = append(appendStr(append([]byte(nil), prefix...), after), 0)
	}
	idx, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return fmt.Errorf("state: packs of %s/%s: %w", gtin, lot, err)
	}
	defer idx.Close()
	packPrefix := append([]byte{prefixPack}, gtin...)
	packs, err := s.db.NewIter(&pebble.IterOptions{LowerBound: packPrefix, UpperBound: prefixEnd(packPrefix)})
	if err != nil {
		return fmt.Errorf("state: packs of %s/%s: %w", gtin, lot, err)
	}
	defer packs.Close()
	var key []byte
	for ok := idx.First(); ok; ok = idx.Next() {
		k := idx.Key()
		if len(k) <= len(prefix) || int(k[len(prefix)]) != len(k)-len(prefix)-1 {
			continue
		}
		serial := k[len(prefix)+1:]
		key = append(append(key[:0], packPrefix...), k[len(prefix):]...)
		// The index and the table share their order: each seek moves on.
		if !packs.SeekGE(key) || string(packs.Key()) != string(key) {
			if err := packs.Error(); err != nil {
				return fmt.Errorf("state: packs of %s/%s: %w", gtin, lot, err)
			}
			return fmt.Errorf("%w: lot index names pack %s/%s, which is not stored", errRecord, gtin, serial)
		}
		p, err := decodePack(gtin, string(serial), packs.Value())
		if err != nil {
			return err
		}
		if more, err := fn(p); err != nil || !more {
			return err
		}
	}
	return idx.Error()
}
