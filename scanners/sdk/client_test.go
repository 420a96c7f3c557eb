package sdk_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/sdk"
	"github.com/pedigree-project/pedigree/services/natsauth"
	"github.com/pedigree-project/pedigree/services/natsbus"
)

const (
	party = "4098765000003" // a pharmacy
	gtin  = "09506000134352"
)

var quiet = slog.New(slog.DiscardHandler)

// testClock returns a clock that starts at a fixed time and ticks one
// second per reading.
func testClock() func() time.Time {
	var n atomic.Int64
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Second) }
}

// server is an embedded NATS server with the streams, and a connection to
// read them back.
type server struct {
	*natsbus.Embedded
	dir, addr string
	stream    jetstream.Stream
}

// startServer starts NATS with JetStream on dir, listening on addr
// ("127.0.0.1:0" for a free port), and ensures the streams.
func startServer(ctx context.Context, t *testing.T, dir, addr string) *server {
	t.Helper()
	_, nodeKey := newKey(t)
	authn, err := natsauth.NewEmbedded(testKeys, []ed25519.PublicKey{nodeKey.Public().(ed25519.PublicKey)}, natsauth.Limits{}, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := natsbus.StartEmbedded(ctx, natsbus.EmbeddedConfig{StoreDir: dir, Listen: addr, Auth: authn}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := natsauth.Credential(nodeKey)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := e.Connect("test", cred)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := natsbus.EnsureStreams(ctx, js, natsbus.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, natsbus.ScanStream)
	if err != nil {
		t.Fatal(err)
	}
	u := e.ClientURL()
	t.Cleanup(func() { nc.Close(); e.Shutdown() })
	return &server{Embedded: e, dir: dir, addr: u[len("nats://"):], stream: s}
}

func (s *server) url() string { return "nats://" + s.addr }

// messages returns the envelopes in the SCANS stream, in stream order.
func (s *server) messages(ctx context.Context, t *testing.T) []*jetstream.RawStreamMsg {
	t.Helper()
	info, err := s.stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// eventIDs returns the event IDs of the messages, in order, checking each
// message's subject, signature and Nats-Msg-Id on the way.
func eventIDs(t *testing.T, pub ed25519.PublicKey, msgs []*jetstream.RawStreamMsg) []string {
	t.Helper()
	var ids []string
	for _, m := range msgs {
		if m.Subject != natsbus.ScanSubject(party) {
			t.Errorf("message %d on %q, want %q", m.Sequence, m.Subject, natsbus.ScanSubject(party))
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

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := envelope.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	testKeys.add(pub)
	return pub, priv
}

func newClient(ctx context.Context, t *testing.T, url, queueDir string, key ed25519.PrivateKey) *sdk.Client {
	t.Helper()
	c, err := sdk.New(ctx, sdk.Config{
		NATSURL: url, PartyGLN: party, Key: key, QueueDir: queueDir, Logger: quiet, Now: testClock(),
		PublishTimeout: time.Second, AckTimeout: 500 * time.Millisecond,
		InitialBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, ReconnectWait: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dispense builds a dispensing event of serial number i.
func dispense(t *testing.T, c *sdk.Client, i int) *pb.ScanEvent {
	t.Helper()
	ev, err := c.Builder().Dispense(sdk.PackOf(gtin, fmt.Sprintf("S%04d", i), "LOT1", "281231"))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSendPublishesASignedEnvelope(t *testing.T) {
	ctx := testContext(t)
	srv := startServer(ctx, t, t.TempDir(), "127.0.0.1:0")
	pub, priv := newKey(t)
	c := newClient(ctx, t, srv.url(), t.TempDir(), priv)

	ev := dispense(t, c, 1)
	rc, err := c.Send(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	want, err := envelope.EventID(ev, party)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Status != sdk.Published || rc.Sequence != 1 || rc.Duplicate || rc.MsgID != envelope.ScopedEventID(party, want) || !slices.Equal(rc.EventIDs, []string{want}) {
		t.Fatalf("receipt %+v, want published as sequence 1 with event ID %s", rc, want)
	}
	msgs := srv.messages(ctx, t)
	if got := eventIDs(t, pub, msgs); !slices.Equal(got, []string{want}) {
		t.Fatalf("stream holds events %v, want [%s]", got, want)
	}
	o, _ := envelope.Open(msgs[0].Data)
	got := o.Envelope.GetCapture().GetEvents()[0]
	if got.GetBizStep() != pb.BizStep_BIZ_STEP_DISPENSING || got.GetReadPoint() != party ||
		!got.GetEventTime().AsTime().Equal(time.Date(2026, 11, 20, 9, 0, 1, 0, time.UTC)) {
		t.Errorf("event in the stream: %v", got)
	}
	if c.Pending() != 0 {
		t.Errorf("Pending = %d after a publish", c.Pending())
	}
}

func TestSameEventTwiceIsStoredOnce(t *testing.T) {
	ctx := testContext(t)
	srv := startServer(ctx, t, t.TempDir(), "127.0.0.1:0")
	pub, priv := newKey(t)
	c := newClient(ctx, t, srv.url(), t.TempDir(), priv)
	ev := dispense(t, c, 1)
	first, err := c.Send(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Send(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if again.Status != sdk.Published || !again.Duplicate || again.Sequence != first.Sequence {
		t.Fatalf("second send: %+v, want a duplicate acknowledgement of sequence %d", again, first.Sequence)
	}
	if got := eventIDs(t, pub, srv.messages(ctx, t)); len(got) != 1 {
		t.Fatalf("stream holds %d events, want 1", len(got))
	}
}

func TestBatchIsOneCaptureWithTheEnvelopeID(t *testing.T) {
	ctx := testContext(t)
	srv := startServer(ctx, t, t.TempDir(), "127.0.0.1:0")
	pub, priv := newKey(t)
	c := newClient(ctx, t, srv.url(), t.TempDir(), priv)
	evs := []*pb.ScanEvent{dispense(t, c, 1), dispense(t, c, 2), dispense(t, c, 3)}
	rc, err := c.Send(ctx, evs...)
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.messages(ctx, t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages for one capture", len(msgs))
	}
	if got := eventIDs(t, pub, msgs); !slices.Equal(got, rc.EventIDs) || len(got) != 3 {
		t.Fatalf("stream holds %v, want %v", got, rc.EventIDs)
	}
	o, _ := envelope.Open(msgs[0].Data)
	if rc.MsgID != envelope.ID(o.Signed.GetEnvelope()) {
		t.Errorf("message ID %q is not the envelope ID", rc.MsgID)
	}
	if _, err := c.Send(ctx); err == nil {
		t.Error("an empty capture was accepted")
	}
}

func TestUplinkLossQueuesAndForwardsInOrderExactlyOnce(t *testing.T) {
	ctx := testContext(t)
	storeDir := t.TempDir()
	srv := startServer(ctx, t, storeDir, "127.0.0.1:0")
	pub, priv := newKey(t)
	c := newClient(ctx, t, srv.url(), t.TempDir(), priv)

	var want []string
	rc, err := c.Send(ctx, dispense(t, c, 0))
	if err != nil || rc.Status != sdk.Published {
		t.Fatalf("send while connected: %+v, %v", rc, err)
	}
	want = append(want, rc.EventIDs...)

	srv.Shutdown()
	const n = 20
	for i := 1; i <= n; i++ {
		rc, err := c.Send(ctx, dispense(t, c, i))
		if err != nil {
			t.Fatal(err)
		}
		if rc.Status != sdk.Queued {
			t.Fatalf("event %d was %v with the server down", i, rc.Status)
		}
		want = append(want, rc.EventIDs...)
	}
	if c.Pending() != n {
		t.Fatalf("Pending = %d, want %d", c.Pending(), n)
	}

	srv = startServer(ctx, t, storeDir, srv.addr)
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rc, err = c.Send(ctx, dispense(t, c, n+1))
	if err != nil || rc.Status != sdk.Published {
		t.Fatalf("send after the queue drained: %+v, %v", rc, err)
	}
	want = append(want, rc.EventIDs...)
	if got := eventIDs(t, pub, srv.messages(ctx, t)); !slices.Equal(got, want) {
		t.Fatalf("stream holds %d events:\n%v\nwant %d in send order:\n%v", len(got), got, len(want), want)
	}
}

func TestNextClientSendsWhatAClosedOneLeftQueued(t *testing.T) {
	ctx := testContext(t)
	addr, queueDir := freeAddr(t), t.TempDir()
	pub, priv := newKey(t)

	c := newClient(ctx, t, "nats://"+addr, queueDir, priv)
	var want []string
	for i := range 5 {
		rc, err := c.Send(ctx, dispense(t, c, i))
		if err != nil || rc.Status != sdk.Queued {
			t.Fatalf("send with no server: %+v, %v", rc, err)
		}
		want = append(want, rc.EventIDs...)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, dispense(t, c, 9)); !errors.Is(err, sdk.ErrClosed) {
		t.Fatalf("send after Close: %v, want ErrClosed", err)
	}

	srv := startServer(ctx, t, t.TempDir(), addr)
	c2 := newClient(ctx, t, srv.url(), queueDir, priv)
	if c2.Pending() != 5 {
		t.Fatalf("reopened client has %d pending, want 5", c2.Pending())
	}
	if err := c2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := eventIDs(t, pub, srv.messages(ctx, t)); !slices.Equal(got, want) {
		t.Fatalf("stream holds %v, want %v", got, want)
	}
}

func TestTornQueueTailIsTruncatedAndDoesNotBlock(t *testing.T) {
	ctx := testContext(t)
	addr, queueDir := freeAddr(t), t.TempDir()
	pub, priv := newKey(t)
	c := newClient(ctx, t, "nats://"+addr, queueDir, priv)
	var want []string
	for i := range 3 {
		rc, err := c.Send(ctx, dispense(t, c, i))
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

	srv := startServer(ctx, t, t.TempDir(), addr)
	c2 := newClient(ctx, t, srv.url(), queueDir, priv)
	rc, err := c2.Send(ctx, dispense(t, c2, 3))
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, rc.EventIDs...)
	if err := c2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := eventIDs(t, pub, srv.messages(ctx, t)); !slices.Equal(got, want) {
		t.Fatalf("stream holds %v, want %v", got, want)
	}
}

func TestOneClientPerQueueDirectory(t *testing.T) {
	ctx := testContext(t)
	_, priv := newKey(t)
	dir, url := t.TempDir(), "nats://"+freeAddr(t)
	newClient(ctx, t, url, dir, priv)
	_, err := sdk.New(ctx, sdk.Config{NATSURL: url, PartyGLN: party, Key: priv, QueueDir: dir})
	if !errors.Is(err, sdk.ErrQueueLocked) {
		t.Fatalf("second client on one queue: %v, want ErrQueueLocked", err)
	}
}

func TestConfigIsValidated(t *testing.T) {
	ctx := testContext(t)
	_, priv := newKey(t)
	ok := sdk.Config{NATSURL: "nats://127.0.0.1:1", PartyGLN: party, Key: priv, QueueDir: t.TempDir()}
	for name, mutate := range map[string]func(*sdk.Config){
		"no NATS":          func(c *sdk.Config) { c.NATSURL = "" },
		"no queue":         func(c *sdk.Config) { c.QueueDir = "" },
		"no key":           func(c *sdk.Config) { c.Key = nil },
		"bad GLN":          func(c *sdk.Config) { c.PartyGLN = "4098765000004" },
		"negative backoff": func(c *sdk.Config) { c.MaxBackoff = -time.Second },
	} {
		cfg := ok
		mutate(&cfg)
		if c, err := sdk.New(ctx, cfg); err == nil {
			c.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestConcurrentSendersAcrossAnOutageLoseAndDoubleNothing(t *testing.T) {
	ctx := testContext(t)
	storeDir := t.TempDir()
	srv := startServer(ctx, t, storeDir, "127.0.0.1:0")
	pub, priv := newKey(t)
	c := newClient(ctx, t, srv.url(), t.TempDir(), priv)

	const senders, each = 4, 25
	var sent atomic.Int32
	down := make(chan struct{})
	go func() {
		defer close(down)
		for sent.Load() < senders*each/2 {
			runtime.Gosched()
		}
		srv.Shutdown() // mid-stream, with publishes in flight
	}()
	events := make([][]*pb.ScanEvent, senders)
	for g := range senders {
		for i := range each {
			events[g] = append(events[g], dispense(t, c, g*1000+i))
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
				sent.Add(1)
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
	srv = startServer(ctx, t, storeDir, srv.addr)
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := eventIDs(t, pub, srv.messages(ctx, t))
	if len(got) != senders*each {
		t.Fatalf("stream holds %d events, want %d", len(got), senders*each)
	}
	pos := make(map[string]int, len(got))
	for i, id := range got {
		if _, dup := pos[id]; dup {
			t.Fatalf("event %s stored twice", id)
		}
		pos[id] = i
	}
	for g, list := range ids {
		for i, id := range list {
			p, ok := pos[id]
			if !ok {
				t.Fatalf("sender %d's event %d is missing", g, i)
			}
			if i > 0 && p < pos[list[i-1]] {
				t.Fatalf("sender %d's events %d and %d are out of order", g, i-1, i)
			}
		}
	}
}
