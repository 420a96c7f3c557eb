package node

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/ingest"
	"github.com/pedigree-project/pedigree/services/internal/natsauth"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
	"github.com/pedigree-project/pedigree/services/internal/writer"
	"github.com/pedigree-project/pedigree/services/nodetest"
	"github.com/pedigree-project/pedigree/subjects"
)

// testCluster is a cluster of nodes whose embedded NATS servers form one
// JetStream cluster on loopback, routes authenticated with a shared
// password and mutual TLS.
type testCluster struct {
	t      *testing.T
	secret string
	pki    *testPKI
	routes []string // every member's route URL, the ones to come included
	https  []string // with withPeers: every member's HTTP address, each a peer of the others
	grpcs  []string // with withPeers: every member's gRPC address, the same after a restart
	nodes  []*Node
}

// withPeers gives every member a fixed HTTP address and makes them peers
// that cosign each other's checkpoints, asking again soon for one a peer
// did not cosign.
func (c *testCluster) withPeers() *testCluster {
	for range c.routes {
		c.https = append(c.https, freeAddr(c.t))
		c.grpcs = append(c.grpcs, freeAddr(c.t))
	}
	return c
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	return nodetest.FreeAddr(t)
}

// newTestCluster prepares members route addresses.
func newTestCluster(t *testing.T, members int) *testCluster {
	c := &testCluster{t: t, pki: newTestPKI(t)}
	c.secret = filepath.Join(t.TempDir(), "route.secret")
	if err := os.WriteFile(c.secret, []byte("a-route-password-of-more-than-32-characters\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range members {
		c.routes = append(c.routes, "nats://"+freeAddr(t))
	}
	return c
}

// config is the configuration of member i (its route address is
// routes[i]); every member but the first joins. The first three list the
// first three routes: a member that comes later lists them all, and the
// running members need no change.
func (c *testCluster) config(i int) Config {
	cfg := testConfig(c.t.TempDir())
	cfg.NodeName = fmt.Sprintf("n%d", i+1)
	cfg.StreamReplicas = 3
	cert, key := c.pki.issue(c.t, cfg.NodeName, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	cfg.NATSCluster = ClusterConfig{
		Listen: strings.TrimPrefix(c.routes[i], "nats://"), Routes: c.routes[:max(3, i+1)], Name: "test-cluster",
		CredentialsFile: c.secret, TLS: TLSFiles{Cert: cert, Key: key, CA: c.pki.ca},
	}
	cfg.Join = i > 0
	if c.https != nil {
		cfg.HTTPAddr, cfg.GRPCAddr = c.https[i], c.grpcs[i]
		for _, a := range c.https {
			cfg.Peers = append(cfg.Peers, "http://"+a) // its own included, as an operator would list them
		}
		cfg.cosignRetry = 100 * time.Millisecond
	}
	if _, err := NodePublicKey(cfg.DataDir); err != nil { // for the admin to add
		c.t.Fatal(err)
	}
	return cfg
}

// start starts the members of cfgs at once (a cluster's JetStream needs a
// quorum), admitting every joining member with the first node's admin
// token as soon as the first node serves, and returns them in order.
func (c *testCluster) start(ctx context.Context, admin *Node, cfgs ...Config) []*Node {
	t := c.t
	t.Helper()
	nodes := make([]*Node, len(cfgs))
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	firstDone := make(chan struct{})
	for i, cfg := range cfgs {
		log := &syncBuffer{}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s log:\n%s", cfg.NodeName, log.String())
			}
		})
		wg.Go(func() {
			logger := slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo}))
			nodes[i], errs[i] = Start(ctx, cfg, logger.With("node", cfg.NodeName))
			if i == 0 {
				close(firstDone)
			}
		})
	}
	if admin == nil {
		// The first config starts the ledger: wait for it, then admit the
		// others, which wait for that.
		<-firstDone // Start ends with ctx at the latest
		if errs[0] != nil {
			wg.Wait()
			t.Fatalf("first node: %v", errs[0])
		}
		admin = nodes[0]
	}
	for _, cfg := range cfgs {
		if cfg.Join {
			admitNode(t, admin, cfg)
		}
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %s: %v", cfgs[i].NodeName, err)
		}
	}
	c.nodes = append(c.nodes, nodes...)
	return nodes
}

// admitNode makes the ledger trust the node key of cfg's data directory,
// through the admin's REST API.
func admitNode(t *testing.T, admin *Node, cfg Config) *pb.AddNodeKeyResponse {
	t.Helper()
	pub, err := NodePublicKey(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	a := &api{t: t, n: admin}
	resp := &pb.AddNodeKeyResponse{}
	if err := a.as(a.adminToken()).Post(context.Background(), "/v1/nodes", &pb.AddNodeKeyRequest{Name: cfg.NodeName, PublicKey: pub}, resp); err != nil {
		t.Fatalf("add node %s: %v", cfg.NodeName, err)
	}
	if resp.GetKeyId() != envelope.KeyID(pub) {
		t.Fatalf("add node %s: %v", cfg.NodeName, resp)
	}
	return resp
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// synced waits until every node applied everything the stream holds, and
// returns the one ledger size and root they all reached.
func (c *testCluster) synced(ctx context.Context) (uint64, string) {
	t := c.t
	t.Helper()
	st, err := c.nodes[0].js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var size uint64
	var root string
	for i, n := range c.nodes {
		if err := n.pipeline.WaitApplied(ctx, info.State.LastSeq); err != nil {
			t.Fatalf("%s: %v", n.nodeName, err)
		}
		s, r := n.ledger.Head()
		if i == 0 {
			size, root = s, hex.EncodeToString(r[:])
		} else if s != size || hex.EncodeToString(r[:]) != root {
			t.Fatalf("%s: ledger size %d root %x; %s: size %d root %s", n.nodeName, s, r, c.nodes[0].nodeName, size, root)
		}
	}
	return size, root
}

func (c *testCluster) shutdown() {
	for _, n := range c.nodes {
		shutdown(c.t, n)
	}
}

// clusterWrites registers a manufacturer, a wholesaler and a pharmacy,
// a product, a batch, commissions serials and moves packs, each write
// through another node than the one before; after each write that a
// later one depends on, the nodes are synced.
func clusterWrites(ctx context.Context, c *testCluster, lot string, serials ...string) map[string]string {
	t := c.t
	t.Helper()
	at := func(i int) *api { return &api{t: t, n: c.nodes[i%len(c.nodes)]} }
	admin := at(0).adminToken()
	if err := at(1).as(admin).Get(ctx, "/v1/parties/"+DefaultAdminGLN, &pb.GetPartyResponse{}); err != nil {
		t.Fatalf("the first node's admin token on the second node: %v", err)
	}
	tokens := map[string]string{}
	for i, p := range []struct {
		gln  string
		role pb.Role
	}{{apiMfr, pb.Role_ROLE_MANUFACTURER}, {apiWs, pb.Role_ROLE_WHOLESALER}, {apiPharm, pb.Role_ROLE_PHARMACY}} {
		resp := &pb.CreatePartyResponse{}
		if err := at(i).as(admin).Post(ctx, "/v1/parties", &pb.Party{Gln: p.gln, Name: "Party " + p.gln, Role: p.role}, resp); err != nil {
			t.Fatalf("create party %s on node %d: %v", p.gln, i%len(c.nodes), err)
		}
		tokens[p.gln] = resp.GetToken()
	}
	c.synced(ctx)
	mfr := at(1).as(tokens[apiMfr])
	if err := mfr.Post(ctx, "/v1/products", &pb.Product{Gtin: apiGTIN, Name: "Paracetamol"}, nil); err != nil {
		t.Fatal(err)
	}
	c.synced(ctx)
	if err := at(2).as(tokens[apiMfr]).Post(ctx, "/v1/products/"+apiGTIN+"/batches", &pb.Batch{Lot: lot, Expiry: "281200"}, nil); err != nil {
		t.Fatal(err)
	}
	c.synced(ctx)
	if err := at(0).as(tokens[apiMfr]).Post(ctx, "/v1/products/"+apiGTIN+"/batches/"+lot+":commission", &pb.CommissionSerialsRequest{Serials: serials}, nil); err != nil {
		t.Fatal(err)
	}
	// Read your own writes on the node written to: the batch holds them.
	got := &pb.GetBatchResponse{}
	if err := at(0).as(tokens[apiMfr]).Get(ctx, "/v1/products/"+apiGTIN+"/batches/"+lot, got); err != nil || got.GetBatch().GetCommissioned() != uint64(len(serials)) {
		t.Fatalf("batch after commissioning on the node written to: %v %v", got, err)
	}
	c.synced(ctx)
	epcs := make([]*pb.Epc, len(serials))
	for i, s := range serials {
		epcs[i] = packEpc(s)
	}
	clock := time.Now().Add(-time.Hour)
	step := func(node int, token string, s pb.BizStep, to string) {
		clock = clock.Add(time.Minute)
		ev := &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: s, EventTime: timestamppb.New(clock), Epcs: epcs}
		if to != "" {
			ev.Destinations = owner(to)
		}
		captureEvent(t, at(node).as(token), ev)
		c.synced(ctx)
	}
	step(1, tokens[apiMfr], pb.BizStep_BIZ_STEP_SHIPPING, apiWs)
	step(2, tokens[apiWs], pb.BizStep_BIZ_STEP_RECEIVING, "")
	step(0, tokens[apiWs], pb.BizStep_BIZ_STEP_SHIPPING, apiPharm)
	step(1, tokens[apiPharm], pb.BizStep_BIZ_STEP_RECEIVING, "")
	// The pharmacy verifies on the third node what the second applied.
	v := &pb.VerifyPackResponse{}
	if err := at(2).as(tokens[apiPharm]).Post(ctx, "/v1/packs:verify", &pb.VerifyPackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: serials[0]})}, v); err != nil {
		t.Fatal(err)
	}
	if !v.GetDispensable() {
		t.Fatalf("verify on another node than the receipt's: %v", v)
	}
	return tokens
}

// readYourWrites writes a batch through one node and reads it at once
// from another, passing the write's stream sequence along, over REST and
// over gRPC.
func readYourWrites(ctx context.Context, t *testing.T, from, to *Node, token, lot string) {
	t.Helper()
	body := strings.NewReader(`{"lot":"` + lot + `","expiry":"281200"}`)
	resp, out := send(t, http.MethodPost, "http://"+from.HTTPAddr()+"/v1/products/"+apiGTIN+"/batches", token, body, body.Size())
	seq := resp.Header.Get("Grpc-Metadata-" + writer.SequenceHeader)
	if resp.StatusCode != http.StatusOK || seq == "" {
		t.Fatalf("create batch %s: %d %s, sequence %q", lot, resp.StatusCode, out, seq)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+to.HTTPAddr()+"/v1/products/"+apiGTIN+"/batches/"+lot, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Grpc-Metadata-"+writer.MinSequenceHeader, seq)
	got, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got.Body.Close()
	if got.StatusCode != http.StatusOK {
		t.Fatalf("read batch %s from another node after sequence %s: HTTP %d", lot, seq, got.StatusCode)
	}
	// The same over gRPC, with a sequence the cluster has not reached: the
	// node waits, then says it has not got there.
	conn := plainConn(t, to)
	_, err = pb.NewRegistryServiceClient(conn).GetBatch(metadata.AppendToOutgoingContext(bearer(ctx, token), writer.MinSequenceHeader, seq),
		&pb.GetBatchRequest{Gtin: apiGTIN, Lot: lot})
	if err != nil {
		t.Fatalf("gRPC read after sequence %s: %v", seq, err)
	}
	for header, want := range map[string]codes.Code{"1x": codes.InvalidArgument, "999999999999": codes.Unavailable} {
		_, err = pb.NewRegistryServiceClient(conn).GetBatch(metadata.AppendToOutgoingContext(bearer(ctx, token), writer.MinSequenceHeader, header),
			&pb.GetBatchRequest{Gtin: apiGTIN, Lot: lot})
		if status.Code(err) != want || !strings.Contains(err.Error(), writer.MinSequenceHeader) {
			t.Errorf("read with %s %q: %v, want %v naming the header", writer.MinSequenceHeader, header, err, want)
		}
	}
}

// TestClusterOfThreeBuildsOneLedger: three nodes whose embedded NATS
// servers form a JetStream cluster (authenticated routes, mutual TLS) with
// the streams on three replicas; the first starts the ledger, the others
// join and are admitted by the admin. Writes of every kind, each through
// another node, are applied by all three: the same ledger size and root.
func TestClusterOfThreeBuildsOneLedger(t *testing.T) {
	// A deadline, not the duration (about 15 s): a consumer pull lost while
	// the cluster forms waits for its heartbeat (30 s) before it is made again.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := newTestCluster(t, 3)
	defer c.shutdown()
	c.start(ctx, nil, c.config(0), c.config(1), c.config(2))
	for _, n := range c.nodes {
		if n.NATSClusterURL() == "" {
			t.Fatalf("%s: not in a cluster", n.nodeName)
		}
	}
	info, err := c.nodes[0].js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		t.Fatal(err)
	}
	si, err := info.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if si.Config.Replicas != 3 || si.Cluster == nil || len(si.Cluster.Replicas) != 2 {
		t.Fatalf("stream %s: replicas %d, cluster %+v; want 3 replicas", subjects.ScanStream, si.Config.Replicas, si.Cluster)
	}
	tokens := clusterWrites(ctx, c, "L1", "S1", "S2", "S3")
	readYourWrites(ctx, t, c.nodes[0], c.nodes[2], tokens[apiMfr], "L2")
	size, root := c.synced(ctx)
	// The genesis, a token for each joining node's admin file, two node
	// keys, three parties, product, two batches, commissioning, four moves.
	if size != 16 {
		t.Fatalf("ledger size %d after the writes", size)
	}
	t.Logf("three nodes agree: size %d root %s", size, root)
	for _, n := range c.nodes {
		if err := n.Ready(ctx); err != nil {
			t.Errorf("%s: not ready: %v", n.nodeName, err)
		}
	}
}

// TestFourthNodeJoinsLaterAndCatchesUp: a node that joins a running
// cluster is refused (its node-signed envelopes are not applied) until an
// admin adds its key, then starts, catches up from the stream to the same
// root, and takes writes that the other nodes apply.
func TestFourthNodeJoinsLaterAndCatchesUp(t *testing.T) {
	// A deadline, not the duration (about 20 s): a consumer pull lost while
	// the cluster forms waits for its heartbeat (30 s) before it is made again.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := newTestCluster(t, 4)
	defer c.shutdown()
	c.start(ctx, nil, c.config(0), c.config(1), c.config(2))
	clusterWrites(ctx, c, "L1", "S1", "S2")
	before, _ := c.synced(ctx)

	// Before its admission, an envelope signed with the fourth node's key
	// as a node is not applied by any node.
	cfg := c.config(3)
	pub, err := NodePublicKey(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	key, err := envelope.ReadKeyFile(filepath.Join(cfg.DataDir, KeysDir, NodeKeyFile))
	if err != nil || !pub.Equal(key.Public()) {
		t.Fatalf("node key: %v", err)
	}
	a := &api{t: t, n: c.nodes[0]}
	tok, err := c.nodes[0].store.ListTokens(DefaultAdminGLN, nil, 1)
	if err != nil || len(tok) == 0 {
		t.Fatalf("admin tokens: %v %v", tok, err)
	}
	wire, err := envelope.Seal(&pb.Envelope{PartyGln: DefaultAdminGLN, ApiTokenId: tok[0].GetTokenId(),
		Body: &pb.Envelope_Party{Party: &pb.PartyRegistration{Party: &pb.Party{Gln: apiPh2, Name: "Rogue", Role: pb.Role_ROLE_PHARMACY}}}},
		ingest.NodeSignerPrefix+cfg.NodeName, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.nodes[1].js.Publish(ctx, subjects.ScanSubject(DefaultAdminGLN), wire, jetstream.WithMsgID("rogue")); err != nil {
		t.Fatal(err)
	}
	if size, _ := c.synced(ctx); size != before {
		t.Fatalf("an unadmitted node's envelope was applied: ledger %d, was %d", size, before)
	}
	if err := a.as(a.adminToken()).Get(ctx, "/v1/parties/"+apiPh2, &pb.GetPartyResponse{}); err == nil {
		t.Fatal("the party an unadmitted node registered exists")
	}

	fourth := c.start(ctx, c.nodes[0], cfg)[0]
	size, root := c.synced(ctx)
	if size != before+2 { // its admission and its admin token
		t.Fatalf("ledger size %d after the fourth node joined, want %d", size, before+2)
	}
	// Writes through the newcomer reach everyone.
	f := &api{t: t, n: fourth}
	f.party(apiPh2, pb.Role_ROLE_PHARMACY)
	after, root2 := c.synced(ctx)
	if after != size+1 || root2 == root {
		t.Fatalf("after a write through the fourth node: size %d root %s", after, root2)
	}
	// The same admission again is answered with the first one's entry (the
	// same envelope); the key under another name is refused: a node key is
	// trusted once.
	first := admitNode(t, c.nodes[0], cfg)
	again := admitNode(t, c.nodes[0], cfg)
	if first.GetLedgerIndex() != again.GetLedgerIndex() {
		t.Fatalf("the same admission twice: ledger indexes %d and %d", first.GetLedgerIndex(), again.GetLedgerIndex())
	}
	err = a.as(a.adminToken()).Post(ctx, "/v1/nodes", &pb.AddNodeKeyRequest{Name: "n4-again", PublicKey: pub}, &pb.AddNodeKeyResponse{})
	wantStatus(t, "add a trusted node key under another name", err, 409, "already trusted")
	if final, _ := c.synced(ctx); final != after+1 {
		t.Fatalf("ledger size %d, want %d (one refused admission)", final, after+1)
	}
}

// TestClusterRoutesNeedThePasswordAndACertificate: of the servers that try
// to join a member, one with the route password and a certificate of the
// cluster's CA becomes a route; one with another password, or with the
// password and a certificate of another CA, does not.
func TestClusterRoutesNeedThePasswordAndACertificate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := newTestCluster(t, 1)
	// The seed's log says when it refused a route: wait for both refusals.
	seen := &logLines{}
	logger := slog.New(seen)
	key, err := envelope.LoadOrCreateKeyFile(filepath.Join(t.TempDir(), "nats.key"))
	if err != nil {
		t.Fatal(err)
	}
	authn, err := natsauth.NewEmbedded(nil, []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, natsauth.Limits{}, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	member := func(name, secret string, pki *testPKI, listen string, routes ...string) *natsbus.Embedded {
		t.Helper()
		file := filepath.Join(t.TempDir(), "secret")
		if err := os.WriteFile(file, []byte(secret), 0o600); err != nil {
			t.Fatal(err)
		}
		cert, certKey := pki.issue(t, name, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
		cc, err := ClusterConfig{Listen: listen, Routes: routes, Name: "test-cluster", CredentialsFile: file,
			TLS: TLSFiles{Cert: cert, Key: certKey, CA: pki.ca}}.natsbus()
		if err != nil {
			t.Fatal(err)
		}
		e, err := natsbus.StartEmbedded(ctx, natsbus.EmbeddedConfig{StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Auth: authn, ServerName: name, Cluster: cc}, logger)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Shutdown)
		return e
	}
	const good = "a-route-password-of-more-than-32-characters"
	seed := member("seed", good, c.pki, strings.TrimPrefix(c.routes[0], "nats://"), c.routes[0])
	wrongPassword := member("wrong-password", "another-password-of-more-than-32-characters", c.pki, "127.0.0.1:0", c.routes[0])
	wrongCA := member("wrong-ca", good, newTestPKI(t), "127.0.0.1:0", c.routes[0])
	// The one that belongs is a route of the seed once it is up; the others
	// tried before it and are still alone.
	ok := member("ok", good, c.pki, "127.0.0.1:0", c.routes[0])
	routes := func(e *natsbus.Embedded) []string {
		rz, err := e.Server().Routez(nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range rz.Routes {
			names = append(names, r.RemoteName)
		}
		return names
	}
	if err := waitFor(ctx, func() bool { return len(routes(ok)) > 0 && len(routes(seed)) > 0 }); err != nil {
		t.Fatalf("a member with the password and a certificate did not become a route: %v", err)
	}
	if err := waitFor(ctx, func() bool {
		return seen.has("Authentication Error") && seen.has("handshake error")
	}); err != nil {
		t.Fatalf("no route refusal logged: %v", err)
	}
	for _, e := range []*natsbus.Embedded{wrongPassword, wrongCA} {
		if r := routes(e); len(r) != 0 {
			t.Errorf("%s has routes %v", e.Server().Name(), r)
		}
	}
	for _, name := range routes(seed) {
		if name != "ok" {
			t.Errorf("the seed has a route to %s", name)
		}
	}
	// A configuration that would admit anyone is refused.
	for _, cc := range []ClusterConfig{
		{Listen: "127.0.0.1:0"},
		{Listen: "127.0.0.1:0", CredentialsFile: c.secret, TLS: TLSFiles{Cert: "x.pem"}},
		{Routes: []string{"nats://127.0.0.1:1"}},
		{Listen: "127.0.0.1:0", CredentialsFile: c.secret},
	} {
		cfg := testConfig(t.TempDir())
		cfg.NATSCluster = cc
		if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), "nats-cluster") {
			t.Errorf("config %+v: %v, want an error naming the flag", cc, err)
		}
	}
	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("tooshort\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (ClusterConfig{Listen: "127.0.0.1:0", CredentialsFile: short}).natsbus(); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("a short route password: %v", err)
	}
	if _, err := (ClusterConfig{Listen: "127.0.0.1:0", CredentialsFile: c.secret, Routes: []string{"nats://user:pw@127.0.0.1:1"}}).natsbus(); err != nil {
		t.Fatal(err) // routes are checked when the server starts
	}
	cc, err := ClusterConfig{Listen: "127.0.0.1:0", CredentialsFile: c.secret, Routes: []string{"nats://user:pw@127.0.0.1:1"}}.natsbus()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := natsbus.StartEmbedded(ctx, natsbus.EmbeddedConfig{StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Auth: authn, Cluster: cc}, logger); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("a route URL with credentials: %v", err)
	}
}

// logLines is a slog handler that keeps the messages it is given.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logLines) WithGroup(string) slog.Handler            { return l }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, r.Message)
	return nil
}

// has reports whether a message contained s.
func (l *logLines) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.lines {
		if strings.Contains(strings.ToLower(m), strings.ToLower(s)) {
			return true
		}
	}
	return false
}

// syncBuffer is a log destination several goroutines write.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
