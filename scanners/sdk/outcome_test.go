package sdk_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/sdk"
	"github.com/pedigree-project/pedigree/scanners/sdk/sdktest"
	"github.com/pedigree-project/pedigree/services/nodetest"
	"github.com/pedigree-project/pedigree/subjects"
)

// sentWhileNodeDown starts a world, stops its node and sends one event
// from a client that publishes a message again soon when its outcome does
// not come: JetStream acknowledges it, nobody answers it yet.
func sentWhileNodeDown(ctx context.Context, t *testing.T) (*world, *sdk.Client, sdk.Receipt) {
	t.Helper()
	w := newWorld(ctx, t)
	w.stopNode()
	cfg := w.config(t.TempDir())
	cfg.OutcomeTimeout, cfg.MaxOutcomeTimeout = 100*time.Millisecond, 500*time.Millisecond
	c := w.clientWith(ctx, cfg)
	rc, err := c.Send(ctx, commission(t, c, 1))
	if err != nil || rc.Status != sdk.Published {
		t.Fatalf("send: %+v, %v", rc, err)
	}
	return w, c, rc
}

// nodeAnswers starts the node and checks that c's message rc gets its
// outcome, every event applied, and leaves the queue.
func nodeAnswers(ctx context.Context, t *testing.T, w *world, c *sdk.Client, rc sdk.Receipt) *sdk.Outcome {
	t.Helper()
	w.startNode(ctx)
	out, err := c.Outcome(ctx, rc.MsgID)
	if err != nil {
		t.Fatal(err)
	}
	applied(t, out, rc.MsgID, len(rc.EventIDs))
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestForgedOutcomeIsIgnoredAndTheMessageStaysQueued publishes notices on
// the party's result subject for a message the node has not answered yet:
// one signed by another key, one signed by the real node key but for other
// envelope bytes, and garbage. None is believed; the message stays queued
// until the real node answers.
func TestForgedOutcomeIsIgnoredAndTheMessageStaysQueued(t *testing.T) {
	ctx := testContext(t)
	w, c, rc := sentWhileNodeDown(ctx, t)
	msgs := w.partyMessages(ctx)
	if len(msgs) != 1 {
		t.Fatalf("%d messages in the stream", len(msgs))
	}
	wire := msgs[0].Data
	claim := &pb.LedgerEntry{Index: 1000, EventIds: rc.EventIDs, PartyGln: party, StreamSequence: rc.Sequence,
		Outcomes: []*pb.Outcome{{Applied: true}}}

	_, rogue := newKey(t)
	nodeKey, err := envelope.ReadKeyFile(w.nodeKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.Builder().Commission(sdk.PackOf(gtin, "OTHER", lot, expiry))
	if err != nil {
		t.Fatal(err)
	}
	otherWire, err := envelope.Seal(&pb.Envelope{PartyGln: party, Body: &pb.Envelope_Capture{Capture: &pb.Capture{Events: []*pb.ScanEvent{other}}}}, party, w.party)
	if err != nil {
		t.Fatal(err)
	}
	subject := subjects.ResultSubject(party, rc.MsgID)
	forged := [][]byte{
		sdktest.ResultNotice(t, rogue, claim, wire),        // not a trusted node key
		sdktest.ResultNotice(t, nodeKey, claim, otherWire), // the node's key, other bytes
		[]byte("not a notice"),
	}
	for _, n := range forged {
		if err := w.admin.Publish(subject, n); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(ctx, t, "the forged notices handled", func() bool { return c.Untrusted() == uint64(len(forged)) })
	if c.Pending() != 1 {
		t.Fatalf("Pending = %d after forged outcomes, want 1", c.Pending())
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if out, err := c.Outcome(done, rc.MsgID); !errors.Is(err, context.Canceled) {
		t.Fatalf("Outcome after forged notices: %+v, %v; want none yet", out, err)
	}
	if len(w.logs.matching("does not verify")) != len(forged) {
		t.Errorf("forged notices logged: %v", w.logs.matching("does not verify"))
	}

	// The real node answers.
	out := nodeAnswers(ctx, t, w, c, rc)
	if c.Untrusted() != uint64(len(forged)) || out.Entry.GetIndex() == claim.GetIndex() {
		t.Errorf("Untrusted %d, outcome at ledger index %d", c.Untrusted(), out.Entry.GetIndex())
	}
}

// TestAckedMessageLostWithItsStreamIsSentAgainAndAppliedOnce loses a
// message JetStream acknowledged, as a power loss within JetStream's sync
// interval does: the stream comes back empty, the operator rebuilds it
// from the ledger (pedigree recover), which cannot bring back what the
// ledger never applied. The client publishes the message again when its
// outcome does not come, and the ledger applies it once.
func TestAckedMessageLostWithItsStreamIsSentAgainAndAppliedOnce(t *testing.T) {
	ctx := testContext(t)
	w, c, rc := sentWhileNodeDown(ctx, t)

	// The power loss, while the scanners cannot reach the node.
	w.proxy.down()
	waitFor(ctx, t, "the client sees the uplink down", func() bool { return !c.Connected() })
	if err := w.js.DeleteStream(ctx, subjects.ScanStream); err != nil {
		t.Fatal(err)
	}
	if err := nodetest.EnsureStreams(ctx, w.js); err != nil {
		t.Fatal(err)
	}
	rep := w.recoverStream(ctx)
	if rep.Applied != rc.Sequence-1 || rep.Entries == 0 {
		t.Fatalf("recover: %+v, want the stream rebuilt up to sequence %d", rep, rc.Sequence-1)
	}
	if c.Pending() != 1 {
		t.Fatalf("Pending = %d after the loss, want 1", c.Pending())
	}

	w.proxy.up()
	waitFor(ctx, t, "the client publishes the lost message again", func() bool { return len(w.partyMessages(ctx)) == 1 })
	w.startNode(ctx)
	out, err := c.Outcome(ctx, rc.MsgID)
	if err != nil {
		t.Fatal(err)
	}
	applied(t, out, rc.MsgID, 1)
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.ledger(ctx)[rc.EventIDs[0]]; len(got) != 1 {
		t.Fatalf("the event is in %d ledger entries, want 1", len(got))
	}
	if got := w.partyMessages(ctx); len(got) != 1 {
		t.Fatalf("the stream holds %d copies, want 1", len(got))
	}
}

// TestOutcomeLostWhileOfflineIsRecoveredBySendingAgain applies a message
// while its sender is offline, so that its outcome goes to nobody. The
// sender keeps it queued and publishes it again; once JetStream's
// duplicate window has passed the copy reaches the ledger, which records
// it as a duplicate of the applied event and answers it.
func TestOutcomeLostWhileOfflineIsRecoveredBySendingAgain(t *testing.T) {
	ctx := testContext(t)
	w, c, rc := sentWhileNodeDown(ctx, t)
	id := rc.EventIDs[0]
	w.proxy.down()
	waitFor(ctx, t, "the client sees the uplink down", func() bool { return !c.Connected() })
	w.startNode(ctx)
	waitFor(ctx, t, "the node applies the message", func() bool { return len(w.ledger(ctx)[id]) == 1 })
	w.shortDuplicateWindow(ctx, time.Second)
	if c.Pending() != 1 {
		t.Fatalf("Pending = %d with the outcome lost, want 1", c.Pending())
	}

	w.proxy.up()
	out, err := c.Outcome(ctx, rc.MsgID)
	if err != nil {
		t.Fatal(err)
	}
	if o := out.Entry.GetOutcomes(); len(o) != 1 || !o[0].GetDuplicate() || out.Refused() {
		t.Fatalf("outcome of the copy: %v, want a duplicate of the applied event", out.Entry)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, e := range w.ledger(ctx)[id] {
		if e.GetOutcomes()[0].GetApplied() {
			applied++
		}
	}
	if applied != 1 {
		t.Fatalf("the event was applied %d times, want once", applied)
	}
}

// TestRefusedMessageIsAnsweredAndLeavesTheQueue: a message the node
// refuses (here: a GTIN whose check digit is wrong) is answered with a
// node-signed refusal naming the reason, leaves the queue, and is not
// sent again.
func TestRefusedMessageIsAnsweredAndLeavesTheQueue(t *testing.T) {
	ctx := testContext(t)
	w := newWorld(ctx, t)
	c := w.client(ctx, t.TempDir())
	ev := commission(t, c, 1)
	ev.GetEpcs()[0].GetPack().Gtin = "09506000134353" // check digit 3, not 2
	rc, err := c.Send(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Outcome(ctx, rc.MsgID)
	if err != nil {
		t.Fatal(err)
	}
	if out.Refusal == nil || !out.Refused() || out.Entry != nil || !strings.Contains(out.Refusal.GetReason(), "check digit") ||
		out.Refusal.GetStreamSequence() != rc.Sequence {
		t.Fatalf("outcome %+v, want a refusal naming the check digit at stream sequence %d", out, rc.Sequence)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Pending() != 0 || c.Untrusted() != 0 {
		t.Errorf("Pending %d, Untrusted %d after the refusal", c.Pending(), c.Untrusted())
	}
}
