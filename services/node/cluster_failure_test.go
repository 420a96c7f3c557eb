package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"google.golang.org/grpc/status"

	"github.com/pedigree-project/pedigree/client"
	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/gs1"
	"github.com/pedigree-project/pedigree/ledger"
	ledgerentry "github.com/pedigree-project/pedigree/ledger/entry"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/sdk"
)

// loadGLN is the GLN of the load's i-th party.
func loadGLN(i int) string {
	base := fmt.Sprintf("4000900%05d", i)
	return base + string(gs1.CheckDigit(base))
}

// writeLoad registers parties, one at a time, through the nodes in turn,
// and records every write a node acknowledged, and how the others were
// refused.
type writeLoad struct {
	mu      sync.Mutex
	tried   int
	acked   map[string]bool
	refused map[string]int // by gRPC code
	stop    chan struct{}
	done    chan struct{}
}

func startLoad(ctx context.Context, t *testing.T, nodes []*Node, token string) *writeLoad {
	t.Helper()
	l := &writeLoad{acked: map[string]bool{}, refused: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	clients := make([]*client.Client, len(nodes))
	for i, n := range nodes {
		var err error
		if clients[i], err = client.New(n.GRPCAddr(), token); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		defer close(l.done)
		defer func() {
			for _, c := range clients {
				c.Close()
			}
		}()
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			case <-ctx.Done():
				return
			default:
			}
			gln := loadGLN(i)
			l.mu.Lock()
			l.tried = i + 1
			l.mu.Unlock()
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := clients[i%len(clients)].Registry.CreateParty(cctx, &pb.CreatePartyRequest{Party: &pb.Party{Gln: gln, Name: "Load " + gln, Role: pb.Role_ROLE_PHARMACY}})
			cancel()
			l.mu.Lock()
			if err == nil {
				l.acked[gln] = true
			} else {
				l.refused[status.Code(err).String()]++
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// acks is the number of acknowledged writes.
func (l *writeLoad) acks() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// waitAcks waits until more writes than now were acknowledged.
func (l *writeLoad) waitMore(ctx context.Context, t *testing.T, more int) {
	t.Helper()
	want := l.acks() + more
	if err := waitFor(ctx, func() bool { return l.acks() >= want }); err != nil {
		t.Fatalf("only %d writes acknowledged, want %d", l.acks(), want)
	}
}

// finish stops the load and waits for its last write.
func (l *writeLoad) finish() {
	close(l.stop)
	<-l.done
}

// checkNoLoss waits until every node has applied the whole stream and
// checks that they hold one ledger (size and root) of base entries and
// one per party of the load that landed, every acknowledged one among
// them, on every node. It returns the ledger's size.
func (c *testCluster) checkNoLoss(ctx context.Context, base uint64, l *writeLoad) uint64 {
	t := c.t
	t.Helper()
	size, root := c.synced(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range c.nodes {
		landed := 0
		for i := range l.tried {
			gln := loadGLN(i)
			_, err := n.store.Party(gln)
			switch {
			case err == nil:
				landed++
			case l.acked[gln]:
				t.Errorf("%s: acknowledged party %s is not there: %v", n.nodeName, gln, err)
			}
		}
		if want := base + uint64(landed); size != want {
			t.Errorf("%s: ledger size %d, want %d (%d before the load, %d parties landed)", n.nodeName, size, want, base, landed)
		}
	}
	t.Logf("%d writes tried, %d acknowledged, refused %v; every node at size %d root %s", l.tried, len(l.acked), l.refused, size, root)
	return size
}

// TestClusterNodeOutlivesItsNATSMember: under a steady load of writes
// through all three nodes, one node's NATS member stops while its ledger
// and API keep running: its connection fails over to another member, its
// ledger keeps applying, its readiness says why it is not ready, writes
// through it are acknowledged or refused with a status. No acknowledged
// write is lost or doubled on any ledger, the three reach one root, and
// its checkpoints are still cosigned by all three.
func TestClusterNodeOutlivesItsNATSMember(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	c := newTestCluster(t, 3).withPeers()
	defer c.shutdown()
	c.start(ctx, nil, c.config(0), c.config(1), c.config(2))
	base, _ := c.synced(ctx)
	admin := (&api{t: t, n: c.nodes[0]}).adminToken()
	load := startLoad(ctx, t, c.nodes, admin)
	load.waitMore(ctx, t, 20)

	victim := c.nodes[2]
	victim.embedded.Shutdown()
	applied := victim.pipeline.Applied()
	load.waitMore(ctx, t, 30)
	if err := waitFor(ctx, func() bool { return victim.pipeline.Applied() > applied+20 }); err != nil {
		t.Fatalf("%s's ledger stopped at stream sequence %d when its NATS member stopped", victim.nodeName, victim.pipeline.Applied())
	}
	if err := victim.Ready(ctx); err == nil || !strings.Contains(err.Error(), "embedded NATS") {
		t.Errorf("%s ready without its NATS member: %v", victim.nodeName, err)
	}
	load.finish()
	size := c.checkNoLoss(ctx, base, load)
	waitCosigned(ctx, t, size, c.nodes, c.nodes)
}

// eventCounts returns how many entries of n's ledger name each event ID.
func eventCounts(ctx context.Context, t *testing.T, n *Node) map[string]int {
	t.Helper()
	counts := map[string]int{}
	err := n.ledger.Entries(ctx, 0, n.ledger.Size(), func(e ledger.Entry) error {
		entry, err := ledgerentry.Decode(e.Data)
		if err != nil {
			return err
		}
		for _, id := range entry.GetEventIds() {
			counts[id]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return counts
}

// TestScannerFailsOverBetweenClusterNodes: a scanner given the NATS URLs
// of the three nodes connects to the first; it queues commissioning scans
// while that node is killed, fails over to another node, and every queued
// scan lands on the ledger of each remaining node exactly once, with an
// outcome a node signed.
func TestScannerFailsOverBetweenClusterNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	c := newTestCluster(t, 3)
	defer c.shutdown()
	c.start(ctx, nil, c.config(0), c.config(1), c.config(2))
	a := &api{t: t, n: c.nodes[0]}
	admin := a.adminToken()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	resp := &pb.CreatePartyResponse{}
	if err := a.as(admin).Post(ctx, "/v1/parties", &pb.Party{Gln: apiMfr, Name: "Manufacturer", Role: pb.Role_ROLE_MANUFACTURER, PublicKeys: [][]byte{pub}}, resp); err != nil {
		t.Fatal(err)
	}
	mfr := a.as(resp.GetToken())
	if err := mfr.Post(ctx, "/v1/products", &pb.Product{Gtin: apiGTIN, Name: "Paracetamol"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := mfr.Post(ctx, "/v1/products/"+apiGTIN+"/batches", &pb.Batch{Lot: "L1", Expiry: "281200"}, nil); err != nil {
		t.Fatal(err)
	}
	c.synced(ctx) // every member admits the party's NATS login

	victim := c.nodes[2]
	var urls, keys []string
	nodeKeys := envelope.NodeKeys{}
	for _, n := range []*Node{victim, c.nodes[0], c.nodes[1]} {
		urls = append(urls, n.NATSURL())
		nodeKeys[n.nodeKeyID] = n.NodeKey()
		keys = append(keys, n.nodeKeyID)
	}
	sc, err := sdk.New(ctx, sdk.Config{NATSURL: strings.Join(urls, ","), NATSOptions: []nats.Option{nats.DontRandomize()},
		PartyGLN: apiMfr, Key: key, NodeKeys: nodeKeys, QueueDir: t.TempDir(), ReconnectWait: 100 * time.Millisecond,
		OutcomeTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := waitFor(ctx, func() bool {
		cz, err := victim.embedded.Server().Connz(&server.ConnzOptions{})
		if err != nil {
			return false
		}
		for _, conn := range cz.Conns {
			if conn.Name == sdk.DefaultName {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("the scanner is not connected to %s, the first URL", victim.nodeName)
	}

	var ids []string
	send := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			ev, err := sc.Builder().Commission(sdk.PackOf(apiGTIN, fmt.Sprintf("F%04d", i), "L1", "281200"))
			if err != nil {
				t.Fatal(err)
			}
			rc, err := sc.Send(ctx, ev)
			if err != nil {
				t.Fatalf("send scan %d: %v", i, err)
			}
			ids = append(ids, rc.EventIDs...)
		}
	}
	send(0, 20)
	// The node the scanner is connected to goes down, NATS member and
	// ledger; the scanner queues what it cannot publish and fails over.
	shutdown(t, victim)
	c.nodes = c.nodes[:2]
	send(20, 60)
	if err := waitFor(ctx, func() bool { return sc.Pending() == 0 }); err != nil {
		t.Fatalf("%d scans still queued", sc.Pending())
	}
	c.synced(ctx)
	for _, n := range c.nodes {
		counts := eventCounts(ctx, t, n)
		for _, id := range ids {
			if counts[id] != 1 {
				t.Errorf("%s: scan %s is on the ledger %d times", n.nodeName, id, counts[id])
			}
		}
	}
	t.Logf("%d scans, each on the ledger once; node keys %v", len(ids), keys)
}

// startLogged starts a node with cfg, its log shown if the test fails.
func startLogged(ctx context.Context, t *testing.T, cfg Config) (*Node, error) {
	log := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log:\n%s", cfg.NodeName, log.String())
		}
	})
	logger := slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return Start(ctx, cfg, logger.With("node", cfg.NodeName))
}

// TestClusterNodeCutOffAndHealed: under a steady load of writes, one node
// is cut off from the cluster (started again with no route to the others,
// on a route port they do not know): alone it cannot form a JetStream
// quorum, so it applies and accepts nothing, while the other two go on
// taking writes and cosigning each other's checkpoints. Healed (started
// with its routes), it catches up: no acknowledged write is lost or
// doubled on any ledger, the three reach one root, and its checkpoints
// are cosigned by all three.
func TestClusterNodeCutOffAndHealed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	c := newTestCluster(t, 3).withPeers()
	defer c.shutdown()
	c.start(ctx, nil, c.config(0), c.config(1), c.config(2))
	base, _ := c.synced(ctx)
	admin := (&api{t: t, n: c.nodes[0]}).adminToken()
	load := startLoad(ctx, t, c.nodes, admin)
	load.waitMore(ctx, t, 20)

	cut := c.nodes[2]
	cfg := cut.cfg
	shutdown(t, cut)
	c.nodes = c.nodes[:2]
	alone := cfg
	alone.NATSCluster.Listen = freeAddr(t)
	alone.NATSCluster.Routes = []string{"nats://" + alone.NATSCluster.Listen}
	aloneCtx, stopAlone := context.WithCancel(ctx)
	aloneDone := make(chan error, 1)
	go func() {
		n, err := startLogged(aloneCtx, t, alone)
		if n != nil {
			shutdown(t, n)
		}
		aloneDone <- err
	}()

	load.waitMore(ctx, t, 30)
	size, _ := c.synced(ctx)
	waitCosigned(ctx, t, size, c.nodes, c.nodes)
	select {
	case err := <-aloneDone:
		t.Fatalf("the node cut off from the cluster started alone: %v", err)
	default:
	}
	stopAlone()
	if err := <-aloneDone; err == nil {
		t.Fatal("the node cut off from the cluster started alone")
	}

	healed, err := startLogged(ctx, t, cfg)
	if err != nil {
		t.Fatalf("restart %s with its routes: %v", cfg.NodeName, err)
	}
	c.nodes = append(c.nodes, healed)
	load.waitMore(ctx, t, 30)
	load.finish()
	size = c.checkNoLoss(ctx, base, load)
	waitCosigned(ctx, t, size, c.nodes, c.nodes)
}
