package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/pedigree-project/pedigree/ledger"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/subjects"
)

// Stream integrity. The ledger commits, with the entries of each batch, the
// last stream sequence it applied, and it never reads a message twice: a
// stream that lost its tail (JetStream acknowledges before it syncs its
// files, every 2 minutes by default) or that was replaced would hand the
// node messages at sequences it already applied, which it would skip, or
// let other nodes replay a history the ledger does not hold. So before it
// consumes, the node compares the stream with what the ledger committed:
// every message the ledger recorded is in its entry (the envelope bytes
// and the stream sequence); a message that went to the dead-letter stream
// has its SHA-256 in the node's state (state.DeadLetterSum).

// ErrStreamBehind reports a stream whose last sequence is below what the
// ledger already applied: the stream lost acknowledged messages (a power
// loss within JetStream's fsync interval, or a stream recreated empty).
// New messages would reuse sequence numbers the ledger treats as done, so
// the node refuses to consume until the stream is restored (pedigree
// recover republishes the lost messages from the ledger).
var ErrStreamBehind = errors.New("ingest: the stream is behind the ledger")

// ErrStreamDiverged reports a stream that holds, at a sequence the ledger
// applied, a message other than the one the ledger committed there: the
// stream was replaced or rewritten. The node refuses to consume it.
var ErrStreamDiverged = errors.New("ingest: the stream diverged from the ledger")

// ErrTooFarBehind reports a ledger that needs messages the stream no
// longer holds: stream retention purged them once every node had applied
// them and a verified backup held them, and this node had not (it was
// restored from an older backup, or started with an empty ledger). The
// node must not skip them: it refuses to consume and is not ready, until
// it is restored from a newer backup.
var ErrTooFarBehind = errors.New("ingest: too far behind")

// StreamError says how the stream differs from what the ledger committed.
// It matches ErrStreamBehind (errors.Is) when the stream ends before the
// applied sequence, ErrStreamDiverged when a compared message differs, and
// ErrTooFarBehind when the stream's retention purged messages the ledger
// has not applied.
type StreamError struct {
	// Stream is the stream's name.
	Stream string
	// Applied is the last stream sequence the ledger applied.
	Applied uint64
	// First and Last are the stream's first and last sequences; First is 0
	// when the stream holds no message.
	First, Last uint64
	// Absent is true when the stream does not exist.
	Absent bool
	// Purged is true when the stream, which allows purges (stream
	// retention), starts after the next sequence the ledger needs: First
	// (when it holds no message, its next sequence) > Applied+1.
	Purged bool
	// Diverged is the first compared sequence whose message differs from
	// the ledger's, or nil.
	Diverged *Divergence
}

// Divergence is a stream sequence at which the stream does not hold what
// the ledger committed.
type Divergence struct {
	// Seq is the stream sequence.
	Seq uint64
	// Missing is true when the stream has no message at Seq.
	Missing bool
	// StreamSum is the SHA-256 of the stream's message data (for a dead
	// letter, of its subject and data: deadLetterSum).
	StreamSum [32]byte
	// LedgerSum is the SHA-256 of the message the ledger committed, in the
	// same form.
	LedgerSum [32]byte
	// OnLedger is true when ledger entry Entry recorded the message; false
	// when it went to the dead-letter stream.
	OnLedger bool
	// Entry is the ledger index of the entry that recorded it.
	Entry uint64
}

// Is makes errors.Is match ErrStreamBehind, ErrStreamDiverged and
// ErrTooFarBehind.
func (e *StreamError) Is(target error) bool {
	return (target == ErrStreamBehind && e.Last < e.Applied) || (target == ErrStreamDiverged && e.Diverged != nil) ||
		(target == ErrTooFarBehind && e.Purged)
}

// Error says what differs (SHA-256 prefixes of both sides) and what the
// operator must do.
func (e *StreamError) Error() string {
	var b strings.Builder
	if e.Purged && e.Diverged == nil {
		fmt.Fprintf(&b, "too far behind: the stream %s starts at %d, this node applied %d: stream retention dropped"+
			" the messages in between once the other nodes had applied them and a verified backup held them; this node"+
			" does not skip them and applies nothing. Restore it from a newer backup: stop it, `pedigree restore --from"+
			" BACKUP --data NEWDIR`, move DATA/nats alongside (or start it in the cluster), and start it on NEWDIR"+
			" (docs/scale-out.md)", e.Stream, e.First, e.Applied)
		return b.String()
	}
	if d := e.Diverged; d != nil {
		fmt.Fprintf(&b, "%v: stream %s ", ErrStreamDiverged, e.Stream)
		if d.Missing {
			fmt.Fprintf(&b, "has no message at sequence %d", d.Seq)
		} else {
			fmt.Fprintf(&b, "holds at sequence %d a message with SHA-256 %x", d.Seq, d.StreamSum[:8])
		}
		if d.OnLedger {
			fmt.Fprintf(&b, ", where ledger entry %d recorded one with SHA-256 %x", d.Entry, d.LedgerSum[:8])
		} else {
			fmt.Fprintf(&b, ", where the ledger had a dead letter with SHA-256 %x", d.LedgerSum[:8])
		}
		b.WriteString(": the stream was replaced or rewritten after the ledger consumed it")
		if e.Last < e.Applied {
			fmt.Fprintf(&b, ", and it ends at sequence %d, before the ledger's %d", e.Last, e.Applied)
		}
		b.WriteString(". The ledger is intact and holds every message it applied: stop the node, move the stream's" +
			" JetStream directory (DATA/nats) aside for investigation, and run `pedigree recover --data DATA` to" +
			" rebuild the stream from the ledger (docs/operations.md)")
		return b.String()
	}
	ends := fmt.Sprintf("ends at sequence %d", e.Last)
	if e.Absent {
		ends = "does not exist"
	}
	fmt.Fprintf(&b, "%v: stream %s %s and the ledger applied up to %d: the stream lost %d messages"+
		" it had acknowledged (a power loss within JetStream's sync interval, or a stream recreated). The ledger holds"+
		" them: stop the node, run `pedigree recover --data DATA` to republish them, then start the node (docs/operations.md)",
		ErrStreamBehind, e.Stream, ends, e.Applied, e.Applied-e.Last)
	return b.String()
}

// sampleRandom is how many sequences the check draws at random.
const sampleRandom = 4

// streamSamples returns the sequences the check compares, in descending
// order: anchor (the last sequence both the stream and the ledger hold:
// where consumption resumes, and where a rewritten stream is most likely
// to differ), anchor−1, anchor−2, anchor−4, … (dense where a power loss
// strikes, the unsynced tail, and sparse further back: about log₂ of the
// stream in all), 1 and the stream's first sequence (a stream recreated
// from elsewhere differs from its start; one that starts after 1 lost its
// head), and a few drawn at random so that which ones are compared cannot
// be predicted.
func streamSamples(streamFirst, anchor uint64) []uint64 {
	seqs := []uint64{anchor, 1}
	if streamFirst >= 1 && streamFirst <= anchor {
		seqs = append(seqs, streamFirst)
	}
	for d := uint64(1); d < anchor; d *= 2 {
		seqs = append(seqs, anchor-d)
	}
	for range sampleRandom {
		seqs = append(seqs, 1+rand.N(anchor))
	}
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	slices.Reverse(seqs)
	return seqs
}

// streamLedger answers what the ledger committed at a stream sequence.
type streamLedger struct {
	lg *ledger.Log
	st *state.Store
}

// committed is what the ledger committed at one stream sequence.
type committed struct {
	kind  committedKind
	entry uint64   // onLedger: the ledger index
	env   []byte   // onLedger: the envelope bytes, as the stream held them
	party string   // onLedger: the acting party
	sum   [32]byte // SHA-256 of the message data (onLedger, deadLetter)
}

type committedKind int

const (
	notRecorded  committedKind = iota // a dead letter from before the node kept their hashes
	onLedger                          // a ledger entry recorded it
	deadLettered                      // it went to the dead-letter stream
)

// at returns what the ledger committed at stream sequence seq ≤ applied.
func (sl streamLedger) at(ctx context.Context, seq uint64) (committed, error) {
	i, f, err := sl.entryFrom(ctx, seq)
	if err != nil {
		return committed{}, err
	}
	if i < sl.lg.Size() && f.seq == seq {
		return committed{kind: onLedger, entry: i, env: f.env, party: f.party, sum: sha256.Sum256(f.env)}, nil
	}
	sum, ok, err := sl.st.DeadLetterSum(seq)
	switch {
	case err != nil:
		return committed{}, err
	case ok:
		return committed{kind: deadLettered, sum: sum}, nil
	}
	return committed{kind: notRecorded}, nil
}

// entryFrom returns the index of the first ledger entry that recorded a
// stream sequence ≥ seq (the ledger's size when none did) and its fields.
// Entries record strictly increasing sequences from 1 on, so entry i
// recorded a sequence ≥ i+1: the search is over [0, seq−1].
func (sl streamLedger) entryFrom(ctx context.Context, seq uint64) (uint64, entryFields, error) {
	size := sl.lg.Size()
	lo, hi := uint64(0), min(size, max(seq, 1)-1)
	for lo < hi {
		mid := lo + (hi-lo)/2
		f, err := sl.fields(ctx, mid, false)
		if err != nil {
			return 0, entryFields{}, err
		}
		if f.seq < seq {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == size {
		return size, entryFields{}, nil
	}
	f, err := sl.fields(ctx, lo, true)
	return lo, f, err
}

// fields reads entry i's entryFields, its envelope only withEnv. The
// search reads a few dozen entries, some of them large captures: they are
// read in place, and only the envelope of the entry found is copied.
func (sl streamLedger) fields(ctx context.Context, i uint64, withEnv bool) (entryFields, error) {
	var f entryFields
	err := sl.lg.Entries(ctx, i, i+1, func(e ledger.Entry) error {
		var err error
		if f, err = parseEntryFields(e.Data); err != nil {
			return err
		}
		if withEnv {
			f.env = bytes.Clone(f.env)
		} else {
			f.env = nil
		}
		return nil
	})
	if err != nil {
		return entryFields{}, fmt.Errorf("ingest: ledger entry %d: %w", i, err)
	}
	return f, nil
}

// entryFields are the fields of a stored LedgerEntry that say what the
// stream held.
type entryFields struct {
	seq   uint64 // stream_sequence
	env   []byte // envelope
	party string // party_gln
}

// Field numbers of pedigree.v1.LedgerEntry (record.proto).
const (
	entryFieldEnvelope  protowire.Number = 2
	entryFieldPartyGLN  protowire.Number = 5
	entryFieldStreamSeq protowire.Number = 7
)

// parseEntryFields reads three fields of an encoded LedgerEntry without
// decoding the rest (captures of thousands of events are large).
func parseEntryFields(data []byte) (entryFields, error) {
	var f entryFields
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return f, fmt.Errorf("decode: %w", protowire.ParseError(n))
		}
		data = data[n:]
		switch {
		case num == entryFieldEnvelope && typ == protowire.BytesType:
			f.env, n = protowire.ConsumeBytes(data)
		case num == entryFieldPartyGLN && typ == protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(data)
			f.party = string(v)
		case num == entryFieldStreamSeq && typ == protowire.VarintType:
			f.seq, n = protowire.ConsumeVarint(data)
		default:
			n = protowire.ConsumeFieldValue(num, typ, data)
		}
		if n < 0 {
			return f, fmt.Errorf("decode field %d: %w", num, protowire.ParseError(n))
		}
		data = data[n:]
	}
	if f.seq == 0 {
		return f, errors.New("no stream sequence")
	}
	return f, nil
}

// placeholder is the message that stands, in a recovered stream, for a
// dead letter whose bytes were lost with the stream's tail (sum is its
// SHA-256, zero when not known). It is no envelope, so every node sends it
// to the dead-letter stream, as it did the message it stands for: the
// ledger is the same either way.
func placeholder(seq uint64, sum [32]byte) []byte {
	return fmt.Appendf(nil, "pedigree recover: placeholder for the dead letter at stream sequence %d (SHA-256 %x), whose bytes were lost", seq, sum)
}

// placeholderSubject is the subject placeholders are published on.
const placeholderSubject = subjects.ScanSubjectPrefix + "recovered"

// matches reports whether the stream's message at seq is what the ledger
// committed there: an entry's envelope bytes (whatever the subject, which
// authentication binds to the envelope's signer), or a dead letter's
// subject and data, or its placeholder.
func (c committed) matches(seq uint64, subject string, data []byte) bool {
	switch c.kind {
	case onLedger:
		return string(data) == string(c.env)
	case deadLettered:
		return deadLetterSum(subject, data) == c.sum ||
			(subject == placeholderSubject && string(data) == string(placeholder(seq, c.sum)))
	}
	return true // nothing to compare with
}

// deadLetterSum is the SHA-256 the node keeps of a dead letter: of its
// subject (whether a message is accepted depends on it) and its data.
func deadLetterSum(subject string, data []byte) [32]byte {
	h := sha256.New()
	h.Write(binary.AppendUvarint(nil, uint64(len(subject))))
	h.Write([]byte(subject))
	h.Write(data)
	return [32]byte(h.Sum(nil))
}

// checkStream compares the stream with what the ledger committed up to
// applied (see streamSamples for which sequences), and returns a
// *StreamError when it is behind or differs. compared is the number of
// messages compared.
func checkStream(ctx context.Context, js jetstream.JetStream, sl streamLedger, applied uint64) (compared int, err error) {
	st, err := js.Stream(ctx, subjects.ScanStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) && applied > 0 {
		return 0, &StreamError{Stream: subjects.ScanStream, Applied: applied, Absent: true}
	}
	if err != nil {
		return 0, fmt.Errorf("ingest: stream %s: %w", subjects.ScanStream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("ingest: stream %s: %w", subjects.ScanStream, err)
	}
	se := &StreamError{Stream: subjects.ScanStream, Applied: applied, Last: info.State.LastSeq}
	if info.State.Msgs > 0 {
		se.First = info.State.FirstSeq
	}
	// A stream created for retention (natsbus.Purgeable) lost its head to
	// retention, not to an accident: what it no longer holds is not
	// compared, and a ledger that needs what it dropped is too far behind.
	purgeable := natsbus.Purgeable(info.Config)
	if purgeable && info.State.FirstSeq > applied+1 {
		se.First, se.Purged = info.State.FirstSeq, true
		return 0, se
	}
	if applied == 0 {
		return 0, nil
	}
	if anchor := min(se.Last, applied); anchor > 0 {
		for _, seq := range streamSamples(se.First, anchor) {
			if purgeable && seq < info.State.FirstSeq {
				continue
			}
			c, err := sl.at(ctx, seq)
			if err != nil {
				return compared, err
			}
			if c.kind == notRecorded {
				continue
			}
			m, err := st.GetMsg(ctx, seq)
			if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
				return compared, fmt.Errorf("ingest: stream %s: message %d: %w", subjects.ScanStream, seq, err)
			}
			if m == nil && purgeable && purgedSince(ctx, st, seq) {
				continue // retention purged it since the stream's first sequence was read
			}
			compared++
			if m != nil && c.matches(seq, m.Subject, m.Data) {
				continue
			}
			d := &Divergence{Seq: seq, Missing: m == nil, LedgerSum: c.sum, OnLedger: c.kind == onLedger, Entry: c.entry}
			if m != nil {
				d.StreamSum = sha256.Sum256(m.Data)
				if !d.OnLedger {
					d.StreamSum = deadLetterSum(m.Subject, m.Data)
				}
			}
			se.Diverged = d
			break
		}
	}
	if se.Diverged != nil || se.Last < applied {
		return compared, se
	}
	return compared, nil
}

// purgedSince reports whether the stream now starts after seq: retention
// purged it while the check ran.
func purgedSince(ctx context.Context, st jetstream.Stream, seq uint64) bool {
	info, err := st.Info(ctx)
	return err == nil && info.State.FirstSeq > seq
}

// putDeadLetterSums records into b each dead letter's deadLetterSum, with
// its stream sequence: the ledger has no entry for them.
func putDeadLetterSums(b *pebble.Batch, dead []deadLetter) error {
	for _, d := range dead {
		if err := state.PutDeadLetterSum(b, d.it.seq, deadLetterSum(d.it.subject, d.it.data)); err != nil {
			return err
		}
	}
	return nil
}
