package state

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// EPCIS capture jobs (table 0x2E) are kept by the node that took the
// capture, under the capturing party, so that a party reads and lists only
// its own; the running ones are marked, so that a node that restarts
// finishes them. They are not derived from the ledger: a store rebuilt
// from the ledger has none.

// Sub-tables of 0x2E.
const (
	captureJobRecord  byte = 'j'
	captureJobRunning byte = 'r'
)

// CaptureIDLen is the length of a capture ID in bytes (twice that in hex).
const CaptureIDLen = 16

// NewCaptureID returns a new capture ID, in hex: the time t (Unix ns) and
// 8 random bytes, so that a party's jobs sort by creation.
func NewCaptureID(t time.Time) (string, error) {
	var id [CaptureIDLen]byte
	binary.BigEndian.PutUint64(id[:8], uint64(t.UnixNano()))
	if _, err := rand.Read(id[8:]); err != nil {
		return "", fmt.Errorf("state: capture ID: %w", err)
	}
	return hex.EncodeToString(id[:]), nil
}

// parseCaptureID reads a capture ID; ok is false when s is not one.
func parseCaptureID(s string) (id [CaptureIDLen]byte, ok bool) {
	if len(s) != 2*CaptureIDLen {
		return id, false
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, false
	}
	return id, true
}

func captureJobKey(sub byte, gln string, id [CaptureIDLen]byte) []byte {
	k := make([]byte, 0, 2+len(gln)+CaptureIDLen)
	k = append(k, prefixCapJob, sub)
	k = append(k, gln...)
	return append(k, id[:]...)
}

// PutCaptureJob stores j durably (fsync): the job, and its running mark
// while it has no finish time.
func (s *Store) PutCaptureJob(j *pb.EpcisCaptureJob) error {
	id, ok := parseCaptureID(j.GetCaptureId())
	if !ok || len(j.GetPartyGln()) != 13 {
		return fmt.Errorf("state: capture job %q of %q: malformed ID or party", j.GetCaptureId(), j.GetPartyGln())
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := setProto(b, captureJobKey(captureJobRecord, j.GetPartyGln(), id), j); err != nil {
		return err
	}
	mark := captureJobKey(captureJobRunning, j.GetPartyGln(), id)
	var err error
	if j.GetFinishedAt() == nil {
		err = b.Set(mark, nil, nil)
	} else {
		err = b.Delete(mark, nil)
	}
	if err != nil {
		return fmt.Errorf("state: capture job: %w", err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("state: capture job: %w", err)
	}
	return nil
}

// CaptureJob returns party gln's capture job id, or an error wrapping
// ErrNotFound (also when id is not a capture ID, or the job is another
// party's).
func (s *Store) CaptureJob(gln, id string) (*pb.EpcisCaptureJob, error) {
	raw, ok := parseCaptureID(id)
	if !ok || len(gln) != 13 {
		return nil, fmt.Errorf("capture job %q: %w", id, ErrNotFound)
	}
	j := &pb.EpcisCaptureJob{}
	if err := getProto(s.db, captureJobKey(captureJobRecord, gln, raw), j, "capture job "+id); err != nil {
		return nil, err
	}
	return j, nil
}

// CaptureJobs returns up to limit of party gln's capture jobs, newest
// first, starting after the job before (empty: from the newest).
func (s *Store) CaptureJobs(gln, before string, limit int) ([]*pb.EpcisCaptureJob, error) {
	lower := captureJobKey(captureJobRecord, gln, [CaptureIDLen]byte{})
	lower = lower[:len(lower)-CaptureIDLen]
	upper := prefixEnd(lower)
	if before != "" {
		raw, ok := parseCaptureID(before)
		if !ok {
			return nil, fmt.Errorf("capture job %q: %w", before, ErrNotFound)
		}
		upper = captureJobKey(captureJobRecord, gln, raw)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("state: scan capture jobs: %w", err)
	}
	var out []*pb.EpcisCaptureJob
	for ok := it.Last(); ok && len(out) < limit; ok = it.Prev() {
		j := &pb.EpcisCaptureJob{}
		if err := proto.Unmarshal(it.Value(), j); err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("state: decode capture job: %w", err)
		}
		out = append(out, j)
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("state: scan capture jobs: %w", err)
	}
	return out, nil
}

// RunningCaptureJobs calls fn with every capture job not yet finished, of
// every party, oldest first per party.
func (s *Store) RunningCaptureJobs(fn func(*pb.EpcisCaptureJob) error) error {
	lower := []byte{prefixCapJob, captureJobRunning}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return fmt.Errorf("state: scan running capture jobs: %w", err)
	}
	var keys [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		k := append([]byte(nil), it.Key()...)
		k[1] = captureJobRecord
		keys = append(keys, k)
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("state: scan running capture jobs: %w", err)
	}
	for _, k := range keys {
		j := &pb.EpcisCaptureJob{}
		if err := getProto(s.db, k, j, "running capture job"); err != nil {
			if errors.Is(err, ErrNotFound) {
				continue
			}
			return err
		}
		if err := fn(j); err != nil {
			return err
		}
	}
	return nil
}

// DeleteCaptureJobsBefore deletes the finished capture jobs, of every
// party, created before cutoff (their capture IDs carry the creation
// time), at most limit of them, and returns how many it deleted. A job
// still running is kept whatever its age. The receipts a party was given
// stay verifiable: they prove ledger entries, which nothing deletes.
func (s *Store) DeleteCaptureJobsBefore(cutoff time.Time, limit int) (int, error) {
	lower := []byte{prefixCapJob, captureJobRecord}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return 0, fmt.Errorf("state: scan capture jobs: %w", err)
	}
	b := s.db.NewBatch()
	defer b.Close()
	n := 0
	for ok := it.First(); ok && n < limit; ok = it.Next() {
		k := it.Key()
		if len(k) < 2+CaptureIDLen {
			continue
		}
		id := k[len(k)-CaptureIDLen:]
		if created := int64(binary.BigEndian.Uint64(id[:8])); created >= cutoff.UnixNano() {
			continue
		}
		mark := append([]byte(nil), k...)
		mark[1] = captureJobRunning
		if _, closer, err := s.db.Get(mark); err == nil {
			_ = closer.Close()
			continue
		} else if !errors.Is(err, pebble.ErrNotFound) {
			_ = it.Close()
			return 0, fmt.Errorf("state: capture job running mark: %w", err)
		}
		if err := b.Delete(k, nil); err != nil {
			_ = it.Close()
			return 0, fmt.Errorf("state: delete capture job: %w", err)
		}
		n++
	}
	if err := it.Close(); err != nil {
		return 0, fmt.Errorf("state: scan capture jobs: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, fmt.Errorf("state: delete capture jobs: %w", err)
	}
	return n, nil
}
