// Package nodetest starts, for the tests of packages outside services/,
// the parts of a node they must talk to without running a whole node: an
// embedded NATS server with JetStream that authenticates clients exactly as
// a node does, the node's streams, and the stream recovery of `pedigree
// recover` against a given JetStream. It is test support: nothing but
// tests imports it.
//
// Invariants: every server it starts takes no anonymous client (the node
// keys and the parties given are the only logins), stores under the
// directory given and is shut down by its caller.
package nodetest

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/ledger"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/ingest"
	"github.com/pedigree-project/pedigree/services/internal/natsauth"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// NATSConfig says what StartNATS starts.
type NATSConfig struct {
	// StoreDir holds JetStream's files.
	StoreDir string
	// Listen is the client address; "127.0.0.1:0" picks a free port, empty
	// means in-process connections only.
	Listen string
	// TLS, when set, is required of clients on the client port.
	TLS *tls.Config
	// Parties may log in with their registered keys, by GLN.
	Parties map[string]*pb.Party
	// NodeKeys log in as a node (every permission).
	NodeKeys []ed25519.PublicKey
	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger
}

// NATS is a running embedded NATS server that authenticates as a node's.
type NATS struct{ e *natsbus.Embedded }

// StartNATS starts the server described by cfg.
func StartNATS(ctx context.Context, cfg NATSConfig) (*NATS, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	authn, err := natsauth.NewEmbedded(natsauth.Parties(cfg.Parties), cfg.NodeKeys, natsauth.Limits{}, log, nil)
	if err != nil {
		return nil, err
	}
	e, err := natsbus.StartEmbedded(ctx, natsbus.EmbeddedConfig{StoreDir: cfg.StoreDir, Listen: cfg.Listen, Auth: authn, TLS: cfg.TLS}, log)
	if err != nil {
		return nil, err
	}
	return &NATS{e: e}, nil
}

// ConnectAsNode opens an in-process connection that logs in with the node
// key key.
func (n *NATS) ConnectAsNode(name string, key ed25519.PrivateKey) (*nats.Conn, error) {
	cred, err := natsauth.Credential(key)
	if err != nil {
		return nil, err
	}
	return n.e.Connect(name, cred)
}

// Addr is the client port's address ("127.0.0.1:port").
func (n *NATS) Addr() string { return n.e.Server().Addr().String() }

// Shutdown stops the server and waits until it has.
func (n *NATS) Shutdown() { n.e.Shutdown() }

// EnsureStreams declares the node's streams with their default limits.
func EnsureStreams(ctx context.Context, js jetstream.JetStream) error {
	return natsbus.EnsureStreams(ctx, js, natsbus.StreamLimits{})
}

// RecoverReport says what Recover compared and republished.
type RecoverReport = ingest.RecoverReport

// Recover republishes into js's SCANS stream what it lost of the ledger of
// the stopped node whose data is in dataDir, as `pedigree recover` does
// with the node's own embedded server.
func Recover(ctx context.Context, js jetstream.JetStream, dataDir string, log *slog.Logger) (rep RecoverReport, err error) {
	opts := ledger.PebbleOptions()
	opts.ReadOnly = true
	store, err := state.Open(filepath.Join(dataDir, "pebble"), opts)
	if err != nil {
		return rep, err
	}
	defer func() {
		if cerr := store.DB().Close(); err == nil && cerr != nil {
			err = fmt.Errorf("nodetest: close: %w", cerr)
		}
	}()
	lg, err := ledger.Open(store.DB(), ledger.Options{})
	if err != nil {
		return rep, err
	}
	return ingest.Recover(ctx, ingest.RecoverConfig{JS: js, Store: store, Ledger: lg, Logger: log})
}

// ClientURL is the URL a client connects to.
func (n *NATS) ClientURL() string { return n.e.ClientURL() }
