package state

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/ledger/entry"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// Reads of the provenance indexes (packlog, contlog, member, alert).

// indexes returns the ledger indexes stored after prefix, in order.
func (s *Store) indexes(prefix []byte) ([]uint64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []uint64
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != len(prefix)+8 {
			continue
		}
		out = append(out, binary.BigEndian.Uint64(k[len(prefix):]))
	}
	return out, it.Error()
}

// PackLog returns the ledger indexes of the entries that named a pack.
func (s *Store) PackLog(gtin, serial string) ([]uint64, error) {
	return s.indexes(packLogPrefix(gtin, serial))
}

// ContainerLog returns the ledger indexes of the entries that named a
// container (as an object or as the parent of an aggregation).
func (s *Store) ContainerLog(sscc string) ([]uint64, error) {
	return s.indexes(contLogPrefix(sscc))
}

// Membership is one change of an object's container: from ledger entry
// Index on, the object is inside SSCC (or loose, when SSCC is empty).
type Membership struct {
	Index uint64
	SSCC  string
}

// Memberships returns an object's container changes in ledger order
// (object from PackObject or ContainerObject).
func (s *Store) Memberships(object []byte) ([]Membership, error) {
	prefix := memberPrefix(object)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []Membership
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != len(prefix)+8 {
			continue
		}
		out = append(out, Membership{Index: binary.BigEndian.Uint64(k[len(prefix):]), SSCC: string(it.Value())})
	}
	return out, it.Error()
}

// AlertsNewestFirst calls fn with alerts from the newest down, starting
// below (index, n) when before is set; fn returns false to stop.
func (s *Store) AlertsNewestFirst(before *[2]uint64, fn func(*pb.Alert) bool) error {
	upper := []byte{prefixAlert + 1}
	if before != nil {
		upper = alertKey(before[0], uint32(before[1]))
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixAlert}, UpperBound: upper})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.Last(); ok; ok = it.Prev() {
		a := &pb.Alert{}
		if err := proto.Unmarshal(it.Value(), a); err != nil {
			return fmt.Errorf("state: decode alert: %w", err)
		}
		if err := entry.UpgradeAlert(a); err != nil {
			return fmt.Errorf("state: decode alert: %w", err)
		}
		if !fn(a) {
			return nil
		}
	}
	return it.Error()
}
