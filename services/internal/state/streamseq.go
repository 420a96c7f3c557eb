package state

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// What the ledger committed for each stream sequence, for the check that
// the stream still holds it (services/internal/ingest, consume_check.go): a message
// the ledger recorded is in its ledger entry (the envelope bytes and the
// stream sequence), so nothing more is kept for it; a message that went to
// the dead-letter stream has no entry, and a SHA-256 of its subject and data is kept here, in
// the same batch as the applied sequence. Dead letters are rare, so this
// costs nothing per recorded event.

func deadSeqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixDeadSeq}, seq)
}

// PutDeadLetterSum records into b that the message at stream sequence seq
// was not recorded on the ledger (it went to the dead-letter stream), with
// sum a SHA-256 of its subject and data.
func PutDeadLetterSum(b *pebble.Batch, seq uint64, sum [32]byte) error {
	if err := b.Set(deadSeqKey(seq), sum[:], nil); err != nil {
		return fmt.Errorf("state: write dead letter of stream sequence %d: %w", seq, err)
	}
	return nil
}

// DeadLetterSum returns the SHA-256 recorded for the message at stream
// sequence seq that went to the dead-letter stream; ok is false when none
// is recorded (the ledger has an entry for seq, or seq was not applied, or
// it was dead-lettered before this record existed).
func (s *Store) DeadLetterSum(seq uint64) (sum [32]byte, ok bool, err error) {
	v, ok, err := get(s.db, deadSeqKey(seq))
	if err != nil || !ok {
		return sum, false, err
	}
	if len(v) != len(sum) {
		return sum, false, fmt.Errorf("%w: dead letter of stream sequence %d has %d bytes, want %d", errRecord, seq, len(v), len(sum))
	}
	copy(sum[:], v)
	return sum, true, nil
}
