package ingest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
	"github.com/pedigree-project/pedigree/subjects"
)

// TestStalledConsumerIsMadeAnew pauses the node's consumer through the
// JetStream API (it then delivers nothing, as a consumer whose pull
// requests were lost in a leader election) and publishes: the watchdog
// finds the stream ahead of what was delivered, counts the stall, makes the
// consumer anew, and the message reaches the ledger. Without the watchdog
// the pipeline waits for the pause to end, an hour later.
func TestStalledConsumerIsMadeAnew(t *testing.T) {
	w := newBareWorld(t, natsbus.EmbeddedConfig{})
	w.n = w.startNodeConfigured("ledger-a", t.TempDir(), 0, func(p *Pipeline) { p.cfg.StallAfter = 200 * time.Millisecond })
	w.genesis()
	before := testutil.ToFloat64(w.n.p.m.stalls)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := w.js.PauseConsumer(ctx, subjects.ScanStream, "ledger-a", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	w.party(mfrGLN, pb.Role_ROLE_MANUFACTURER) // waits until the ledger applied it
	if got := testutil.ToFloat64(w.n.p.m.stalls); got <= before {
		t.Fatalf("stalls: %v, want more than the %v before the pause", got, before)
	}
	if err := w.n.p.Stalled(); err != nil {
		t.Fatalf("Stalled after the consumer delivered again: %v", err)
	}
	c, err := w.js.Consumer(ctx, subjects.ScanStream, "ledger-a")
	if err != nil {
		t.Fatal(err)
	}
	if c.CachedInfo().Paused {
		t.Fatal("the consumer is still the paused one")
	}
}

// TestStallWatchReportsStall checks the watchdog's finding on a consumer
// that delivers nothing: Stalled names the stall, with errStalled, while
// the stream is ahead; it is cleared once a message is delivered.
func TestStallWatchReportsStall(t *testing.T) {
	w := newBareWorld(t, natsbus.EmbeddedConfig{})
	w.n = w.startNodeConfigured("ledger-a", t.TempDir(), 0, func(p *Pipeline) { p.cfg.StallAfter = time.Hour })
	w.genesis()
	p := w.n.p
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := w.js.PauseConsumer(ctx, subjects.ScanStream, "ledger-a", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.js.Publish(ctx, subjects.ScanSubject(mfrGLN), []byte("not delivered")); err != nil {
		t.Fatal(err)
	}
	expected := p.Applied() + 1
	watch := stallWatch{since: time.Now().Add(-2 * time.Hour), applied: p.Applied()}
	err := watch.check(ctx, p, expected)
	if !errors.Is(err, errStalled) {
		t.Fatalf("check: %v, want errStalled", err)
	}
	if serr := p.Stalled(); !errors.Is(serr, errStalled) {
		t.Fatalf("Stalled: %v, want errStalled", serr)
	}
	// Once the consumer delivers again, the finding is cleared.
	watch.live = false
	watch.delivered(p)
	if serr := p.Stalled(); serr != nil {
		t.Fatalf("Stalled after a delivery: %v", serr)
	}
}
