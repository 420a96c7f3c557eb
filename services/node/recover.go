package node

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
	"github.com/pedigree-project/pedigree/services/internal/ingest"
	"github.com/pedigree-project/pedigree/services/internal/natsauth"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// RecoverReport says what Recover compared and republished.
type RecoverReport = ingest.RecoverReport

// Recover brings back the SCANS stream of the stopped node whose data is
// in dataDir after a power loss left the stream behind the ledger: it
// opens the ledger read-only, starts the embedded JetStream with no client
// port and republishes, from the exact bytes the ledger keeps, the
// messages the stream lost. It never changes the ledger.
func Recover(ctx context.Context, dataDir string, logger *slog.Logger) (rep RecoverReport, err error) {
	// The ledger first: a running node holds it, and its stream must not
	// be touched.
	store, lg, closeStore, err := openStopped(dataDir, logger)
	if err != nil {
		return rep, err
	}
	defer closeStore(&err)
	// The server admits one credential, made for this run and never
	// stored: recover's own connection.
	_, key, err := envelope.GenerateKey()
	if err != nil {
		return rep, err
	}
	auth, err := natsauth.NewEmbedded(nil, []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, natsauth.Limits{}, logger, nil)
	if err != nil {
		return rep, err
	}
	cred, err := natsauth.Credential(key)
	if err != nil {
		return rep, err
	}
	// Every republished message is synced to disk before it is
	// acknowledged: a second power loss loses nothing recover did.
	emb, err := natsbus.StartEmbedded(ctx, natsbus.EmbeddedConfig{StoreDir: filepath.Join(dataDir, "nats"), SyncAlways: true, Auth: auth}, logger)
	if err != nil {
		return rep, err
	}
	defer emb.Shutdown()
	nc, err := emb.Connect("pedigree-recover", cred)
	if err != nil {
		return rep, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return rep, fmt.Errorf("jetstream: %w", err)
	}
	if err := natsbus.EnsureStreams(ctx, js, natsbus.StreamLimits{}); err != nil {
		return rep, err
	}
	return ingest.Recover(ctx, ingest.RecoverConfig{JS: js, Store: store, Ledger: lg, Logger: logger})
}

// RecoverStream is Recover against a JetStream the caller runs (an
// external server, a test's): it republishes into js's SCANS stream what
// it lost of the ledger of the stopped node whose data is in dataDir.
func RecoverStream(ctx context.Context, js jetstream.JetStream, dataDir string, logger *slog.Logger) (rep RecoverReport, err error) {
	store, lg, closeStore, err := openStopped(dataDir, logger)
	if err != nil {
		return rep, err
	}
	defer closeStore(&err)
	return ingest.Recover(ctx, ingest.RecoverConfig{JS: js, Store: store, Ledger: lg, Logger: logger})
}

// openStopped opens the Pebble data of a stopped node read-only, and its
// ledger; closeStore closes it, setting *err when closing fails and *err
// is nil.
func openStopped(dataDir string, logger *slog.Logger) (*state.Store, *ledger.Log, func(*error), error) {
	pebbleDir := filepath.Join(dataDir, "pebble")
	if _, err := os.Stat(pebbleDir); err != nil {
		return nil, nil, nil, fmt.Errorf("no node data in %s: %w", dataDir, err)
	}
	opts := ledger.PebbleOptions()
	opts.ReadOnly = true
	opts.Logger = pebbleLogger{logger}
	store, err := state.Open(pebbleDir, opts)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open %s (is the node stopped?): %w", dataDir, err)
	}
	closeStore := func(err *error) {
		if cerr := store.DB().Close(); *err == nil && cerr != nil {
			*err = fmt.Errorf("close %s: %w", pebbleDir, cerr)
		}
	}
	lg, err := ledger.Open(store.DB(), ledger.Options{})
	if err != nil {
		var ignored error
		closeStore(&ignored)
		return nil, nil, nil, fmt.Errorf("open the ledger in %s: %w", dataDir, err)
	}
	return store, lg, closeStore, nil
}

// NATSUser returns the NATS user NKey ("U…") of the node whose data is in
// dataDir, creating the node's NATS key (DATA/keys/nats.key) when it has
// none: what an external NATS cluster must admit for this node.
func NATSUser(dataDir string) (string, error) {
	dir := filepath.Join(dataDir, KeysDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	key, err := envelope.LoadOrCreateKeyFile(filepath.Join(dir, NATSKeyFile))
	if err != nil {
		return "", err
	}
	return natsauth.NKey(key.Public().(ed25519.PublicKey))
}
