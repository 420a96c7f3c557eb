package ingest

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/natsauth"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/subjects"
)

// The test world: a real embedded NATS server with JetStream, real Pebble
// and a ledger on temporary directories, and a pipeline consuming the
// stream. Parties sign their own envelopes, as scanners publishing straight
// to NATS do.

const (
	adminGLN = "9520000000004"
	mfrGLN   = "4000001000005"
	mfr2GLN  = "4000002000004"
	wsGLN    = "4000003000003"
	ws2GLN   = "4000004000002"
	pharmGLN = "4000005000001"
	pharm2   = "4000006000000"
	regGLN   = "4000007000009"
	gtinA    = "09506000134352"
	gtinB    = "09506000134369"
	lotA     = "LOT42"
	expA     = "281231"
)

type node struct {
	dir    string
	store  *state.Store
	log    *ledger.Log
	p      *Pipeline
	cancel context.CancelFunc
	done   chan error
}

type world struct {
	t       testing.TB
	nats    *natsbus.Embedded
	nc      *nats.Conn
	js      jetstream.JetStream
	n       *node
	nodeKey ed25519.PrivateKey
	natsKey ed25519.PrivateKey // the node's NATS credential
	keys    map[string]ed25519.PrivateKey
	clock   time.Time
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newWorld(t testing.TB) *world { return newWorldWith(t, natsbus.EmbeddedConfig{}) }

// newWorldWith starts the world's NATS server with cfg (its store
// directory and address are the world's).
func newWorldWith(t testing.TB, cfg natsbus.EmbeddedConfig) *world {
	t.Helper()
	w := newBareWorld(t, cfg)
	w.n = w.startNode("ledger-a", t.TempDir())
	w.genesis()
	return w
}

// newBareWorld starts the world's NATS server with cfg and its streams, but
// no node, and publishes nothing.
func newBareWorld(t testing.TB, cfg natsbus.EmbeddedConfig) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg.StoreDir, cfg.Listen = filepath.Join(t.TempDir(), "nats"), "127.0.0.1:0"
	_, natsKey, _ := envelope.GenerateKey()
	var err error
	if cfg.Auth, err = natsauth.NewEmbedded(nil, []ed25519.PublicKey{natsKey.Public().(ed25519.PublicKey)}, natsauth.Limits{}, quiet, nil); err != nil {
		t.Fatal(err)
	}
	emb, err := natsbus.StartEmbedded(ctx, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	cred, err := natsauth.Credential(natsKey)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := emb.Connect("test", cred)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := natsbus.EnsureStreams(ctx, js, natsbus.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	_, nodeKey, _ := envelope.GenerateKey()
	w := &world{t: t, nats: emb, nc: nc, js: js, nodeKey: nodeKey, natsKey: natsKey, keys: map[string]ed25519.PrivateKey{},
		clock: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	return w
}

func (w *world) startNode(consumer, dir string) *node { return w.startNodeWith(consumer, dir, 0) }

// startNodeWith starts a node consuming at most batchSize messages per
// batch (0: the default).
func (w *world) startNodeWith(consumer, dir string, batchSize int) *node {
	w.t.Helper()
	return w.startNodeConfigured(consumer, dir, batchSize, nil)
}

// startNodeTrusting starts a node that accepts a genesis signed by
// genesisKey only.
func (w *world) startNodeTrusting(consumer, dir string, batchSize int, genesisKey ed25519.PublicKey) *node {
	return w.startNode3(consumer, dir, batchSize, genesisKey, nil)
}

// startNodeConfigured is startNodeWith, with configure (when not nil)
// called on the pipeline before it runs.
func (w *world) startNodeConfigured(consumer, dir string, batchSize int, configure func(*Pipeline)) *node {
	return w.startNode3(consumer, dir, batchSize, w.nodeKey.Public().(ed25519.PublicKey), configure)
}

// startNode3 starts a node trusting genesisKey, configured by configure.
func (w *world) startNode3(consumer, dir string, batchSize int, genesisKey ed25519.PublicKey, configure func(*Pipeline)) *node {
	w.t.Helper()
	opts := ledger.PebbleOptions()
	opts.Logger = quietPebble{}
	store, err := state.Open(filepath.Join(dir, "pebble"), opts)
	if err != nil {
		w.t.Fatal(err)
	}
	l, err := ledger.Open(store.DB(), ledger.Options{Origin: "test/ledger"})
	if err != nil {
		w.t.Fatal(err)
	}
	p, err := New(Config{JS: w.js, NC: w.nc, Store: store, Ledger: l, Logger: quiet, NodeKey: w.nodeKey, Consumer: consumer, BatchSize: batchSize,
		GenesisKey: genesisKey})
	if err != nil {
		w.t.Fatal(err)
	}
	if configure != nil {
		configure(p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{dir: dir, store: store, log: l, p: p, cancel: cancel, done: make(chan error, 1)}
	go func() { n.done <- p.Run(ctx) }()
	w.t.Cleanup(func() { n.stop(w.t) })
	return n
}

func (n *node) stop(t testing.TB) {
	if n.cancel == nil {
		return
	}
	n.cancel()
	if err := <-n.done; err != nil {
		t.Errorf("pipeline: %v", err)
	}
	n.cancel = nil
	if err := n.store.Close(); err != nil {
		t.Errorf("close store: %v", err)
	}
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// publish sends raw bytes on a subject with a message ID and waits until
// the pipeline has consumed it.
func (w *world) publish(subject, msgID string, data []byte) uint64 {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m := nats.NewMsg(subject)
	m.Data = data
	if msgID != "" {
		m.Header.Set(jetstream.MsgIDHeader, msgID)
	}
	ack, err := w.js.PublishMsg(ctx, m)
	if err != nil {
		w.t.Fatalf("publish: %v", err)
	}
	if err := w.n.p.WaitApplied(ctx, ack.Sequence); err != nil {
		w.t.Fatal(err)
	}
	return ack.Sequence
}

// drain waits until the world's node has applied everything on the
// stream, and returns the stream's last sequence.
func (w *world) drain(ctx context.Context) uint64 {
	w.t.Helper()
	st, err := w.js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		w.t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.n.p.WaitApplied(ctx, info.State.LastSeq); err != nil {
		w.t.Fatal(err)
	}
	return info.State.LastSeq
}

// send seals env with the signer's key, publishes it and returns its
// ledger entry (nil if it went to the dead-letter stream).
func (w *world) send(signer string, key ed25519.PrivateKey, env *pb.Envelope) *pb.LedgerEntry {
	w.t.Helper()
	wire, err := envelope.Seal(env, signer, key)
	if err != nil {
		w.t.Fatal(err)
	}
	body, _ := envelope.Marshal(env)
	id := envelope.MsgID(env, body)
	w.publish(subjects.ScanSubject(env.GetPartyGln()), id, wire)
	return w.entryOf(w.n, id)
}

func (w *world) entryOf(n *node, msgID string) *pb.LedgerEntry {
	w.t.Helper()
	index, ok, err := n.store.EventIndex(msgID)
	if err != nil {
		w.t.Fatal(err)
	}
	if !ok {
		return nil
	}
	e, err := n.log.Entry(context.Background(), index)
	if err != nil {
		w.t.Fatal(err)
	}
	entry := &pb.LedgerEntry{}
	if err := proto.Unmarshal(e.Data, entry); err != nil {
		w.t.Fatal(err)
	}
	return entry
}

// genesisOf is the genesis envelope of a node with key pub.
func genesisOf(name string, pub ed25519.PublicKey) *pb.Envelope {
	return &pb.Envelope{PartyGln: adminGLN, Body: &pb.Envelope_Genesis{Genesis: &pb.Genesis{
		Admin:     &pb.Party{Gln: adminGLN, Name: "Admin", Role: pb.Role_ROLE_ADMIN},
		TokenHash: make([]byte, 32), TokenId: "0000000000000001",
		NodeKey: &pb.NodeKey{Name: name, PublicKey: pub},
	}}}
}

func (w *world) genesis() {
	w.t.Helper()
	env := genesisOf("test-node", w.nodeKey.Public().(ed25519.PublicKey))
	e := w.send(NodeSignerPrefix+"test-node", w.nodeKey, env)
	if e == nil || !e.GetOutcomes()[0].GetApplied() {
		w.t.Fatalf("genesis not applied: %v", e)
	}
}

// admin submits master data as the admin, through the node's key.
func (w *world) admin(body *pb.Envelope) *pb.Outcome {
	w.t.Helper()
	body.PartyGln = adminGLN
	body.ApiTokenId = "0000000000000001"
	e := w.send(NodeSignerPrefix+"test-node", w.nodeKey, body)
	if e == nil {
		w.t.Fatalf("admin envelope went to the dead-letter stream")
	}
	return e.GetOutcomes()[0]
}

// party registers a party with a signing key.
func (w *world) party(gln string, role pb.Role) {
	w.t.Helper()
	pub, key, _ := envelope.GenerateKey()
	w.keys[gln] = key
	out := w.admin(&pb.Envelope{Body: &pb.Envelope_Party{Party: &pb.PartyRegistration{
		Party:     &pb.Party{Gln: gln, Name: "party " + gln, Role: role, PublicKeys: [][]byte{pub}},
		TokenHash: make([]byte, 32), TokenId: fmt.Sprintf("%016x", len(w.keys)+100),
	}}})
	if !out.GetApplied() {
		w.t.Fatalf("register %s: %s", gln, out.GetReason())
	}
}

// as publishes a master-data or capture envelope signed by party gln.
func (w *world) as(gln string, env *pb.Envelope) *pb.LedgerEntry {
	w.t.Helper()
	env.PartyGln = gln
	return w.send(gln, w.keys[gln], env)
}

func (w *world) mustApply(gln string, env *pb.Envelope) {
	w.t.Helper()
	e := w.as(gln, env)
	if e == nil {
		w.t.Fatalf("%s: went to the dead-letter stream: %s", gln, w.lastDeadReason())
	}
	for _, o := range e.GetOutcomes() {
		if !o.GetApplied() {
			w.t.Fatalf("%s: refused: %s", gln, o.GetReason())
		}
	}
}

// market registers the usual parties, two products and a batch.
func (w *world) market() {
	w.t.Helper()
	for gln, role := range map[string]pb.Role{mfrGLN: pb.Role_ROLE_MANUFACTURER, mfr2GLN: pb.Role_ROLE_MANUFACTURER,
		wsGLN: pb.Role_ROLE_WHOLESALER, ws2GLN: pb.Role_ROLE_WHOLESALER, pharmGLN: pb.Role_ROLE_PHARMACY,
		pharm2: pb.Role_ROLE_PHARMACY, regGLN: pb.Role_ROLE_REGULATOR} {
		w.party(gln, role)
	}
	w.mustApply(mfrGLN, &pb.Envelope{Body: &pb.Envelope_Product{Product: &pb.Product{Gtin: gtinA, Name: "Paracetamol 500 mg"}}})
	w.mustApply(mfrGLN, &pb.Envelope{Body: &pb.Envelope_Batch{Batch: &pb.Batch{Gtin: gtinA, Lot: lotA, Expiry: expA}}})
}

// tick advances the scanners' clock: every event gets its own time.
func (w *world) tick() *timestamppb.Timestamp {
	w.clock = w.clock.Add(time.Minute)
	return timestamppb.New(w.clock)
}

func pack(serial string) *pb.Epc {
	return &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: gtinA, Serial: serial}}}
}

func sscc(s string) *pb.Epc { return &pb.Epc{Id: &pb.Epc_Sscc{Sscc: s}} }

func capture(evs ...*pb.ScanEvent) *pb.Envelope {
	return &pb.Envelope{Body: &pb.Envelope_Capture{Capture: &pb.Capture{Events: evs}}}
}

func (w *world) event(step pb.BizStep, action pb.Action, epcs ...*pb.Epc) *pb.ScanEvent {
	return &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: action, BizStep: step, EventTime: w.tick(), Epcs: epcs}
}

func (w *world) commission(serials ...string) {
	w.t.Helper()
	var epcs []*pb.Epc
	for _, s := range serials {
		epcs = append(epcs, pack(s))
	}
	ev := w.event(pb.BizStep_BIZ_STEP_COMMISSIONING, pb.Action_ACTION_ADD, epcs...)
	ev.Ilmd = &pb.Ilmd{Lot: lotA, Expiry: expA}
	w.mustApply(mfrGLN, capture(ev))
}

func (w *world) ship(from, to string, epcs ...*pb.Epc) *pb.Outcome {
	ev := w.event(pb.BizStep_BIZ_STEP_SHIPPING, pb.Action_ACTION_OBSERVE, epcs...)
	ev.Destinations = []*pb.SourceDest{{Type: pb.SourceDestType_SOURCE_DEST_TYPE_OWNING_PARTY, Gln: to}}
	return w.as(from, capture(ev)).GetOutcomes()[0]
}

func (w *world) step(gln string, step pb.BizStep, epcs ...*pb.Epc) *pb.Outcome {
	w.t.Helper()
	e := w.as(gln, capture(w.event(step, pb.Action_ACTION_OBSERVE, epcs...)))
	if e == nil {
		w.t.Fatalf("%v by %s went to the dead-letter stream: %s", step, gln, w.lastDeadReason())
	}
	return e.GetOutcomes()[0]
}

// deadLetters reads every message of the dead-letter stream.
func (w *world) deadLetters() []jetstream.RawStreamMsg {
	w.t.Helper()
	return w.streamMessages(subjects.DeadLetterStream)
}

// streamMessages reads every message of stream name.
func (w *world) streamMessages(name string) []jetstream.RawStreamMsg {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := w.js.Stream(ctx, name)
	if err != nil {
		w.t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, *m)
	}
	return out
}

func (w *world) lastDeadReason() string {
	d := w.deadLetters()
	if len(d) == 0 {
		return "(none)"
	}
	return d[len(d)-1].Header.Get(HeaderReason)
}

// alertFeed collects alerts published on pedigree.alert.>. The
// subscription shares the pipeline's connection, so after a Flush every
// alert published before it is in the channel.
type alertFeed struct {
	ch    chan *nats.Msg
	codes map[string]int
}

func (w *world) watchAlerts() *alertFeed {
	f := &alertFeed{ch: make(chan *nats.Msg, 4096), codes: map[string]int{}}
	sub, err := w.nc.ChanSubscribe(subjects.AlertSubjectPrefix+">", f.ch)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = sub.Unsubscribe() })
	return f
}

// count returns how many alerts with code were published so far.
func (w *world) count(f *alertFeed, code string) int {
	w.t.Helper()
	if err := w.nc.Flush(); err != nil {
		w.t.Fatal(err)
	}
	for {
		select {
		case m := <-f.ch:
			keys, err := envelope.NewNodeKeys(w.nodeKey.Public().(ed25519.PublicKey))
			if err != nil {
				w.t.Fatal(err)
			}
			st, err := envelope.OpenAlert(m.Data, keys)
			if err != nil {
				w.t.Fatalf("alert on %s: %v", m.Subject, err)
			}
			if want := subjects.AlertSubject(st.GetAlert().GetPartyGln(), alertCode(st.GetAlert().GetCode())); m.Subject != want {
				w.t.Fatalf("alert %s published on %s, want %s", st.GetAlert().GetAlertId(), m.Subject, want)
			}
			f.codes[alertCode(st.GetAlert().GetCode())]++
		default:
			return f.codes[code]
		}
	}
}

func alertCodes(o *pb.Outcome) []string {
	var out []string
	for _, a := range o.GetAlerts() {
		out = append(out, alertCode(a.GetCode()))
	}
	return out
}
