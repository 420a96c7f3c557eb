package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/services/internal/ingest"
	"github.com/pedigree-project/pedigree/services/internal/natsauth"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
)

// checkStream compares the stream with what the ledger committed before
// the node serves: a stream behind or diverged from the ledger
// (ingest.ErrStreamBehind, ingest.ErrStreamDiverged) stops the start with
// the error, which says what to do. A ledger too far behind a stream whose
// retention dropped what it needs (ingest.ErrTooFarBehind) does not stop
// the start: the node serves, applies nothing, and says why on /readyz
// and in its log until it is restored from a backup.
func checkStream(ctx context.Context, js jetstream.JetStream, n *Node) error {
	err := ingest.CheckStream(ctx, js, n.store, n.ledger)
	if errors.Is(err, ingest.ErrTooFarBehind) {
		n.logger.Error("the node is not ready and applies nothing", "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return nil
}

// checkStreamUnlistened checks the stream on the embedded server started
// without its client port, before the node starts it with one: scanners
// that reconnect at once after a power loss would otherwise publish into a
// stream behind the ledger, at sequences it already applied, and turn a
// stream that pedigree recover can restore into one it must rebuild.
// Only the node's own credential (key, cred) is admitted.
func (n *Node) checkStreamUnlistened(ctx context.Context, key ed25519.PrivateKey, cred nats.Option) error {
	auth, err := natsauth.NewEmbedded(nil, []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, natsauth.Limits{}, n.logger, nil)
	if err != nil {
		return err
	}
	emb, err := natsbus.StartEmbedded(ctx, natsbus.EmbeddedConfig{StoreDir: filepath.Join(n.cfg.DataDir, "nats"), Auth: auth}, n.logger)
	if err != nil {
		return err
	}
	defer emb.Shutdown()
	nc, err := emb.Connect("pedigree-node-check", cred)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("node: jetstream: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// A stream lost with DATA/nats is recreated empty here, and refused.
	if err := natsbus.EnsureStreams(ctx, js, n.streamLimits()); err != nil {
		return err
	}
	return checkStream(ctx, js, n)
}
