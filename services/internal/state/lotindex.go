package state

import (
	"context"
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
// A store written before the index existed has none: BuildLotIndex writes
// it from the pack table once, before the node consumes the stream again,
// and records LotIndexFormat; every commit records it too, so a store that
// has it is complete.

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

// PutLotIndexFormat records into b that the store's lot index is complete
// in LotIndexFormat.
func PutLotIndexFormat(b *pebble.Batch) error {
	return b.Set(metaKey(metaLotIndex), []byte{LotIndexFormat}, nil)
}

// LotIndexComplete reports whether the store's lot index is complete in
// LotIndexFormat.
func (s *Store) LotIndexComplete() (bool, error) {
	v, ok, err := get(s.db, metaKey(metaLotIndex))
	if err != nil || !ok {
		return false, err
	}
	return len(v) == 1 && v[0] == LotIndexFormat, nil
}

// lotIndexBatch is how many index keys BuildLotIndex writes per batch.
const lotIndexBatch = 1 << 16

// BuildLotIndex writes the lot index from the pack table and records it
// complete; it returns the number of packs indexed. It must run before
// anything else writes to the store (the ingest pipeline calls it before
// it consumes).
func (s *Store) BuildLotIndex(ctx context.Context) (uint64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixPack}, UpperBound: []byte{prefixPack + 1}})
	if err != nil {
		return 0, fmt.Errorf("state: build lot index: %w", err)
	}
	defer it.Close()
	b := s.db.NewBatch()
	defer func() { _ = b.Close() }()
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
		if n++; n%lotIndexBatch == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
			if err := b.Commit(pebble.NoSync); err != nil {
				return n, fmt.Errorf("state: build lot index: %w", err)
			}
			b.Reset()
		}
	}
	if err := it.Error(); err != nil {
		return n, fmt.Errorf("state: build lot index: %w", err)
	}
	if err := PutLotIndexFormat(b); err != nil {
		return n, err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return n, fmt.Errorf("state: build lot index: %w", err)
	}
	return n, nil
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
