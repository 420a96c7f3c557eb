package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigree-project/pedigree/client"
	"github.com/pedigree-project/pedigree/ledger"
	"github.com/pedigree-project/pedigree/ledger/witness"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// cosignVerifiers returns the cosignature verifiers of nodes.
func cosignVerifiers(t *testing.T, nodes ...*Node) []note.Verifier {
	t.Helper()
	var vs []note.Verifier
	for _, n := range nodes {
		v, err := witness.NewTrustedVerifier(n.CosignVerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

// servedNote reads the checkpoint n serves over REST.
func servedNote(ctx context.Context, n *Node) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.HTTPAddr()+"/v1/ledger/checkpoint", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var cp struct{ Note string }
	if err := json.NewDecoder(resp.Body).Decode(&cp); err != nil {
		return nil, err
	}
	return []byte(cp.Note), nil
}

// waitCosigned waits until every node in serving serves a checkpoint of
// at least size entries cosigned by every node in signers.
func waitCosigned(ctx context.Context, t *testing.T, size uint64, serving []*Node, signers []*Node) {
	t.Helper()
	vs := cosignVerifiers(t, signers...)
	for _, n := range serving {
		var last error
		err := waitFor(ctx, func() bool {
			msg, err := servedNote(ctx, n)
			if err != nil {
				last = err
				return false
			}
			cp, _, err := witness.VerifyCheckpoint(msg, vs, len(vs))
			if err == nil && cp.Size < size {
				err = fmt.Errorf("served size %d, want at least %d", cp.Size, size)
			}
			last = err
			return err == nil
		})
		if err != nil {
			t.Fatalf("%s: no checkpoint cosigned by the %d live nodes: %v", n.nodeName, len(signers), last)
		}
	}
}

// TestClusterNodesCosignEachOthersCheckpoints: three nodes, each given
// the others as peers, serve checkpoints cosigned by all three; a pack's
// history read from one node verifies against a checkpoint that two other
// nodes cosigned (what pedigree history --trust K2 --trust K3
// --min-signatures 2 checks); a node refuses to cosign a checkpoint whose
// root differs from its own tree of that size, and raises a fork alarm.
func TestClusterNodesCosignEachOthersCheckpoints(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := newTestCluster(t, 3).withPeers()
	defer c.shutdown()
	c.start(ctx, nil, c.config(0), c.config(1), c.config(2))
	tokens := clusterWrites(ctx, c, "L1", "S1", "S2")
	size, _ := c.synced(ctx)
	waitCosigned(ctx, t, size, c.nodes, c.nodes)

	for _, n := range c.nodes {
		file, err := os.ReadFile(filepath.Join(n.cfg.DataDir, KeysDir, CosignVerifierKeyFile))
		if err != nil || strings.TrimSpace(string(file)) != n.CosignVerifierKey() {
			t.Fatalf("%s: %s holds %q (%v), want %s", n.nodeName, CosignVerifierKeyFile, file, err, n.CosignVerifierKey())
		}
		if name, _, err := witness.ParseCosignatureKey(n.CosignVerifierKey()); err != nil || name != n.nodeName {
			t.Fatalf("%s: cosignature key named %q: %v", n.nodeName, name, err)
		}
	}

	// The pharmacy reads a pack's history from the first node and trusts
	// only the other two nodes' keys: two cosignatures are required.
	cl, err := client.New(c.nodes[0].GRPCAddr(), tokens[apiPharm])
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	h, err := cl.Provenance.GetPackHistory(ctx, &pb.GetPackHistoryRequest{Gtin: apiGTIN, Serial: "S1", PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	others := cosignVerifiers(t, c.nodes[1:]...)
	cp, sigs, err := witness.VerifyCheckpoint([]byte(h.GetCheckpoint().GetNote()), others, 2)
	if err != nil || len(sigs) != 2 {
		t.Fatalf("history checkpoint with two other nodes' cosignatures: %v %v", sigs, err)
	}
	if len(h.GetEntries()) == 0 {
		t.Fatalf("history of S1: %d entries", len(h.GetEntries()))
	}
	for _, e := range h.GetEntries() {
		proof := make(tlog.RecordProof, len(e.GetInclusionProof()))
		for i, p := range e.GetInclusionProof() {
			copy(proof[i][:], p)
		}
		if err := tlog.CheckRecord(proof, int64(cp.Size), cp.Root, int64(e.GetIndex()), tlog.RecordHash(e.GetData())); err != nil {
			t.Fatalf("entry %d does not verify against the cosigned checkpoint: %v", e.GetIndex(), err)
		}
	}
	// One node's cosignature is not two.
	if _, _, err := witness.VerifyCheckpoint([]byte(h.GetCheckpoint().GetNote()), others[:1], 2); err == nil {
		t.Fatal("a checkpoint verified with two signatures from one trusted key")
	}

	// A checkpoint of the ledger's origin and size with another root: the
	// second node refuses it and raises a fork alarm.
	peer := c.nodes[1]
	code, vkey := httpGet(t, "http://"+peer.HTTPAddr()+witness.PeerPrefix+"/vkey", nil)
	if code != http.StatusOK || strings.TrimSpace(string(vkey)) != peer.CosignVerifierKey() {
		t.Fatalf("GET vkey: %d %q", code, vkey)
	}
	forged := cp.Root
	forged[0] ^= 1
	skey, _, err := note.GenerateKey(rand.Reader, peer.ledger.Origin())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	fork, err := note.Sign(&note.Note{Text: ledger.CheckpointText(peer.ledger.Origin(), cp.Size, forged)}, signer)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+peer.HTTPAddr()+witness.PeerPrefix+"/add-checkpoint", "text/plain",
		strings.NewReader(string(witness.Request{Checkpoint: fork}.Marshal())))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || string(body) != fmt.Sprintf("%d\n", cp.Size) {
		t.Fatalf("a forked checkpoint: HTTP %d %q, want 409 naming size %d", resp.StatusCode, body, cp.Size)
	}
	if code, metrics := httpGet(t, "http://"+peer.MetricsAddr()+"/metrics", nil); code != http.StatusOK ||
		!strings.Contains(string(metrics), "pedigree_cosign_fork_alarms_total 1\n") {
		t.Fatalf("the fork alarm is not counted: HTTP %d", code)
	}
	// The true checkpoint of that size is still cosigned.
	if _, err := http.Post("http://"+peer.HTTPAddr()+witness.PeerPrefix+"/add-checkpoint", "text/plain",
		strings.NewReader(string(witness.Request{Checkpoint: []byte(h.GetCheckpoint().GetNote())}.Marshal()))); err != nil {
		t.Fatal(err)
	}
}
