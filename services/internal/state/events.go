package state

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// The event table: which ledger entry recorded an ID, for deduplication
// and for writers that wait on their write's outcome.
//
// Keys are the first 16 bytes of SHA-256 of an ID string: an event ID
// scoped to the party that used it (envelope.ScopedEventID, "<GLN>/<event
// ID>": each party's event IDs are its own namespace), or the ID of a
// whole envelope (envelope.ID).
//
// Values (EventTableFormat 2):
//
//	ledger index (u64)                        an envelope ID, or a message ID
//	ledger index (u64) | content digest (32)  an event ID: the digest of the
//	                                          event it names (ingest.EventDigest)
//
// Format 1 (before event IDs were scoped to parties) keyed unscoped event
// IDs and held the index alone; a store in that format is rebuilt, not
// read (ingest refuses it).

// EventTableFormat is the format of the event table this code writes and
// reads. The ingest pipeline records it in every commit.
const EventTableFormat = 2

// EventHash is what the event table keys an ID by: the first 16 bytes of
// its SHA-256.
type EventHash [16]byte

// HashEventID returns the EventHash of an ID string.
func HashEventID(id string) EventHash {
	sum := sha256.Sum256([]byte(id))
	return EventHash(sum[:16])
}

// EventRecord is what the event table holds under one key.
type EventRecord struct {
	// Index is the ledger entry.
	Index uint64
	// Digest is the content digest of the event, when HasDigest.
	Digest [32]byte
	// HasDigest is true for event IDs, false for envelope and message IDs.
	HasDigest bool
}

// EventIndex returns the ledger index that recorded an ID string.
func (s *Store) EventIndex(id string) (uint64, bool, error) {
	r, ok, err := s.EventRecordOf(HashEventID(id))
	return r.Index, ok, err
}

// EventRecordOf returns the record of the ID with hash h.
func (s *Store) EventRecordOf(h EventHash) (EventRecord, bool, error) {
	var k [1 + len(h)]byte
	k[0] = prefixEvent
	copy(k[1:], h[:])
	val, closer, err := s.db.Get(k[:])
	if errors.Is(err, pebble.ErrNotFound) {
		return EventRecord{}, false, nil
	}
	if err != nil {
		return EventRecord{}, false, fmt.Errorf("state: read: %w", err)
	}
	defer closer.Close()
	var r EventRecord
	switch len(val) {
	case 8 + len(r.Digest):
		copy(r.Digest[:], val[8:])
		r.HasDigest = true
	case 8:
	default:
		return EventRecord{}, false, fmt.Errorf("%w: event record of %d bytes", errRecord, len(val))
	}
	r.Index = binary.BigEndian.Uint64(val)
	return r, true, nil
}

// EventHashes calls fn with every EventHash in the event table, in key
// order, as of the call; it stops with ctx's error when ctx ends.
func (s *Store) EventHashes(ctx context.Context, fn func(EventHash)) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixEvent}, UpperBound: []byte{prefixEvent + 1}})
	if err != nil {
		return fmt.Errorf("state: scan events: %w", err)
	}
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if n++; n%4096 == 0 && ctx.Err() != nil {
			_ = it.Close()
			return ctx.Err()
		}
		if k := it.Key(); len(k) == 1+len(EventHash{}) {
			fn(EventHash(k[1:]))
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("state: scan events: %w", err)
	}
	return nil
}

// PutEventOf records into b that ledger entry index holds the ID with hash
// h: an event whose content digest is *digest, or, with digest nil, an
// envelope or message ID.
func PutEventOf(b *pebble.Batch, h EventHash, index uint64, digest *[32]byte) error {
	n := 8
	if digest != nil {
		n += len(digest)
	}
	op := b.SetDeferred(1+len(h), n)
	op.Key[0] = prefixEvent
	copy(op.Key[1:], h[:])
	binary.BigEndian.PutUint64(op.Value, index)
	if digest != nil {
		copy(op.Value[8:], digest[:])
	}
	return op.Finish()
}

// StoredEventTableFormat returns the event table format the store was
// last committed with (0 when no commit recorded one).
func (s *Store) StoredEventTableFormat() (int, error) {
	v, ok, err := get(s.db, metaKey(metaEventFormat))
	if err != nil || !ok {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("%w: event table format", errRecord)
	}
	return int(v[0]), nil
}

// PutEventTableFormat records into b that the event table is in
// EventTableFormat.
func PutEventTableFormat(b *pebble.Batch) error {
	return b.Set(metaKey(metaEventFormat), []byte{EventTableFormat}, nil)
}
