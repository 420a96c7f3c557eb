package ingest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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

// TestTransientSetupTellsAClusterCatchingUpFromAMisconfiguration: the
// answers a JetStream API gives while a cluster elects leaders (no
// responders, no answer in time) make the pipeline try its consumer setup
// again, even at its first start; a stream that does not exist does not.
// The errors are the real ones, from the world's server.
func TestTransientSetupTellsAClusterCatchingUpFromAMisconfiguration(t *testing.T) {
	w := newBareWorld(t, natsbus.EmbeddedConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	setup := func(err error) error { return fmt.Errorf("%w: reset consumer: %w", errConsumerSetup, err) }

	nobody, err := jetstream.NewWithAPIPrefix(w.nc, "$NOBODY.API")
	if err != nil {
		t.Fatal(err)
	}
	noResponders := nobody.DeleteConsumer(ctx, subjects.ScanStream, "ledger-a")
	short, stop := context.WithTimeout(ctx, time.Nanosecond)
	defer stop()
	<-short.Done()
	late := w.js.DeleteConsumer(short, subjects.ScanStream, "ledger-a")
	noStream := w.js.DeleteConsumer(ctx, "NO_SUCH_STREAM", "ledger-a")
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"no responders", noResponders, true},
		{"no answer in time", late, true},
		{"JetStream temporarily unavailable", &jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}, true},
		{"no such stream", noStream, false},
		{"JetStream not enabled for the account", jetstream.ErrJetStreamNotEnabledForAccount, false},
	} {
		if c.err == nil {
			t.Fatalf("%s: no error from the server", c.name)
		}
		if got := transientSetup(setup(c.err)); got != c.want {
			t.Errorf("%s (%v): transient %v, want %v", c.name, c.err, got, c.want)
		}
	}
}
