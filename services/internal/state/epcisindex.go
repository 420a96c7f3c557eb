package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// The EPCIS indexes let the EPCIS query interface find events without
// walking the ledger: 0x2A epcisid names every recorded event under its
// event ID (whoever captured it: the event table, 0x18, is scoped to the
// capturing party), and 0x2B epcclass every event that names a class
// (GTIN and lot, an LGTIN in a quantity list) under that class. Instance
// identifiers are found through the pack and container logs (0x1A, 0x1B),
// which name every SGTIN and SSCC an event names: the only instance
// identifiers the node records. An event's ID and classes never change, so
// the keys are written with the entry, once (PutEPCISEvent), and never
// deleted.
//
// A store written before the indexes existed gets them from the ingest
// pipeline before it consumes (it reads the ledger, which this package
// does not), which then records EPCISIndexFormat; every commit records it
// too (PutIndexFormats).

// EPCISIndexFormat is the format of the EPCIS indexes this node keeps.
const EPCISIndexFormat = 1

// eventIDSum is the part of an event ID's SHA-256 its index keys hold.
func eventIDSum(id string) [16]byte {
	s := sha256.Sum256([]byte(id))
	var out [16]byte
	copy(out[:], s[:16])
	return out
}

func epcisIDPrefix(id string) []byte {
	s := eventIDSum(id)
	return append([]byte{prefixEPCISID}, s[:]...)
}

func epcClassPrefix(gtin, lot string) []byte {
	return appendStr(append([]byte{prefixEPCClass}, gtin...), lot)
}

// PutEPCISEvent records into b that ledger entry index holds the event
// with ID id, naming the classes (GTIN, lot) given.
func PutEPCISEvent(b *pebble.Batch, index uint64, id string, classes [][2]string) error {
	if err := b.Set(binary.BigEndian.AppendUint64(epcisIDPrefix(id), index), nil, nil); err != nil {
		return fmt.Errorf("state: write EPCIS event index: %w", err)
	}
	for _, c := range classes {
		if err := b.Set(binary.BigEndian.AppendUint64(epcClassPrefix(c[0], c[1]), index), nil, nil); err != nil {
			return fmt.Errorf("state: write EPCIS class index: %w", err)
		}
	}
	return nil
}

// EPCISEvent is what the EPCIS indexes record of one event.
type EPCISEvent struct {
	Index   uint64      // the ledger entry
	ID      string      // the event ID the node gave it
	Classes [][2]string // the (GTIN, lot) classes it names
}

// PutEPCISEvents records events into b as PutEPCISEvent does, the keys in
// key order (Pebble inserts a batch's keys faster so).
func PutEPCISEvents(b *pebble.Batch, events []EPCISEvent) error {
	keys := make([][]byte, 0, len(events))
	for _, e := range events {
		keys = append(keys, binary.BigEndian.AppendUint64(epcisIDPrefix(e.ID), e.Index))
		for _, c := range e.Classes {
			keys = append(keys, binary.BigEndian.AppendUint64(epcClassPrefix(c[0], c[1]), e.Index))
		}
	}
	slices.SortFunc(keys, bytes.Compare)
	for _, k := range keys {
		if err := b.Set(k, nil, nil); err != nil {
			return fmt.Errorf("state: write EPCIS index: %w", err)
		}
	}
	return nil
}

// EventIDLog returns, in order, the ledger indexes of the entries that
// may hold an event with ID id (a 128-bit hash collision aside: the
// caller compares the IDs it reads).
func (s *Store) EventIDLog(id string) ([]uint64, error) {
	return s.indexes(epcisIDPrefix(id))
}

// ClassLog returns, in order, the ledger indexes of the entries whose
// events name the class (GTIN, lot) in a quantity list.
func (s *Store) ClassLog(gtin, lot string) ([]uint64, error) {
	return s.indexes(epcClassPrefix(gtin, lot))
}

// EPCISIndexComplete reports whether the store's EPCIS indexes are
// complete in this node's format.
func (s *Store) EPCISIndexComplete() (bool, error) {
	return s.indexComplete(metaEPCISIndex, EPCISIndexFormat)
}

// PutEPCISIndexFormat records into b that the EPCIS indexes are complete.
func PutEPCISIndexFormat(b *pebble.Batch) error {
	return b.Set(metaKey(metaEPCISIndex), []byte{EPCISIndexFormat}, nil)
}
