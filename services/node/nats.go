package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/services/internal/ingest"
	"github.com/pedigree-project/pedigree/services/internal/natsauth"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
)

// NATSKeyFile is the node's own NATS credential under DATA/keys: an
// Ed25519 key used as its user NKey, created on first start (mode 0600).
const NATSKeyFile = "nats.key"

// startNATS starts the embedded server, which authenticates every client
// from the registry, or connects to an external one, and declares the
// streams. The node's own connection authenticates with its NATS key.
func (n *Node) startNATS(ctx context.Context) error {
	key, err := envelope.LoadOrCreateKeyFile(filepath.Join(n.cfg.DataDir, KeysDir, NATSKeyFile))
	if err != nil {
		return fmt.Errorf("node: NATS key: %w", err)
	}
	cred, err := natsauth.Credential(key)
	if err != nil {
		return err
	}
	if n.cfg.NATSURL != "" {
		if err := n.connectExternal(cred); err != nil {
			return err
		}
	} else if err := n.startEmbedded(ctx, key, cred); err != nil {
		return err
	}
	if n.js, err = jetstream.New(n.nc); err != nil {
		return fmt.Errorf("node: jetstream: %w", err)
	}
	lim := n.streamLimits()
	if n.cfg.NATSCluster.Listen != "" {
		// A new cluster's JetStream answers once a quorum of its members
		// is up: wait for the others as long as the caller does.
		if err := natsbus.EnsureStreamsWhenReady(ctx, n.js, lim, n.logger); err != nil {
			return err
		}
		return n.checkClusterStream(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := natsbus.EnsureStreams(ctx, n.js, lim); err != nil {
		return err
	}
	return checkStream(ctx, n.js, n)
}

// checkClusterStream is checkStream on a cluster's stream, tried again
// while the stream does not answer (its replicas are still electing a
// leader, a member is restarting) until ctx ends; a stream behind or
// diverged from the ledger stops the start at once.
func (n *Node) checkClusterStream(ctx context.Context) error {
	wait := 100 * time.Millisecond
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := checkStream(cctx, n.js, n)
		cancel()
		if err == nil || errors.Is(err, ingest.ErrStreamBehind) || errors.Is(err, ingest.ErrStreamDiverged) || ctx.Err() != nil {
			return err
		}
		n.logger.Info("waiting for the cluster's stream to answer", "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// startEmbedded starts the embedded server (a cluster member when
// configured) and connects the node to it: in process, or, for a cluster
// member whose client port has no TLS, over that port with failover to
// the other members (connectCluster).
//
// A lone server's stream is checked against the ledger before its client
// port opens (checkStreamUnlistened). A cluster member's is not: the
// stream is replicated, its other members' client ports are open anyway,
// and a member started alone cannot read it; the check runs once the
// member has joined, before the node consumes.
func (n *Node) startEmbedded(ctx context.Context, key ed25519.PrivateKey, cred nats.Option) error {
	cluster, err := n.cfg.NATSCluster.natsbus()
	if err != nil {
		return err
	}
	if n.cfg.NATSListen != "" && cluster == nil {
		if err := n.checkStreamUnlistened(ctx, key, cred); err != nil {
			return err
		}
	}
	nodeKeys := []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}
	var clusterKey ed25519.PrivateKey
	if cluster != nil {
		clusterKey = clusterNATSKey(cluster.Password)
		nodeKeys = append(nodeKeys, clusterKey.Public().(ed25519.PublicKey))
	}
	n.natsAuth, err = natsauth.NewEmbedded(n.store, nodeKeys, n.cfg.NATSLimits, n.logger, n.tel.Registry)
	if err != nil {
		return err
	}
	tlsCfg, err := n.cfg.NATSTLS.server()
	if err != nil {
		return err
	}
	ecfg := natsbus.EmbeddedConfig{
		StoreDir:     filepath.Join(n.cfg.DataDir, "nats"),
		Listen:       n.cfg.NATSListen,
		SyncInterval: n.cfg.NATSSyncInterval,
		SyncAlways:   n.cfg.NATSSyncAlways,
		MaxPayload:   n.natsAuth.Limits().MaxPayload,
		Auth:         n.natsAuth,
		TLS:          tlsCfg,
	}
	if cluster != nil {
		// JetStream knows a cluster's members by server name.
		ecfg.ServerName, ecfg.Cluster = "pedigree-"+n.nodeName, cluster
	}
	if n.embedded, err = natsbus.StartEmbedded(ctx, ecfg, n.logger); err != nil {
		return err
	}
	if cluster != nil && tlsCfg == nil {
		return n.connectCluster(clusterKey)
	}
	n.nc, err = n.embedded.Connect("pedigree-node", cred)
	return err
}

// connectExternal connects to an external server or cluster: with a
// credentials file when the cluster's operator issued one, otherwise with
// the node's NATS key (which the cluster's configuration must list, see
// deploy/), over TLS when configured; and serves the cluster's auth
// callout when an issuer key is configured.
func (n *Node) connectExternal(cred nats.Option) error {
	opts := []nats.Option{nats.Name("pedigree-node"), nats.MaxReconnects(-1)}
	if n.cfg.NATSCreds != "" {
		opts = append(opts, nats.UserCredentials(n.cfg.NATSCreds))
	} else {
		opts = append(opts, cred)
	}
	tlsOpts, err := n.cfg.NATSTLS.client()
	if err != nil {
		return err
	}
	opts = append(opts, tlsOpts...)
	if n.nc, err = nats.Connect(n.cfg.NATSURL, opts...); err != nil {
		return fmt.Errorf("node: connect to NATS at %s: %w", n.cfg.NATSURL, err)
	}
	if n.cfg.NATSCalloutIssuer == "" {
		return nil
	}
	n.callout, err = natsauth.NewCallout(natsauth.CalloutConfig{
		Registry: n.store, IssuerSeedFile: n.cfg.NATSCalloutIssuer, Account: n.cfg.NATSCalloutAccount,
		Limits: n.cfg.NATSLimits, Logger: n.logger, Metrics: n.tel.Registry,
	})
	if err != nil {
		return err
	}
	if err := n.callout.Serve(n.nc); err != nil {
		return err
	}
	if n.cfg.NATSSystemUser == "" {
		return nil
	}
	pass, err := os.ReadFile(n.cfg.NATSSystemPasswordFile)
	if err != nil {
		return fmt.Errorf("node: NATS system account password: %w", err)
	}
	sysOpts := append([]nats.Option{nats.Name("pedigree-node-system"), nats.MaxReconnects(-1),
		nats.UserInfo(n.cfg.NATSSystemUser, strings.TrimSpace(string(pass)))}, tlsOpts...)
	if n.natsSys, err = nats.Connect(n.cfg.NATSURL, sysOpts...); err != nil {
		return fmt.Errorf("node: connect to the NATS system account at %s: %w", n.cfg.NATSURL, err)
	}
	return nil
}

// runNATSAuth sweeps the connections the node admitted until ctx ends.
func (n *Node) runNATSAuth(ctx context.Context) {
	switch {
	case n.natsAuth != nil:
		n.natsAuth.Run(ctx, n.embedded.Server(), n.cfg.NATSSweepInterval)
	case n.callout != nil && n.natsSys != nil:
		n.callout.Run(ctx, n.natsSys, n.cfg.NATSSweepInterval)
	}
}

// Callout is the auth callout the node answers for an external cluster,
// nil otherwise.
func (n *Node) Callout() *natsauth.Callout { return n.callout }

// NATSClusterURL is the embedded server's route URL (what the other
// members of its cluster list in their routes), or "" outside a cluster.
func (n *Node) NATSClusterURL() string {
	if n.embedded == nil {
		return ""
	}
	return n.embedded.ClusterURL()
}

// NATSAuth is the embedded server's authenticator, nil with an external
// server.
func (n *Node) NATSAuth() *natsauth.Embedded { return n.natsAuth }
