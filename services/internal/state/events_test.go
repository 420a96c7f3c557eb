package state

import (
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// TestEventRecords: an envelope or message ID keeps the index alone, an
// event ID the index and its content digest; a record of another size is
// an error, not a guess; the format is recorded by PutEventTableFormat.
func TestEventRecords(t *testing.T) {
	s := openStore(t)
	digest := [32]byte{1, 2, 3}
	msg, ev, bad := HashEventID("urn:pedigree:envelope:00"), HashEventID("4012345000009/urn:uuid:1"), HashEventID("bad")
	apply(t, s, func(b *pebble.Batch) error {
		if err := PutEventOf(b, msg, 7, nil); err != nil {
			return err
		}
		if err := PutEventOf(b, ev, 1<<40, &digest); err != nil {
			return err
		}
		if err := b.Set(append([]byte{prefixEvent}, bad[:]...), []byte{1, 2, 3}, nil); err != nil {
			return err
		}
		return PutEventTableFormat(b)
	})
	if r, ok, err := s.EventRecordOf(msg); err != nil || !ok || r.Index != 7 || r.HasDigest {
		t.Errorf("message ID record: %+v %v %v", r, ok, err)
	}
	if r, ok, err := s.EventRecordOf(ev); err != nil || !ok || r.Index != 1<<40 || !r.HasDigest || r.Digest != digest {
		t.Errorf("event ID record: %+v %v %v", r, ok, err)
	}
	if i, ok, err := s.EventIndex("4012345000009/urn:uuid:1"); err != nil || !ok || i != 1<<40 {
		t.Errorf("EventIndex: %d %v %v", i, ok, err)
	}
	if _, ok, err := s.EventRecordOf(HashEventID("4098765000002/urn:uuid:1")); err != nil || ok {
		t.Errorf("another party's ID: found %v, err %v", ok, err)
	}
	if _, _, err := s.EventRecordOf(bad); !errors.Is(err, errRecord) {
		t.Errorf("a 3-byte record: %v, want errRecord", err)
	}
	if f, err := s.StoredEventTableFormat(); err != nil || f != EventTableFormat {
		t.Errorf("format %d %v, want %d", f, err, EventTableFormat)
	}
}
