package sdk_test

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pedigree-project/pedigree/client"
	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/sdk"
	"github.com/pedigree-project/pedigree/services/node"
	"github.com/pedigree-project/pedigree/services/nodetest"
	"github.com/pedigree-project/pedigree/subjects"
)

// world is what a scanner talks to: a NATS server with JetStream that
// authenticates every client as a node does (services/internal/natsauth: the party
// logs in with its key as an NKey and gets only its subjects), a real
// ledger node consuming from it with its own NATS key, and a TCP proxy in
// front of NATS that the scanner connects through, to cut its uplink
// without touching the node's.
type world struct {
	t        *testing.T
	natsDir  string
	nats     *nodetest.NATS
	nodeDir  string
	node     *node.Node
	token    string // admin API token
	nodeKeys envelope.NodeKeys
	proxy    *proxy
	admin    *nats.Conn // a connection with the node's NATS credential
	js       jetstream.JetStream
	logs     *logRecorder
	party    ed25519.PrivateKey
}

// newWorld starts NATS, the node and the proxy, and registers the party
// (a manufacturer) with a new key, a product and its lot.
func newWorld(ctx context.Context, t *testing.T) *world {
	t.Helper()
	_, priv := newKey(t)
	w := &world{t: t, natsDir: t.TempDir(), nodeDir: t.TempDir(), logs: &logRecorder{}, party: priv}
	w.startNATS(ctx, nil)
	w.proxy = startProxy(t, w.natsAddr())
	w.startNode(ctx)
	w.nodeKeys = mustNodeKeys(t, w.node.NodeKey())
	w.register(ctx)
	t.Cleanup(func() {
		if msgs := w.logs.matching("ermission"); len(msgs) > 0 {
			t.Errorf("the scanner hit NATS permissions: %v", msgs)
		}
	})
	return w
}

// startNATS starts the server (with TLS when tlsCfg is set) that admits
// the node's NATS key (DATA/keys/nats.key, made here before the node
// does) and the party with its key.
func (w *world) startNATS(ctx context.Context, tlsCfg *tls.Config) {
	w.t.Helper()
	if err := os.MkdirAll(filepath.Join(w.nodeDir, node.KeysDir), 0o700); err != nil {
		w.t.Fatal(err)
	}
	nodeNATS, err := envelope.LoadOrCreateKeyFile(filepath.Join(w.nodeDir, node.KeysDir, node.NATSKeyFile))
	if err != nil {
		w.t.Fatal(err)
	}
	reg := map[string]*pb.Party{party: {Gln: party, Role: pb.Role_ROLE_MANUFACTURER,
		PublicKeys: [][]byte{w.party.Public().(ed25519.PublicKey)}}}
	e, err := nodetest.StartNATS(ctx, nodetest.NATSConfig{StoreDir: w.natsDir, Listen: "127.0.0.1:0", TLS: tlsCfg,
		Parties: reg, NodeKeys: []ed25519.PublicKey{nodeNATS.Public().(ed25519.PublicKey)}, Logger: quiet})
	if err != nil {
		w.t.Fatal(err)
	}
	w.nats = e
	if w.admin, err = e.ConnectAsNode("test", nodeNATS); err != nil {
		w.t.Fatal(err)
	}
	if w.js, err = jetstream.New(w.admin); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { w.admin.Close(); e.Shutdown() })
}

// recoverStream rebuilds the SCANS stream from the stopped node's ledger,
// as `pedigree recover` does after a power loss.
func (w *world) recoverStream(ctx context.Context) node.RecoverReport {
	w.t.Helper()
	rep, err := node.RecoverStream(ctx, w.js, w.nodeDir, quiet)
	if err != nil {
		w.t.Fatal(err)
	}
	return rep
}

// natsAddr is the NATS server's client address.
func (w *world) natsAddr() string { return w.nats.Addr() }

// url is what the scanner connects to: the proxy.
func (w *world) url() string { return "nats://" + w.proxy.addr }

func (w *world) startNode(ctx context.Context) {
	w.t.Helper()
	cfg := node.DefaultConfig()
	cfg.DataDir, cfg.NATSURL = w.nodeDir, w.nats.ClientURL()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	n, err := node.Start(ctx, cfg, quiet)
	if err != nil {
		w.t.Fatalf("node.Start: %v", err)
	}
	w.node = n
	w.t.Cleanup(w.stopNode)
}

func (w *world) stopNode() {
	if w.node == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.node.Shutdown(ctx); err != nil {
		w.t.Errorf("node shutdown: %v", err)
	}
	w.node = nil
}

func (w *world) api(token string) *client.Client {
	w.t.Helper()
	if w.node == nil {
		w.t.Fatal("the node is not running")
	}
	c, err := client.New(w.node.GRPCAddr(), token)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = c.Close() })
	return c
}

// register makes the party a manufacturer with its key, and registers the
// product and lot its packs are of.
func (w *world) register(ctx context.Context) {
	w.t.Helper()
	b, err := os.ReadFile(w.node.AdminTokenPath())
	if err != nil {
		w.t.Fatal(err)
	}
	w.token = strings.TrimSpace(string(b))
	in := &pb.Party{Gln: party, Name: "Test manufacturer", Role: pb.Role_ROLE_MANUFACTURER,
		PublicKeys: [][]byte{w.party.Public().(ed25519.PublicKey)}}
	resp, err := w.api(w.token).Registry.CreateParty(ctx, &pb.CreatePartyRequest{Party: in})
	if err != nil {
		w.t.Fatalf("register the party: %v", err)
	}
	mfr := w.api(resp.GetToken())
	if _, err := mfr.Registry.CreateProduct(ctx, &pb.CreateProductRequest{Product: &pb.Product{Gtin: gtin, Name: "Test product", Form: "tablet", PackSize: 30}}); err != nil {
		w.t.Fatalf("register the product: %v", err)
	}
	if _, err := mfr.Registry.CreateBatch(ctx, &pb.CreateBatchRequest{Gtin: gtin, Batch: &pb.Batch{Lot: lot, Expiry: expiry}}); err != nil {
		w.t.Fatalf("register the lot: %v", err)
	}
}

// ledger returns the ledger entries by the event IDs they name.
func (w *world) ledger(ctx context.Context) map[string][]*pb.LedgerEntry {
	w.t.Helper()
	api := w.api(w.token)
	out := map[string][]*pb.LedgerEntry{}
	for i := 0; ; i++ {
		resp, err := api.Ledger.GetEntry(ctx, &pb.GetEntryRequest{Index: uint64(i)})
		if status.Code(err) == codes.NotFound || status.Code(err) == codes.OutOfRange {
			return out
		}
		if err != nil {
			w.t.Fatal(err)
		}
		for _, id := range resp.GetEntry().GetEventIds() {
			out[id] = append(out[id], resp.GetEntry())
		}
	}
}

// shortDuplicateWindow sets the SCANS stream's duplicate window to d, as
// an operator may (a node resets it when it starts): a copy sent again
// after d reaches the ledger, which records it as a duplicate and answers
// it.
func (w *world) shortDuplicateWindow(ctx context.Context, d time.Duration) {
	w.t.Helper()
	s, err := w.js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		w.t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	// Twice: the server restarts its purge timer on a change of window
	// before it records the new window, so the first purge may still use
	// the old one (and wait that long for the next); the second change
	// finds the shorter window recorded.
	for _, win := range []time.Duration{2 * d, d} {
		cfg.Duplicates = win
		if _, err := w.js.UpdateStream(ctx, cfg); err != nil {
			w.t.Fatal(err)
		}
	}
}

// streamMessages returns the messages in the SCANS stream, in order.
func (w *world) streamMessages(ctx context.Context) []*jetstream.RawStreamMsg {
	w.t.Helper()
	s, err := w.js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		w.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// partyMessages returns the stream's messages the party signed with its
// key (not those the node signed for it: its registrations through the
// API).
func (w *world) partyMessages(ctx context.Context) []*jetstream.RawStreamMsg {
	w.t.Helper()
	var out []*jetstream.RawStreamMsg
	for _, m := range w.streamMessages(ctx) {
		o, err := envelope.Open(m.Data)
		if err != nil {
			w.t.Fatal(err)
		}
		if o.Signed.GetKeyId() == envelope.KeyID(w.party.Public().(ed25519.PublicKey)) {
			out = append(out, m)
		}
	}
	return out
}

// config is the scanner configuration of the tests: short waits, the
// party's key, the node's key, the proxy.
func (w *world) config(queueDir string) sdk.Config {
	return sdk.Config{
		NATSURL: w.url(), PartyGLN: party, Key: w.party, NodeKeys: w.nodeKeys, QueueDir: queueDir,
		Logger: slog.New(w.logs), Now: testClock(),
		PublishTimeout: 5 * time.Second, AckTimeout: time.Second,
		InitialBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, ReconnectWait: 20 * time.Millisecond,
		OutcomeTimeout: 2 * time.Second, MaxOutcomeTimeout: 4 * time.Second,
	}
}

func (w *world) client(ctx context.Context, queueDir string) *sdk.Client {
	w.t.Helper()
	return w.clientWith(ctx, w.config(queueDir))
}

// offlineClient cuts the uplink and opens a client on queueDir that never
// connected: its first Send waits only briefly for a connection.
func (w *world) offlineClient(ctx context.Context, queueDir string) *sdk.Client {
	w.t.Helper()
	w.proxy.down()
	cfg := w.config(queueDir)
	cfg.PublishTimeout = 100 * time.Millisecond
	return w.clientWith(ctx, cfg)
}

func (w *world) clientWith(ctx context.Context, cfg sdk.Config) *sdk.Client {
	w.t.Helper()
	c, err := sdk.New(ctx, cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { c.Close() })
	return c
}

func mustNodeKeys(t *testing.T, pubs ...ed25519.PublicKey) envelope.NodeKeys {
	t.Helper()
	k, err := envelope.NewNodeKeys(pubs...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// logRecorder is a slog handler that keeps the messages of warnings and
// errors, to check that none says what must not happen.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler            { return l }
func (l *logRecorder) WithGroup(string) slog.Handler                 { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	l.msgs = append(l.msgs, b.String())
	l.mu.Unlock()
	return nil
}

func (l *logRecorder) matching(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, m := range l.msgs {
		if strings.Contains(m, s) {
			out = append(out, m)
		}
	}
	return out
}

// proxy forwards TCP connections to a target; down cuts every connection
// and refuses new ones until up: an uplink that fails.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	l     net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	p := &proxy{t: t, target: target, addr: "127.0.0.1:0", conns: map[net.Conn]struct{}{}}
	p.up()
	t.Cleanup(p.down)
	return p
}

func (p *proxy) up() {
	p.t.Helper()
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.l, p.addr = l, l.Addr().String()
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.l != l {
				p.mu.Unlock()
				c.Close()
				u.Close()
				return
			}
			p.conns[c], p.conns[u] = struct{}{}, struct{}{}
			p.mu.Unlock()
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				dst.Close()
				src.Close()
			}
			p.wg.Go(func() { pipe(u, c) })
			p.wg.Go(func() { pipe(c, u) })
		}
	})
}

func (p *proxy) down() {
	p.mu.Lock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	p.mu.Unlock()
	p.wg.Wait()
}

// waitFor polls cond until it holds or ctx ends: for state no event
// signals (another process's, the server's).
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, ctx.Err())
		}
	}
}

// nodeKeyFile returns the path of the node's private key file, for tests
// that forge notices with the real node key.
func (w *world) nodeKeyFile() string { return filepath.Join(w.nodeDir, node.KeysDir, "node.key") }
