// Package nodetest starts, for the tests of packages outside services/,
// the parts of a node they must talk to without running a whole node: an
// embedded NATS server with JetStream that authenticates clients exactly as
// a node does, and the node's streams (the stream recovery of `pedigree
// recover` against such a server is node.RecoverStream). It is test
// support: nothing but tests imports it.
//
// Invariants: every server it starts takes no anonymous client (the node
// keys and the parties given are the only logins), stores under the
// directory given and is shut down by its caller.
package nodetest

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/natsauth"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
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

// ClientURL is the URL a client connects to.
func (n *NATS) ClientURL() string { return n.e.ClientURL() }
