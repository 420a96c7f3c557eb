package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/client"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/node"
)

// ledgerRoot audits the stopped node's ledger in dir and returns its size
// and root.
func ledgerRoot(ctx context.Context, t *testing.T, dir string) (uint64, string) {
	t.Helper()
	out, errOut, ok := runPedigree(ctx, t, "", nil, "ledger", "verify", "--data", dir, "--json")
	if !ok {
		t.Fatalf("ledger verify: %s", errOut)
	}
	var rep struct {
		Entries uint64 `json:"entries"`
		Root    string `json:"root"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("ledger verify: %q: %v", out, err)
	}
	return rep.Entries, rep.Root
}

func startTestNode(ctx context.Context, t *testing.T, dir string) (*node.Node, *client.Client) {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.DataDir, cfg.GRPCAddr, cfg.HTTPAddr, cfg.NATSListen = dir, "127.0.0.1:0", "127.0.0.1:0", ""
	n, err := node.Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("start the node: %v", err)
	}
	token, err := os.ReadFile(n.AdminTokenPath())
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(n.GRPCAddr(), strings.TrimSpace(string(token)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return n, c
}

func createParty(ctx context.Context, t *testing.T, c *client.Client, gln string) {
	t.Helper()
	if _, err := c.Registry.CreateParty(ctx, &pb.CreatePartyRequest{Party: &pb.Party{Gln: gln, Name: "party " + gln, Role: pb.Role_ROLE_PHARMACY}}); err != nil {
		t.Fatalf("create party %s: %v", gln, err)
	}
}

// truncateStream cuts the SCANS stream's message files to half, and drops
// JetStream's index of them: what a power loss within JetStream's sync
// interval leaves on disk.
func truncateStream(t *testing.T, dir string) {
	t.Helper()
	msgs := filepath.Join(dir, "nats", "jetstream", "$G", "streams", "SCANS", "msgs")
	blocks, err := filepath.Glob(filepath.Join(msgs, "*.blk"))
	if err != nil || len(blocks) == 0 {
		t.Fatalf("no JetStream message blocks under %s: %v", msgs, err)
	}
	for _, b := range blocks {
		fi, err := os.Stat(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(b, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
	}
	for _, pattern := range []string{filepath.Join(msgs, "index.db"), filepath.Join(msgs, "*.idx"), filepath.Join(dir, "nats", "jetstream", "$G", "streams", "SCANS", "obs")} {
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestRecoverCommand plays a power loss on a real node: the stream's files
// lose their tail, the node refuses to consume, `pedigree recover`
// republishes the lost messages from the ledger, and the node, restarted,
// has the same ledger and takes new writes.
func TestRecoverCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	n, c := startTestNode(ctx, t, dir)
	for _, gln := range []string{"4000001000005", "4000003000003", "4000005000001", "4000006000000", "4000007000009"} {
		createParty(ctx, t, c, gln)
	}
	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	size, root := ledgerRoot(ctx, t, dir)
	truncateStream(t, dir)
	_, serveErr, served := runPedigree(ctx, t, "", nil, "serve", "--data", dir, "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	if served || !strings.Contains(serveErr, "the stream is behind the ledger") || !strings.Contains(serveErr, "pedigree recover --data") {
		t.Fatalf("serve after the loss: %s; want it to refuse and say what to run", serveErr)
	}

	out, errOut, ok := runPedigree(ctx, t, "", nil, "recover", "--data", dir)
	if !ok {
		t.Fatalf("recover: %s", errOut)
	}
	if !strings.Contains(out, "recovered: republished stream sequences") {
		t.Fatalf("recover printed %q, want what it republished", out)
	}
	t.Log(strings.TrimSpace(out))
	if s, r := ledgerRoot(ctx, t, dir); s != size || r != root {
		t.Fatalf("ledger after recover: %d entries, root %s; want %d, %s", s, r, size, root)
	}
	out, errOut, ok = runPedigree(ctx, t, "", nil, "recover", "--data", dir)
	if !ok || !strings.Contains(out, "nothing to recover") {
		t.Fatalf("recover again: %q, %s; want nothing to recover", out, errOut)
	}

	n, c = startTestNode(ctx, t, dir)
	createParty(ctx, t, c, "4000002000004") // answered once the ledger committed it
	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _ := ledgerRoot(ctx, t, dir); s != size+1 {
		t.Fatalf("ledger after a new write: %d entries, want %d", s, size+1)
	}
}

func TestRecoverCommandRefusesARunningNodesData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	n, _ := startTestNode(ctx, t, dir)
	defer func() { _ = n.Shutdown(ctx) }()
	if _, errOut, ok := runPedigree(ctx, t, "", nil, "recover", "--data", dir); ok || !strings.Contains(errOut, "is the node stopped?") {
		t.Fatalf("recover on a running node's data: %s, want a refusal", errOut)
	}
	if _, errOut, ok := runPedigree(ctx, t, "", nil, "recover", "--data", filepath.Join(dir, "missing")); ok || !strings.Contains(errOut, "no node data") {
		t.Fatalf("recover on no data: %s", errOut)
	}
}
