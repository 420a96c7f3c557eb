package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/services/ingest"
)

// TestNodeStopsOnAStreamBehindTheLedger loses the node's JetStream
// directory (a stream recreated empty) between two starts: the node must
// report it in its readiness and stop, not consume a stream whose
// sequences the ledger already applied.
func TestNodeStopsOnAStreamBehindTheLedger(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, testConfig(dir))
	shutdown(t, n)
	if err := os.RemoveAll(filepath.Join(dir, "nats")); err != nil {
		t.Fatal(err)
	}

	n = startNode(t, testConfig(dir))
	url := "http://" + n.HTTPAddr() + "/readyz"
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		code, body := httpGet(t, url, nil)
		if code == 503 && strings.Contains(string(body), "the stream is behind the ledger") && strings.Contains(string(body), "pedigree recover") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %s, want 503 saying the stream is behind and what to run", code, body)
		}
		<-tick.C
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Run(ctx); !errors.Is(err, ingest.ErrStreamBehind) {
		t.Fatalf("Run: %v, want the node to stop with ErrStreamBehind", err)
	}
}
