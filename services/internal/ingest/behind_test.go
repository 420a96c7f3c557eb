package ingest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/services/internal/natsbus"
	"github.com/pedigree-project/pedigree/subjects"
)

// TestRefusesAStreamBehindTheLedger simulates a stream that lost
// acknowledged messages (recreated empty): the node must refuse to consume
// rather than skip new messages whose sequences it already applied.
func TestRefusesAStreamBehindTheLedger(t *testing.T) {
	w := newWorld(t)
	w.market()
	applied := w.n.p.Applied()
	w.n.cancel()
	if err := <-w.n.done; err != nil {
		t.Fatal(err)
	}
	w.n.cancel = nil
	t.Cleanup(func() { _ = w.n.store.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Recreate the stream empty (the stream denies purges and deletes of
	// messages, not of the stream itself).
	if err := w.js.DeleteStream(ctx, subjects.ScanStream); err != nil {
		t.Fatal(err)
	}
	if err := natsbus.EnsureStreams(ctx, w.js, natsbus.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.js.Publish(ctx, subjects.ScanSubject(pharmGLN), []byte("new message")); err != nil {
		t.Fatal(err)
	}
	err := w.n.p.Run(ctx)
	if !errors.Is(err, ErrStreamBehind) {
		t.Fatalf("Run on a stream behind the ledger (applied %d): %v, want ErrStreamBehind", applied, err)
	}
}
