package state

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// The alert index (0x29 alertby) names every alert under the party whose
// scan raised it, the GTIN of the pack it names and its code, so that a
// listing filtered by one of them reads the alerts that match, not every
// alert: a pharmacy's own alerts among a nation's. Those three never change
// once an alert is raised (a review changes its status), so PutAlert
// writes the entries with the alert, and writing them again changes
// nothing.
//
// A store written before the index existed gets it from BuildMissingIndexes,
// like the lot index.

// AlertIndexFormat is the format of the alert index this node keeps.
const AlertIndexFormat = 1

// AlertKey names an attribute alerts are indexed by.
type AlertKey byte

// The attributes alerts are indexed by.
const (
	// AlertByParty: the GLN of the party whose scan raised the alert.
	AlertByParty AlertKey = 'p'
	// AlertByGTIN: the GTIN of the pack the alert names.
	AlertByGTIN AlertKey = 'g'
	// AlertByCode: the alert code, in decimal.
	AlertByCode AlertKey = 'c'
)

func alertByPrefix(k AlertKey, value string) []byte {
	return appendStr([]byte{prefixAlertBy, byte(k)}, value)
}

// alertAttr is one indexed attribute of an alert.
type alertAttr struct {
	k AlertKey
	v string
}

// alertByValues returns the indexed attributes of a (empty when a has
// none, as an alert about a container has no GTIN).
func alertByValues(a *pb.Alert) [3]alertAttr {
	return [3]alertAttr{
		{AlertByParty, a.GetPartyGln()},
		{AlertByGTIN, a.GetEpc().GetPack().GetGtin()},
		{AlertByCode, strconv.Itoa(int(a.GetCode()))},
	}
}

// putAlertIndex records alert (index, n) under its attributes into b.
func putAlertIndex(b *pebble.Batch, index uint64, n uint32, a *pb.Alert) error {
	for _, kv := range alertByValues(a) {
		if kv.v == "" {
			continue
		}
		k := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(alertByPrefix(kv.k, kv.v), index), n)
		if err := b.Set(k, nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// AlertsByNewestFirst calls fn with the alerts whose attribute k is value,
// from the newest down, starting below (index, n) when before is set; fn
// returns false to stop.
func (s *Store) AlertsByNewestFirst(k AlertKey, value string, before *[2]uint64, fn func(*pb.Alert) bool) error {
	prefix := alertByPrefix(k, value)
	upper := prefixEnd(prefix)
	if before != nil {
		upper = binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(append([]byte(nil), prefix...), before[0]), uint32(before[1]))
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("state: alerts by %c: %w", k, err)
	}
	defer it.Close()
	for ok := it.Last(); ok; ok = it.Prev() {
		key := it.Key()
		if len(key) != len(prefix)+12 {
			return fmt.Errorf("%w: alert index key %x", errRecord, key)
		}
		a, err := s.Alert(binary.BigEndian.Uint64(key[len(prefix):]), binary.BigEndian.Uint32(key[len(prefix)+8:]))
		if err != nil {
			return fmt.Errorf("state: alert index names a missing alert: %w", err)
		}
		if !fn(a) {
			return nil
		}
	}
	return it.Error()
}

// buildAlertIndex writes the alert index from the alert table into b,
// committing every indexBuildBatch alerts; it returns the number indexed.
func (s *Store) buildAlertIndex(ctx context.Context, b *pebble.Batch) (uint64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixAlert}, UpperBound: []byte{prefixAlert + 1}})
	if err != nil {
		return 0, fmt.Errorf("state: build alert index: %w", err)
	}
	defer it.Close()
	var n uint64
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != 1+12 {
			return n, fmt.Errorf("%w: alert key %x", errRecord, k)
		}
		a := &pb.Alert{}
		if err := proto.Unmarshal(it.Value(), a); err != nil {
			return n, fmt.Errorf("state: build alert index: alert %x: %w", k, err)
		}
		if err := putAlertIndex(b, binary.BigEndian.Uint64(k[1:]), binary.BigEndian.Uint32(k[9:]), a); err != nil {
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
