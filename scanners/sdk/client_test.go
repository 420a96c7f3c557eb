package sdk_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/sdk"
	"github.com/pedigree-project/pedigree/subjects"
)

const (
	party  = "4098765000003" // a manufacturer
	gtin   = "09506000134352"
	lot    = "LOT1"
	expiry = "281231"
)

var quiet = slog.New(slog.DiscardHandler)

// testClock returns a clock that starts at a fixed time and ticks one
// second per reading.
func testClock() func() time.Time {
	var n atomic.Int64
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Second) }
}

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := envelope.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// commission builds the commissioning event of serial number i.
func commission(t *testing.T, c *sdk.Client, i int) *pb.ScanEvent {
	t.Helper()
	ev, err := c.Builder().Commission(sdk.PackOf(gtin, fmt.Sprintf("S%04d", i), lot, expiry))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// eventIDs returns the event IDs of the messages, in order, checking each
// message's subject, signature and Nats-Msg-Id on the way.
func eventIDs(t *testing.T, pub ed25519.PublicKey, msgs []*jetstream.RawStreamMsg) []string {
	t.Helper()
	var ids []string
	for _, m := range msgs {
		if m.Subject != subjects.ScanSubject(party) {
			t.Errorf("message %d on %q, want %q", m.Sequence, m.Subject, subjects.ScanSubject(party))
		}
		o, err := envelope.Open(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if !o.Verify(pub) || o.Signed.GetSigner() != party || o.Signed.GetKeyId() != envelope.KeyID(pub) {
			t.Errorf("message %d: signature does not verify with the party's key", m.Sequence)
		}
		if got, want := m.Header.Get(jetstream.MsgIDHeader), envelope.MsgID(o.Envelope, o.Signed.GetEnvelope()); got != want {
			t.Errorf("message %d: Nats-Msg-Id %q, want %q", m.Sequence, got, want)
		}
		for _, ev := range o.Envelope.GetCapture().GetEvents() {
			ids = append(ids, ev.GetEventId())
		}
	}
	return ids
}

// applied checks that out answers msgID with every event applied.
func applied(t *testing.T, out *sdk.Outcome, msgID string, events int) {
	t.Helper()
	if out.MsgID != msgID || len(out.Entry.GetOutcomes()) != events || out.Refused() {
		t.Fatalf("outcome of %s: %+v, want %d events applied", msgID, out.Entry, events)
	}
	for i, o := range out.Entry.GetOutcomes() {
		if !o.GetApplied() {
			t.Errorf("event %d: %s", i, o.GetReason())
		}
	}
}

func TestSendPublishesAndTheSignedOutcomeReleasesIt(t *testing.T) {
	ctx := testContext(t)
	w := newWorld(ctx, t)
	c := w.client(ctx, t.TempDir())

	ev := commission(t, c, 1)
	rc, err := c.Send(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	want, err := envelope.EventID(ev, party)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Status != sdk.Published || rc.Sequence == 0 || rc.Duplicate || rc.MsgID != envelope.ScopedEventID(party, want) || !slices.Equal(rc.EventIDs, []string{want}) {
		t.Fatalf("receipt %+v, want published with event ID %s", rc, want)
	}
	out, err := c.Outcome(ctx, rc.MsgID)
	if err != nil {
		t.Fatal(err)
	}
	applied(t, out, rc.MsgID, 1)
	msgs := w.partyMessages(ctx)
	if got := eventIDs(t, w.party.Public().(ed25519.PublicKey), msgs); !slices.Equal(got, []string{want}) {
		t.Fatalf("stream holds events %v, want [%s]", got, want)
	}
	if string(out.Entry.GetEnvelope()) != string(msgs[0].Data) || out.Entry.GetStreamSequence() != rc.Sequence ||
		out.Entry.GetPartyGln() != party || out.NodeKeyID != envelope.KeyID(w.node.NodeKey()) {
		t.Errorf("outcome entry: stream sequence %d (receipt %d), party %s, node key %s",
			out.Entry.GetStreamSequence(), rc.Sequence, out.Entry.GetPartyGln(), out.NodeKeyID)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Pending() != 0 || c.Untrusted() != 0 {
		t.Errorf("Pending %d, Untrusted %d after the outcome", c.Pending(), c.Untrusted())
	}
	if _, err := c.Outcome(ctx, "urn:uuid:never-sent"); !errors.Is(err, sdk.ErrUnknownMessage) {
		t.Errorf("Outcome of a message never sent: %v, want ErrUnknownMessage", err)
	}
}

func TestSameEventTwiceIsStoredOnceAndBothCopiesAnswered(t *testing.T) {
	ctx := testContext(t)
	w := newWorld(ctx, t)
	c := w.client(ctx, t.TempDir())
	ev := commission(t, c, 1)
	first, err := c.Send(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Send(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if again.Status == sdk.Published && (!again.Duplicate || again.Sequence != first.Sequence) {
		t.Fatalf("second send: %+v, want a duplicate acknowledgement of sequence %d", again, first.Sequence)
	}
	// The same bytes: the one outcome proves both copies are on the ledger.
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := eventIDs(t, w.party.Public().(ed25519.PublicKey), w.partyMessages(ctx)); len(got) != 1 {
		t.Fatalf("stream holds %d events, want 1", len(got))
	}
}

func TestBatchIsOneCaptureWithTheEnvelopeID(t *testing.T) {
	ctx := testContext(t)
	w := newWorld(ctx, t)
	c := w.client(ctx, t.TempDir())
	evs := []*pb.ScanEvent{commission(t, c, 1), commission(t, c, 2), commission(t, c, 3)}
	rc, err := c.Send(ctx, evs...)
	if err != nil {
		t.Fatal(err)
	}
	msgs := w.partyMessages(ctx)
	if len(msgs) != 1 {
		t.Fatalf("%d messages for one capture", len(msgs))
	}
	if got := eventIDs(t, w.party.Public().(ed25519.PublicKey), msgs); !slices.Equal(got, rc.EventIDs) || len(got) != 3 {
		t.Fatalf("stream holds %v, want %v", got, rc.EventIDs)
	}
	o, _ := envelope.Open(msgs[0].Data)
	if rc.MsgID != envelope.ID(o.Signed.GetEnvelope()) {
		t.Errorf("message ID %q is not the envelope ID", rc.MsgID)
	}
	out, err := c.Outcome(ctx, rc.MsgID)
	if err != nil {
		t.Fatal(err)
	}
	applied(t, out, rc.MsgID, 3)
	if _, err := c.Send(ctx); err == nil {
		t.Error("an empty capture was accepted")
	}
}

func TestUplinkLossQueuesAndForwardsInOrderExactlyOnce(t *testing.T) {
	ctx := testContext(t)
	w := newWorld(ctx, t)
	c := w.client(ctx, t.TempDir())

	var want []string
	rc, err := c.Send(ctx, commission(t, c, 0))
	if err != nil || rc.Status != sdk.Published {
		t.Fatalf("send while connected: %+v, %v", rc, err)
	}
	want = append(want, rc.EventIDs...)
	if _, err := c.Outcome(ctx, rc.MsgID); err != nil {
		t.Fatal(err)
	}

	w.proxy.down()
	waitFor(ctx, t, "the client sees the uplink down", func() bool { return !c.Connected() })
	const n = 20
	for i := 1; i <= n; i++ {
		rc, err := c.Send(ctx, commission(t, c, i))
		if err != nil {
			t.Fatal(err)
		}
		if rc.Status != sdk.Queued {
			t.Fatalf("event %d was %v with the uplink down", i, rc.Status)
		}
		want = append(want, rc.EventIDs...)
	}
	if c.Pending() != n {
		t.Fatalf("Pending = %d, want %d", c.Pending(), n)
	}

	w.proxy.up()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rc, err = c.Send(ctx, commission(t, c, n+1))
	if err != nil || rc.Status != sdk.Published {
		t.Fatalf("send after the queue drained: %+v, %v", rc, err)
	}
	want = append(want, rc.EventIDs...)
	if _, err := c.Outcome(ctx, rc.MsgID); err != nil {
		t.Fatal(err)
	}
	if got := eventIDs(t, w.party.Public().(ed25519.PublicKey), w.partyMessages(ctx)); !slices.Equal(got, want) {
		t.Fatalf("stream holds %d events:\n%v\nwant %d in send order:\n%v", len(got), got, len(want), want)
	}
	ledger := w.ledger(ctx)
	for _, id := range want {
		if got := ledger[id]; len(got) != 1 || !got[0].GetOutcomes()[0].GetApplied() {
			t.Fatalf("event %s is in %d ledger entries, want 1, applied", id, len(got))
		}
	}
}

func TestNextClientSendsWhatAClosedOneLeftQueued(t *testing.T) {
	ctx := testContext(t)
	w := newWorld(ctx, t)
	queueDir := t.TempDir()
	c := w.offlineClient(ctx, queueDir)
	var want, ids []string
	for i := range 5 {
		rc, err := c.Send(ctx, commission(t, c, i))
		if err != nil || rc.Status != sdk.Queued {
			t.Fatalf("send with no server: %+v, %v", rc, err)
		}
		want, ids = append(want, rc.MsgID), append(ids, rc.EventIDs...)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, commission(t, c, 9)); !errors.Is(err, sdk.ErrClosed) {
		t.Fatalf("send after Close: %v, want ErrClosed", err)
	}

	w.proxy.up()
	answered := make(chan string, 10)
	cfg := w.config(queueDir)
	cfg.OnOutcome = func(o *sdk.Outcome) {
		if !o.Refused() {
			answered <- o.MsgID
		}
	}
	c2, err := sdk.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2.Pending() != 5 {
		t.Fatalf("reopened client has %d pending, want 5", c2.Pending())
	}
	if err := c2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range want {
		got = append(got, <-answered)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("outcomes of %v, want %v", got, want)
	}
	if got := eventIDs(t, w.party.Public().(ed25519.PublicKey), w.partyMessages(ctx)); !slices.Equal(got, ids) {
		t.Fatalf("stream holds %v, want %v", got, ids)
	}
}

func TestTornQueueTailIsTruncatedAndDoesNotBlock(t *testing.T) {
	ctx := testContext(t)
	w := newWorld(ctx, t)
	queueDir := t.TempDir()
	c := w.offlineClient(ctx, queueDir)
	var want []string
	for i := range 3 {
		rc, err := c.Send(ctx, commission(t, c, i))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, rc.EventIDs...)
	}
	c.Close()
	// A crash in the middle of the third append leaves half a record.
	segs, _ := filepath.Glob(filepath.Join(queueDir, "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("segments: %v", segs)
	}
	info, err := os.Stat(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(segs[0], info.Size()-40); err != nil {
		t.Fatal(err)
	}
	want = want[:2]

	w.proxy.up()
	c2 := w.client(ctx, queueDir)
	rc, err := c2.Send(ctx, commission(t, c2, 3))
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, rc.EventIDs...)
	if err := c2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := eventIDs(t, w.party.Public().(ed25519.PublicKey), w.partyMessages(ctx)); !slices.Equal(got, want) {
		t.Fatalf("stream holds %v, want %v", got, want)
	}
}

func TestOneClientPerQueueDirectory(t *testing.T) {
	ctx := testContext(t)
	_, priv := newKey(t)
	keys := mustNodeKeys(t, priv.Public().(ed25519.PublicKey))
	dir, url := t.TempDir(), "nats://127.0.0.1:1"
	c, err := sdk.New(ctx, sdk.Config{NATSURL: url, PartyGLN: party, Key: priv, NodeKeys: keys, QueueDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = sdk.New(ctx, sdk.Config{NATSURL: url, PartyGLN: party, Key: priv, NodeKeys: keys, QueueDir: dir})
	if !errors.Is(err, sdk.ErrQueueLocked) {
		t.Fatalf("second client on one queue: %v, want ErrQueueLocked", err)
	}
}

func TestConfigIsValidated(t *testing.T) {
	ctx := testContext(t)
	_, priv := newKey(t)
	ok := sdk.Config{NATSURL: "nats://127.0.0.1:1", PartyGLN: party, Key: priv, QueueDir: t.TempDir(),
		NodeKeys: mustNodeKeys(t, priv.Public().(ed25519.PublicKey))}
	for name, mutate := range map[string]func(*sdk.Config){
		"no NATS":          func(c *sdk.Config) { c.NATSURL = "" },
		"no queue":         func(c *sdk.Config) { c.QueueDir = "" },
		"no key":           func(c *sdk.Config) { c.Key = nil },
		"no node key":      func(c *sdk.Config) { c.NodeKeys = nil },
		"bad GLN":          func(c *sdk.Config) { c.PartyGLN = "4098765000004" },
		"negative backoff": func(c *sdk.Config) { c.MaxBackoff = -time.Second },
		"cert without key": func(c *sdk.Config) { c.TLSCertFile = "client.pem" },
		"missing CA file":  func(c *sdk.Config) { c.TLSCAFile = filepath.Join(t.TempDir(), "none.pem") },
	} {
		cfg := ok
		mutate(&cfg)
		if c, err := sdk.New(ctx, cfg); err == nil {
			c.Close()
			t.Errorf("%s: accepted", name)
		}
	}
	c, err := sdk.New(ctx, ok)
	if err != nil {
		t.Fatalf("valid config: %v", err)
	}
	c.Close()
}

// TestConcurrentSendersAcrossAnOutageLoseAndDoubleNothing cuts the uplink
// while four goroutines send: acknowledgements and outcomes are lost on
// the way. Every event ends up applied exactly once, first copies in each
// sender's order; copies sent again after a lost outcome are recorded as
// duplicates.
func TestConcurrentSendersAcrossAnOutageLoseAndDoubleNothing(t *testing.T) {
	ctx := testContext(t)
	w := newWorld(ctx, t)
	w.shortDuplicateWindow(ctx, time.Second)
	c := w.client(ctx, t.TempDir())

	const senders, each = 4, 25
	var sent atomic.Int32
	half := make(chan struct{}) // closed when half the events are sent
	down := make(chan struct{})
	go func() {
		defer close(down)
		select {
		case <-half:
			w.proxy.down() // mid-stream, with publishes in flight
		case <-ctx.Done():
		}
	}()
	events := make([][]*pb.ScanEvent, senders)
	for g := range senders {
		for i := range each {
			events[g] = append(events[g], commission(t, c, g*1000+i))
		}
	}
	ids := make([][]string, senders)
	errs := make(chan error, senders)
	for g := range senders {
		go func() {
			for _, ev := range events[g] {
				rc, err := c.Send(ctx, ev)
				if err != nil {
					errs <- err
					return
				}
				ids[g] = append(ids[g], rc.EventIDs...)
				if sent.Add(1) == senders*each/2 {
					close(half)
				}
			}
			errs <- nil
		}()
	}
	for range senders {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	<-down
	w.proxy.up()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := eventIDs(t, w.party.Public().(ed25519.PublicKey), w.partyMessages(ctx))
	pos := make(map[string]int, len(got))
	for i, id := range got {
		if _, again := pos[id]; !again {
			pos[id] = i
		}
	}
	if len(pos) != senders*each {
		t.Fatalf("stream holds %d distinct events, want %d", len(pos), senders*each)
	}
	ledger := w.ledger(ctx)
	for g, list := range ids {
		for i, id := range list {
			if i > 0 && pos[id] < pos[list[i-1]] {
				t.Fatalf("sender %d's events %d and %d are out of order", g, i-1, i)
			}
			applied := 0
			for _, e := range ledger[id] {
				if o := e.GetOutcomes()[0]; o.GetApplied() {
					applied++
				} else if !o.GetDuplicate() {
					t.Errorf("sender %d's event %d refused: %s", g, i, o.GetReason())
				}
			}
			if applied != 1 {
				t.Fatalf("sender %d's event %d applied %d times, want once", g, i, applied)
			}
		}
	}
}
