package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/subjects"
)

// RecoverConfig is what Recover works on: a stopped node's ledger and
// state, and a JetStream that nothing else publishes to.
type RecoverConfig struct {
	JS     jetstream.JetStream
	Store  *state.Store
	Ledger *ledger.Log
	Logger *slog.Logger
}

// RecoverReport says what Recover found and did.
type RecoverReport struct {
	// Applied is the last stream sequence the ledger applied.
	Applied uint64
	// StreamLast is where the stream ended before Recover.
	StreamLast uint64
	// Compared is the number of messages compared with the ledger first.
	Compared int
	// Entries is the number of messages republished from ledger entries.
	Entries int
	// DeadLetters is the number of dead letters republished as the
	// dead-letter stream kept them.
	DeadLetters int
	// Placeholders is the number of dead letters whose bytes were lost,
	// republished as placeholders (no node applies either).
	Placeholders int
}

// Republished is the number of messages Recover put back on the stream.
func (r RecoverReport) Republished() int { return r.Entries + r.DeadLetters + r.Placeholders }

// Recover brings back a stream that lost its tail (a power loss within
// JetStream's sync interval, a stream recreated empty): the ledger holds
// the exact bytes of every message it recorded, so Recover republishes
// the stream's missing sequences, last+1 to the applied sequence, in
// order, each with its original Nats-Msg-Id (envelope.MsgID) and on its
// party's subject, and checks that each lands at its sequence. A message
// that went to the dead-letter stream is republished as that stream kept
// it when its SHA-256 is the one the node recorded, and as a placeholder
// otherwise (no node applies either, so the ledger is the same).
//
// Recover first compares the stream with the ledger as the node does
// before it consumes, and refuses (ErrStreamDiverged) a stream that holds
// other messages than the ledger's: republishing cannot fix it. A stream
// that is not behind is left as it is. Messages JetStream acknowledged but
// the ledger never applied are lost from both; their senders must send
// them again (the same event ID is applied once).
func Recover(ctx context.Context, cfg RecoverConfig) (RecoverReport, error) {
	if cfg.JS == nil || cfg.Store == nil || cfg.Ledger == nil || cfg.Logger == nil {
		return RecoverReport{}, errors.New("ingest: recover: JS, Store, Ledger and Logger are required")
	}
	applied, err := cfg.Store.AppliedSeq()
	if err != nil {
		return RecoverReport{}, err
	}
	rep := RecoverReport{Applied: applied}
	sl := streamLedger{lg: cfg.Ledger, st: cfg.Store}
	rep.Compared, err = checkStream(ctx, cfg.JS, sl, applied)
	var se *StreamError
	switch {
	case err == nil:
		st, err := cfg.JS.Stream(ctx, subjects.ScanStream)
		if err != nil {
			return rep, fmt.Errorf("ingest: recover: stream %s: %w", subjects.ScanStream, err)
		}
		rep.StreamLast = st.CachedInfo().State.LastSeq
		return rep, nil
	case !errors.As(err, &se):
		return rep, fmt.Errorf("ingest: recover: %w", err)
	case se.Diverged != nil:
		return rep, fmt.Errorf("ingest: recover: refusing to republish into a stream that holds other messages than the ledger: %w", err)
	case se.Absent:
		return rep, fmt.Errorf("ingest: recover: stream %s does not exist: create it first (natsbus.EnsureStreams)", subjects.ScanStream)
	}
	rep.StreamLast = se.Last
	r := &recoverer{cfg: cfg, sl: sl, rep: &rep}
	if r.dead, err = deadLetterOriginals(ctx, cfg.JS, se.Last+1, applied); err != nil {
		return rep, err
	}
	cfg.Logger.Info("republishing what the stream lost from the ledger", "from", se.Last+1, "to", applied)
	if err := r.republish(ctx, se.Last+1, applied); err != nil {
		return rep, err
	}
	return rep, nil
}

type recoverer struct {
	cfg  RecoverConfig
	sl   streamLedger
	rep  *RecoverReport
	dead map[uint64]*jetstream.RawStreamMsg // dead letters the dead-letter stream kept, by stream sequence
}

// republish puts stream sequences from..to back, from the ledger entries
// that recorded them and, in between, the dead letters.
func (r *recoverer) republish(ctx context.Context, from, to uint64) error {
	first, _, err := r.sl.entryFrom(ctx, from)
	if err != nil {
		return err
	}
	next := from
	err = r.cfg.Ledger.Entries(ctx, first, r.cfg.Ledger.Size(), func(e ledger.Entry) error {
		f, err := parseEntryFields(e.Data)
		if err != nil {
			return fmt.Errorf("ingest: recover: ledger entry %d: %w", e.Index, err)
		}
		if f.seq < next || f.seq > to {
			return fmt.Errorf("ingest: recover: ledger entry %d recorded stream sequence %d, expected one in %d..%d", e.Index, f.seq, next, to)
		}
		for ; next < f.seq; next++ {
			if err := r.republishDeadLetter(ctx, next); err != nil {
				return err
			}
		}
		op, err := envelope.Open(f.env)
		if err != nil {
			return fmt.Errorf("ingest: recover: ledger entry %d: %w", e.Index, err)
		}
		msgID := envelope.MsgID(op.Envelope, op.Signed.GetEnvelope())
		if err := r.publish(ctx, next, subjects.ScanSubject(f.party), msgID, f.env); err != nil {
			return err
		}
		r.rep.Entries++
		next++
		return nil
	})
	if err != nil {
		return err
	}
	for ; next <= to; next++ {
		if err := r.republishDeadLetter(ctx, next); err != nil {
			return err
		}
	}
	return nil
}

func (r *recoverer) republishDeadLetter(ctx context.Context, seq uint64) error {
	sum, known, err := r.sl.st.DeadLetterSum(seq)
	if err != nil {
		return err
	}
	if m := r.dead[seq]; known && m != nil && deadLetterSum(m.Header.Get(HeaderSubject), m.Data) == sum {
		if err := r.publish(ctx, seq, m.Header.Get(HeaderSubject), "", m.Data); err != nil {
			return err
		}
		r.rep.DeadLetters++
		return nil
	}
	if err := r.publish(ctx, seq, placeholderSubject, "", placeholder(seq, sum)); err != nil {
		return err
	}
	r.rep.Placeholders++
	return nil
}

// publish puts data at stream sequence seq, which must be the next one.
func (r *recoverer) publish(ctx context.Context, seq uint64, subject, msgID string, data []byte) error {
	m := nats.NewMsg(subject)
	m.Data = data
	if msgID != "" {
		m.Header.Set(jetstream.MsgIDHeader, msgID)
	}
	ack, err := r.cfg.JS.PublishMsg(ctx, m, jetstream.WithExpectStream(subjects.ScanStream), jetstream.WithExpectLastSequence(seq-1))
	switch {
	case err != nil:
		return fmt.Errorf("ingest: recover: republish stream sequence %d: %w", seq, err)
	case ack.Duplicate:
		return fmt.Errorf("ingest: recover: republish stream sequence %d: the stream already holds message ID %q at sequence %d"+
			" (within its duplicate window): the stream holds messages the ledger does not; see docs/operations.md", seq, msgID, ack.Sequence)
	case ack.Sequence != seq:
		return fmt.Errorf("ingest: recover: republished stream sequence %d landed at %d", seq, ack.Sequence)
	}
	if n := r.rep.Republished() + 1; n%10000 == 0 {
		r.cfg.Logger.Info("republished", "messages", n, "seq", seq)
	}
	return nil
}

// deadLetterOriginals reads the dead letters of stream sequences from..to
// that the dead-letter stream kept, newest first, until one older than
// from (dead letters are stored in stream order, except for those a
// crashed batch stored twice: one it misses becomes a placeholder).
func deadLetterOriginals(ctx context.Context, js jetstream.JetStream, from, to uint64) (map[uint64]*jetstream.RawStreamMsg, error) {
	out := map[uint64]*jetstream.RawStreamMsg{}
	st, err := js.Stream(ctx, subjects.DeadLetterStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: recover: stream %s: %w", subjects.DeadLetterStream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("ingest: recover: stream %s: %w", subjects.DeadLetterStream, err)
	}
	if info.State.Msgs == 0 {
		return out, nil
	}
	for s := info.State.LastSeq; s >= info.State.FirstSeq && s > 0; s-- {
		m, err := st.GetMsg(ctx, s)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ingest: recover: stream %s: message %d: %w", subjects.DeadLetterStream, s, err)
		}
		seq, err := strconv.ParseUint(m.Header.Get(HeaderStreamSeq), 10, 64)
		if err != nil {
			continue
		}
		if seq < from {
			break
		}
		if _, ok := out[seq]; !ok && seq <= to && strings.HasPrefix(m.Header.Get(HeaderSubject), subjects.ScanSubjectPrefix) {
			out[seq] = m
		}
	}
	return out, nil
}
