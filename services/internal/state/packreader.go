package state

import (
	"bytes"
	"cmp"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pedigree-project/pedigree/lifecycle"
)

// PackReader reads many pack records through one Pebble iterator: cheaper
// than a Get each, which builds an iterator over every level per read, and
// cheaper still when the packs come in key order (ComparePacks), since a
// seek then starts from where the previous one ended. It sees the state as
// of NewPackReader. A PackReader is not safe for concurrent use; Close it.
type PackReader struct {
	it  *pebble.Iterator
	key []byte
}

// NewPackReader returns a reader of the committed pack records.
func (s *Store) NewPackReader() (*PackReader, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixPack}, UpperBound: []byte{prefixPack + 1}})
	if err != nil {
		return nil, fmt.Errorf("state: pack reader: %w", err)
	}
	return &PackReader{it: it}, nil
}

// Pack returns a pack's record, as Store.Pack does.
func (r *PackReader) Pack(gtin, serial string) (lifecycle.Pack, bool, error) {
	r.key = appendStr(append(append(r.key[:0], prefixPack), gtin...), serial)
	if !r.it.SeekPrefixGE(r.key) || !bytes.Equal(r.it.Key(), r.key) {
		if err := r.it.Error(); err != nil {
			return lifecycle.Pack{}, false, fmt.Errorf("state: read pack %s/%s: %w", gtin, serial, err)
		}
		return lifecycle.Pack{}, false, nil
	}
	v, err := r.it.ValueAndErr()
	if err != nil {
		return lifecycle.Pack{}, false, fmt.Errorf("state: read pack %s/%s: %w", gtin, serial, err)
	}
	p, err := decodePack(gtin, serial, v) // copies v
	return p, err == nil, err
}

// Close releases the reader.
func (r *PackReader) Close() error { return r.it.Close() }

// ComparePacks orders packs as their keys in the pack table and the pack
// log do (keys.go): GTIN, then the serial's length, then the serial.
func ComparePacks(gtinA, serialA, gtinB, serialB string) int {
	if c := strings.Compare(gtinA, gtinB); c != 0 {
		return c
	}
	if c := cmp.Compare(len(serialA), len(serialB)); c != 0 {
		return c
	}
	return strings.Compare(serialA, serialB)
}
