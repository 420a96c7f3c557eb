package witness

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/mod/sumdb/note"

	"github.com/pedigree-project/pedigree/ledger"
)

// testReplica is a node's replica of its own log, served on loopback.
type testReplica struct {
	log    *testLog
	rep    *Replica
	vkey   string
	pub    ed25519.PublicKey
	signer note.Signer
	url    string
	client *Client
	grew   chan struct{} // a send wakes the replica's wait for growth
}

func startReplica(t *testing.T, name string, l *testLog, reg prometheus.Registerer) *testReplica {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, vkey, err := NewEd25519Cosigner(name, priv)
	if err != nil {
		t.Fatal(err)
	}
	tr := &testReplica{log: l, vkey: vkey, pub: pub, signer: signer, grew: make(chan struct{})}
	tr.rep, err = NewReplica(ReplicaConfig{Tree: l, Signer: signer, VerifierKey: vkey, Logger: discard(), Registerer: reg,
		Grown: func(ctx context.Context) error {
			select {
			case <-tr.grew:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix(PeerPrefix, ReplicaHandler(tr.rep)))
	t.Cleanup(srv.Close)
	tr.url = PeerURL(srv.URL)
	if tr.client, err = NewClient(tr.url, vkey, srv.Client()); err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestReplicaCosignsOnlyItsOwnTree(t *testing.T) {
	ctx := context.Background()
	mine := newLog(t, t.TempDir())
	reg := prometheus.NewRegistry()
	r := startReplica(t, "node-b", mine, reg)
	v, err := NewCosignatureVerifier(r.vkey)
	if err != nil {
		t.Fatal(err)
	}
	if name, pub, err := ParseCosignatureKey(r.vkey); err != nil || name != "node-b" || !pub.Equal(r.pub) {
		t.Fatalf("ParseCosignatureKey: %q %v", name, err)
	}

	// Another node of the same ledger (its own checkpoint key) with the same
	// entries: its checkpoint is cosigned, with no proof nor old size.
	peer := newLog(t, t.TempDir())
	mine.grow(t, "e", 5)
	cp := peer.grow(t, "e", 5)
	sigs, err := r.client.AddCheckpoint(ctx, 0, nil, cp.Note)
	if err != nil || len(sigs) != 1 || sigs[0].Name != "node-b" {
		t.Fatalf("the same tree: %v %v", sigs, err)
	}
	merged, err := appendSignatures(cp.Note, sigs)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := VerifyCheckpoint(merged, []note.Verifier{peer.verifier, v}, 2); err != nil {
		t.Fatalf("the cosigned note: %v", err)
	}
	// An older size of its tree too (a node ahead of the one asking).
	mine.grow(t, "e", 3)
	if _, err := r.client.AddCheckpoint(ctx, 0, nil, cp.Note); err != nil {
		t.Fatalf("a size below the replica's: %v", err)
	}

	// A checkpoint of a size it has not reached: 409 with its own size
	// once its wait is over; cosigned when its tree grows meanwhile.
	ahead := peer.grow(t, "e", 6)
	_, err = r.client.AddCheckpoint(ctx, 0, nil, ahead.Note)
	wantConflict(t, err, 8)
	done := make(chan error, 1)
	go func() { _, err := r.client.AddCheckpoint(ctx, 8, nil, ahead.Note); done <- err }()
	mine.grow(t, "e", 3)
	select { // wake the replica if it waits; if not, it finds the tree grown
	case r.grew <- struct{}{}:
	default:
	}
	if err := <-done; err != nil {
		t.Fatalf("cosign once the tree has grown: %v", err)
	}

	// A fork: the same size, another root. Refused, with a fork alarm.
	forked := newLog(t, t.TempDir())
	fcp := forked.grow(t, "forged", 5)
	_, err = r.client.AddCheckpoint(ctx, 0, nil, fcp.Note)
	wantConflict(t, err, 5)
	if got := testutil.ToFloat64(r.rep.forks); got != 1 {
		t.Fatalf("fork alarms: %v, want 1", got)
	}

	// Another log, or a note with more than the checkpoint's lines.
	code := func(body []byte) int {
		resp, err := http.Post(r.url+"/add-checkpoint", "text/plain", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	s, err := note.NewSigner(mustSignerKey(t, "other.example/ledger"))
	if err != nil {
		t.Fatal(err)
	}
	alien, err := note.Sign(&note.Note{Text: ledger.CheckpointText("other.example/ledger", 5, cp.Root)}, s)
	if err != nil {
		t.Fatal(err)
	}
	extended, err := note.Sign(&note.Note{Text: ledger.CheckpointText(testOrigin, 5, cp.Root) + "extension\n"}, s)
	if err != nil {
		t.Fatal(err)
	}
	for body, want := range map[string]int{
		string(Request{Checkpoint: alien}.Marshal()):    http.StatusNotFound,
		string(Request{Checkpoint: extended}.Marshal()): http.StatusBadRequest,
		"old 9\n\n" + string(cp.Note):                   http.StatusBadRequest,
	} {
		if got := code([]byte(body)); got != want {
			t.Errorf("request %.40q: HTTP %d, want %d", body, got, want)
		}
	}
	if got := testutil.ToFloat64(r.rep.answers.WithLabelValues("cosigned")); got != 3 {
		t.Errorf("cosigned answers: %v, want 3", got)
	}
}

func mustSignerKey(t *testing.T, name string) string {
	t.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	return skey
}

// TestCollectorGathersItsPeersCosignatures: a node asks the other nodes
// of its ledger (itself listed among them) and serves its checkpoint with
// its own cosignature and theirs; a peer whose key the ledger does not
// trust is not asked, and one that has another tree refuses.
func TestCollectorGathersItsPeersCosignatures(t *testing.T) {
	ctx := context.Background()
	logs := []*testLog{newLog(t, t.TempDir()), newLog(t, t.TempDir()), newLog(t, t.TempDir()), newLog(t, t.TempDir())}
	var reps []*testReplica
	for i, name := range []string{"node-a", "node-b", "node-c", "rogue"} {
		reps = append(reps, startReplica(t, name, logs[i], nil))
	}
	trustedKeys := map[string]bool{}
	for _, r := range reps[:3] {
		trustedKeys[string(r.pub)] = true
	}
	self := reps[0]
	reg := prometheus.NewRegistry()
	c, err := NewCollector(CollectorConfig{Log: self.log, Logger: discard(), Registerer: reg, Self: self.signer,
		Peers: []string{reps[0].url, reps[1].url, reps[2].url, reps[3].url},
		Admit: func(_ string, pub ed25519.PublicKey) error {
			switch {
			case pub.Equal(self.pub):
				return ErrSelf
			case !trustedKeys[string(pub)]:
				return errors.New("not a node of the ledger")
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range logs[:3] {
		l.grow(t, "e", 4)
	}
	logs[3].grow(t, "forged", 4)
	cp, err := self.log.Latest()
	if err != nil {
		t.Fatal(err)
	}
	out, met, done, err := c.cosign(ctx, cp, true)
	if err != nil || !met || done {
		t.Fatalf("round: met %v done %v err %v; want met, not done (the rogue peer)", met, done, err)
	}
	var nodeKeys []note.Verifier
	for _, r := range reps[:3] {
		v, err := NewCosignatureVerifier(r.vkey)
		if err != nil {
			t.Fatal(err)
		}
		nodeKeys = append(nodeKeys, v)
	}
	if _, sigs, err := VerifyCheckpoint(out.Note, nodeKeys, 3); err != nil || len(sigs) != 3 {
		t.Fatalf("served note: %v %v; want the cosignatures of the three nodes", sigs, err)
	}
	if s, err := c.Served(); err != nil || string(s.Note) != string(out.Note) {
		t.Fatalf("served: %v", err)
	}
	for result, want := range map[string]float64{"cosigned": 2, "refused": 1} {
		got := 0.0
		for _, r := range reps {
			got += testutil.ToFloat64(c.requests.WithLabelValues(r.url, result))
		}
		if got != want {
			t.Errorf("%s requests: %v, want %v", result, got, want)
		}
	}

	// A node whose tree forked refuses, and the asking node says so.
	forked := []*testLog{newLog(t, t.TempDir())}
	forked[0].grow(t, "forged", 4)
	fr := startReplica(t, "node-d", forked[0], nil)
	trustedKeys[string(fr.pub)] = true
	c2, err := NewCollector(CollectorConfig{Log: self.log, Logger: discard(), Peers: []string{fr.url},
		Admit: func(string, ed25519.PublicKey) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, done, err := c2.cosign(ctx, cp, true); err != nil || done {
		t.Fatalf("a forked peer: done %v %v", done, err)
	}
	if got := testutil.ToFloat64(c2.requests.WithLabelValues(fr.url, "fork")); got != 1 {
		t.Errorf("fork answers: %v", got)
	}
	if got := testutil.ToFloat64(fr.rep.forks); got != 1 {
		t.Errorf("the forked peer's alarms: %v", got)
	}
}
