package node

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/services/internal/natsauth"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
	"github.com/pedigree-project/pedigree/subjects"
)

// backlog publishes n messages that are no envelopes (each goes to the
// dead-letter stream, and advances the applied sequence) to the stream of
// the stopped node whose data is in dir, on its embedded server without
// a client port, and returns the stream's last sequence.
func backlog(ctx context.Context, t *testing.T, dir string, n int) uint64 {
	t.Helper()
	key, err := envelope.LoadOrCreateKeyFile(filepath.Join(dir, KeysDir, NATSKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	auth, err := natsauth.NewEmbedded(nil, []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, natsauth.Limits{}, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	emb, err := natsbus.StartEmbedded(ctx, natsbus.EmbeddedConfig{StoreDir: filepath.Join(dir, "nats"), Auth: auth}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Shutdown()
	cred, err := natsauth.Credential(key)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := emb.Connect("backlog", cred)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := js.PublishAsync(subjects.ScanSubject(apiPharm), fmt.Appendf(nil, "backlog %d", i)); err != nil {
			t.Fatal(err)
		}
		if (i+1)%1000 == 0 || i == n-1 { // within the client's bound on acknowledgements outstanding
			select {
			case <-js.PublishAsyncComplete():
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			}
		}
	}
	st, err := js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		t.Fatal(err)
	}
	return st.CachedInfo().State.LastSeq
}

// TestRestartedNodeIsNotReadyWhileCatchingUp: a node restarted with a
// backlog in its stream reports "catching up: applied N of M" (M the
// stream's last sequence at the start) until it has applied the backlog,
// then ready.
func TestRestartedNodeIsNotReadyWhileCatchingUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	cfg := testConfig(dir)
	shutdown(t, startNode(t, cfg))
	last := backlog(ctx, t, dir, 10_000)

	n := startNode(t, cfg)
	defer shutdown(t, n)
	want := fmt.Sprintf(" of %d", last)
	var catchingUp string
	var body string
	if err := waitFor(ctx, func() bool {
		var code int
		code, body = readyz(ctx, t, n)
		if code == http.StatusServiceUnavailable && catchingUp == "" && strings.Contains(body, "catching up: applied ") && strings.Contains(body, want) {
			catchingUp = body
		}
		return code == http.StatusOK
	}); err != nil {
		t.Fatalf("never ready: %q", body)
	}
	if catchingUp == "" {
		t.Fatalf("the restarted node was ready without reporting that it caught up with %d messages", last)
	}
	if got := n.pipeline.Applied(); got < last {
		t.Fatalf("ready at applied %d, before the stream's %d at the start", got, last)
	}
	t.Logf("first answer: %s", strings.TrimSpace(catchingUp))
}
