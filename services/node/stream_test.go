package node

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/services/internal/ingest"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
	"github.com/pedigree-project/pedigree/subjects"
)

// TestNodeRefusesToStartOnAStreamBehindTheLedger loses the node's
// JetStream directory between two starts (a stream recreated empty): the
// node must not start, and say why and what to run, before scanners can
// publish into a stream whose sequences the ledger already applied.
func TestNodeRefusesToStartOnAStreamBehindTheLedger(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, testConfig(dir))
	shutdown(t, n)
	if err := os.RemoveAll(filepath.Join(dir, "nats")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := Start(ctx, testConfig(dir), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		shutdown(t, n)
		t.Fatal("the node started on a stream behind its ledger")
	}
	if !errors.Is(err, ingest.ErrStreamBehind) || !strings.Contains(err.Error(), "pedigree recover") {
		t.Fatalf("Start: %v, want ErrStreamBehind saying what to run", err)
	}
}

// TestNodeStopsWhenItsStreamIsReplaced replaces the stream of a running
// node by an empty one: the node must notice at once, report it in its
// readiness, and stop.
func TestNodeStopsWhenItsStreamIsReplaced(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Through the node's own connection: the only one allowed to manage
	// streams.
	if err := n.js.DeleteStream(ctx, subjects.ScanStream); err != nil {
		t.Fatal(err)
	}
	if err := natsbus.EnsureStreams(ctx, n.js, natsbus.StreamLimits{}); err != nil {
		t.Fatal(err)
	}

	url := "http://" + n.MetricsAddr() + "/readyz" // the operator's, with the reason
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		code, body := httpGet(t, url, nil)
		if code == 503 && strings.Contains(string(body), "the stream is behind the ledger") && strings.Contains(string(body), "pedigree recover") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("/readyz = %d %s, want 503 saying the stream is behind and what to run", code, body)
		case <-tick.C:
		}
	}
	if err := n.Run(ctx); !errors.Is(err, ingest.ErrStreamBehind) {
		t.Fatalf("Run: %v, want the node to stop with ErrStreamBehind", err)
	}
}
