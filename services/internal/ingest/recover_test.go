package ingest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/subjects"
)

// TestRecoverRepublishesWhatTheStreamLost plays a power loss that cost
// both streams their unsynced tails: the node refuses the stream, Recover
// puts back every lost message (entries from the ledger, a dead letter as
// the dead-letter stream kept it, one whose copy was lost as a
// placeholder), and the node consumes again with its ledger unchanged.
func TestRecoverRepublishesWhatTheStreamLost(t *testing.T) {
	w := newWorld(t)
	w.market()
	w.commission("R1", "R2")
	keep := w.n.p.Applied()
	w.deadLetter(pharmGLN, "a dead letter the dead-letter stream keeps")
	w.step(pharmGLN, pb.BizStep_BIZ_STEP_INSPECTING, pack("R1"))
	lostDead := w.deadLetter(wsGLN, "a dead letter both streams lose")
	w.step(pharmGLN, pb.BizStep_BIZ_STEP_INSPECTING, pack("R2"))
	applied := w.n.p.Applied()
	size, root := w.n.log.Head()
	w.stopNode()
	msgs := w.streamMessages(subjects.ScanStream)
	dead := w.streamMessages(subjects.DeadLetterStream)
	w.recreateStream(subjects.ScanStream, msgs[:keep])
	w.recreateStream(subjects.DeadLetterStream, dead[:len(dead)-1])

	if err := w.ended(w.restart()); !errors.Is(err, ErrStreamBehind) {
		t.Fatalf("Run after the loss: %v, want ErrStreamBehind", err)
	}
	store, lg := openDir(t, w.n.dir)
	ctx := testCtx(t)
	rep, err := Recover(ctx, RecoverConfig{JS: w.js, Store: store, Ledger: lg, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	want := RecoverReport{Applied: applied, StreamLast: keep, Compared: rep.Compared, Entries: int(applied-keep) - 2, DeadLetters: 1, Placeholders: 1}
	if rep != want || rep.Compared == 0 {
		t.Fatalf("Recover: %+v, want %+v with messages compared", rep, want)
	}
	again, err := Recover(ctx, RecoverConfig{JS: w.js, Store: store, Ledger: lg, Logger: quiet})
	if err != nil || again.Republished() != 0 || again.StreamLast != applied {
		t.Fatalf("Recover again: %+v, %v; want nothing to do", again, err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	got := w.streamMessages(subjects.ScanStream)
	if uint64(len(got)) != applied {
		t.Fatalf("the stream holds %d messages, want %d", len(got), applied)
	}
	for i, m := range got {
		seq := uint64(i + 1)
		if seq == lostDead {
			if m.Subject != placeholderSubject || !strings.HasPrefix(string(m.Data), "pedigree recover: placeholder") {
				t.Errorf("sequence %d: %s %q, want a placeholder", seq, m.Subject, m.Data)
			}
			continue
		}
		o := msgs[i]
		if m.Subject != o.Subject || !bytes.Equal(m.Data, o.Data) || m.Header.Get(jetstream.MsgIDHeader) != o.Header.Get(jetstream.MsgIDHeader) {
			t.Errorf("sequence %d: %s %q (ID %q), want %s %q (ID %q)", seq, m.Subject, m.Data, m.Header.Get(jetstream.MsgIDHeader),
				o.Subject, o.Data, o.Header.Get(jetstream.MsgIDHeader))
		}
	}

	w.n = w.restart()
	if got := w.n.p.Applied(); got != applied {
		t.Fatalf("restarted at %d, want %d", got, applied)
	}
	if s, r := w.n.log.Head(); s != size || r != root {
		t.Fatalf("ledger head after recover: %d %x, want %d %x", s, r, size, root)
	}
	if o := w.step(pharmGLN, pb.BizStep_BIZ_STEP_DISPENSING, pack("R2")); !o.GetApplied() {
		t.Fatalf("a write after recover: %s", o.GetReason())
	}
}

func TestRecoverRefusesADivergedStream(t *testing.T) {
	w, applied, _ := streamWorld(t)
	junk := []jetstream.RawStreamMsg{{Subject: subjects.ScanSubject(pharmGLN), Data: []byte("junk 1")}, {Subject: subjects.ScanSubject(pharmGLN), Data: []byte("junk 2")}}
	w.recreateStream(subjects.ScanStream, junk)
	store, lg := openDir(t, w.n.dir)
	_, err := Recover(testCtx(t), RecoverConfig{JS: w.js, Store: store, Ledger: lg, Logger: quiet})
	if !errors.Is(err, ErrStreamDiverged) || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("Recover of a stream with other messages (applied %d): %v, want ErrStreamDiverged", applied, err)
	}
	if got := w.streamMessages(subjects.ScanStream); len(got) != len(junk) {
		t.Fatalf("Recover changed the stream: %d messages, want %d", len(got), len(junk))
	}
}

// TestPowerLossWindowRecoverAndRetry shows the window a power loss opens
// and how it closes. JetStream acknowledges a write before it syncs it to
// disk; a power loss within its sync interval loses what it acknowledged
// since: writes the ledger committed (it syncs every batch), and a write
// it had not consumed yet. The node refuses the shorter stream
// (ErrStreamBehind), recover republishes from the ledger what it
// committed, and the lost write exists only with its sender: the sender's
// retry, with the same message ID and event ID, is applied once, and so
// is the retry of a write whose outcome its sender never saw.
func TestPowerLossWindowRecoverAndRetry(t *testing.T) {
	w := newWorld(t)
	w.market()
	w.commission("W1", "W2", "W3")
	keep := w.n.p.Applied() // JetStream synced everything up to here

	// A write the ledger commits after JetStream's last sync: its sender
	// (say it crashed before the outcome came) still holds it.
	committedWire, committedID := w.sealed(pharmGLN, capture(w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack("W2"))))
	w.publish(subjects.ScanSubject(pharmGLN), committedID, committedWire)
	w.step(pharmGLN, pb.BizStep_BIZ_STEP_INSPECTING, pack("W1"))
	applied := w.n.p.Applied()

	// The node stops before it consumes the next write; JetStream
	// acknowledges it.
	w.stopNode()
	ctx := testCtx(t)
	lostWire, lostID := w.sealed(pharmGLN, capture(w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack("W3"))))
	ack := w.publishNoWait(lostWire, lostID)
	if ack.Sequence != applied+1 || ack.Duplicate {
		t.Fatalf("JetStream acknowledged the write at %d (duplicate %v), want %d", ack.Sequence, ack.Duplicate, applied+1)
	}

	// The power loss: the stream keeps what it had synced.
	w.recreateStream(subjects.ScanStream, w.streamMessages(subjects.ScanStream)[:keep])
	if err := w.ended(w.restart()); !errors.Is(err, ErrStreamBehind) {
		t.Fatalf("Run after the loss: %v, want ErrStreamBehind", err)
	}
	store, lg := openDir(t, w.n.dir)
	rep, err := Recover(ctx, RecoverConfig{JS: w.js, Store: store, Ledger: lg, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entries != int(applied-keep) || rep.Republished() != rep.Entries {
		t.Fatalf("Recover: %+v, want the %d committed entries back", rep, applied-keep)
	}
	if index, ok, err := store.EventIndex(lostID); err != nil || ok {
		t.Fatalf("the lost write: on the ledger at %d: %v, %v", index, ok, err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	w.n = w.restart()
	size := w.n.log.Size()

	// The sender of the lost write sends it again: it lands where it was
	// acknowledged and is applied.
	if seq := w.publish(subjects.ScanSubject(pharmGLN), lostID, lostWire); seq != applied+1 {
		t.Fatalf("the retry landed at %d, want %d", seq, applied+1)
	}
	e := w.entryOf(w.n, lostID)
	if e == nil || !e.GetOutcomes()[0].GetApplied() {
		t.Fatalf("the retried write: %v, want applied", e)
	}
	// Once more (its sender missed the outcome again): JetStream drops it.
	if ack := w.publishNoWait(lostWire, lostID); !ack.Duplicate {
		t.Errorf("a second retry was stored at %d", ack.Sequence)
	}
	// The sender of the committed write retries it: JetStream knows its
	// message ID again (recover republished it)...
	if ack := w.publishNoWait(committedWire, committedID); !ack.Duplicate {
		t.Errorf("the retry of a committed write was stored at %d", ack.Sequence)
	}
	// ...and past JetStream's duplicate window (here: another message
	// ID), the ledger records it as a duplicate of its event.
	seq := w.publish(subjects.ScanSubject(pharmGLN), committedID+"-later", committedWire)
	if got := w.n.log.Size(); got != size+2 {
		t.Fatalf("ledger grew by %d entries, want 2 (the lost write, the late retry)", got-size)
	}
	late, err := w.n.log.Entry(ctx, size+1)
	if err != nil {
		t.Fatal(err)
	}
	entry := &pb.LedgerEntry{}
	if err := proto.Unmarshal(late.Data, entry); err != nil {
		t.Fatal(err)
	}
	if entry.GetStreamSequence() != seq || !entry.GetOutcomes()[0].GetDuplicate() || entry.GetOutcomes()[0].GetApplied() {
		t.Fatalf("the late retry: %v, want a duplicate that changed nothing", entry.GetOutcomes())
	}
}

// sealed signs env as party gln and returns its bytes and message ID.
func (w *world) sealed(gln string, env *pb.Envelope) ([]byte, string) {
	w.t.Helper()
	env.PartyGln = gln
	wire, err := envelope.Seal(env, gln, w.keys[gln])
	if err != nil {
		w.t.Fatal(err)
	}
	body, err := envelope.Marshal(env)
	if err != nil {
		w.t.Fatal(err)
	}
	return wire, envelope.MsgID(env, body)
}

// publishNoWait publishes a pharmacy's write and returns JetStream's
// acknowledgement, without waiting for the ledger.
func (w *world) publishNoWait(wire []byte, msgID string) *jetstream.PubAck {
	w.t.Helper()
	m := nats.NewMsg(subjects.ScanSubject(pharmGLN))
	m.Data = wire
	m.Header.Set(jetstream.MsgIDHeader, msgID)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ack, err := w.js.PublishMsg(ctx, m)
	if err != nil {
		w.t.Fatal(err)
	}
	return ack
}
