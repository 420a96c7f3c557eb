package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger/witness"
)

// Cosigning between the nodes of a cluster. Every node builds the same
// ledger, so every node can vouch for the others' checkpoints: each serves
// a witness.Replica at /cosign/ on its HTTP port, which cosigns a
// checkpoint only when the node's own tree of that size has that root, and
// each asks its peers (Config.Peers) to cosign its checkpoints. The
// checkpoint endpoint serves the node's checkpoint with its own
// cosignature, its peers' and the outside witnesses'.
//
// A node cosigns with its node key (the key an admin registered on the
// ledger), as a cosignature/v1 key named after the node: a peer learns
// that key from GET /cosign/vkey and asks for cosignatures only if the
// ledger trusts it. The replica is on the public HTTP port, not on the
// operator listener: peers are other machines, and the operator listener
// (metrics, backups) stays on loopback; a cosignature is a public
// statement about a public checkpoint, made for whoever asks, so the
// endpoint needs no token.

// CosignVerifierKeyFile, in the keys directory, holds the node's
// cosignature/v1 verifier key: what a regulator passes to
// `pedigree history --trust` to count this node's cosignature.
const CosignVerifierKeyFile = "cosign.vkey"

// defaultCosignRetry is how soon a checkpoint that a peer did not cosign
// (it was behind, down or cut off) is asked for again when no newer one
// comes.
const defaultCosignRetry = 5 * time.Second

// maxCosignInFlight bounds the add-checkpoint requests the node's
// replica answers at once (each may wait up to a second for the ledger);
// more are answered 503 with Retry-After.
const maxCosignInFlight = 32

// validatePeers checks the Peers URLs.
func (c Config) validatePeers() []error {
	var errs []error
	for _, p := range c.Peers {
		u, err := url.Parse(p)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			errs = append(errs, fmt.Errorf("peer %q: want the http(s)://host:port of another node's HTTP API", p))
		}
	}
	if (c.PeerTLS.Cert == "") != (c.PeerTLS.Key == "") {
		errs = append(errs, errors.New("peer-tls-cert, peer-tls-key: both or neither"))
	}
	return errs
}

// startCosigning makes the node's replica and the collector that gets its
// checkpoints cosigned by the outside witnesses and by its peers.
func (n *Node) startCosigning() error {
	signer, vkey, err := witness.NewEd25519Cosigner(n.nodeName, n.nodeKey)
	if err != nil {
		return fmt.Errorf("node: cosigner: %w", err)
	}
	path := filepath.Join(n.cfg.DataDir, KeysDir, CosignVerifierKeyFile)
	if old, err := os.ReadFile(path); err != nil || !bytes.Equal(bytes.TrimSpace(old), []byte(vkey)) {
		if err := writeFileAtomic(path, []byte(vkey+"\n"), 0o644); err != nil {
			return err
		}
	}
	n.cosignVKey = vkey
	n.replica, err = witness.NewReplica(witness.ReplicaConfig{Tree: n.ledger, Signer: signer, VerifierKey: vkey,
		Grown: func(ctx context.Context) error {
			return n.pipeline.WaitApplied(ctx, n.pipeline.Applied()+1)
		},
		Logger: n.logger.With("component", "cosign"), Registerer: n.tel.Registry})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	cfg := witness.CollectorConfig{Log: n.ledger, Policy: n.cfg.WitnessPolicy,
		Logger: n.logger.With("component", "witness"), Registerer: n.tel.Registry}
	if len(n.cfg.Peers) > 0 {
		if cfg.HTTP, err = n.peerClient(); err != nil {
			return err
		}
		for _, p := range n.cfg.Peers {
			cfg.Peers = append(cfg.Peers, witness.PeerURL(p))
		}
		cfg.Admit, cfg.Self = n.admitPeer, signer
		cfg.RetryInterval = n.cfg.cosignRetry
		if cfg.RetryInterval <= 0 {
			cfg.RetryInterval = defaultCosignRetry
		}
	}
	if n.cosigner, err = witness.NewCollector(cfg); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.logger.Info("cosigning", "cosign_key", vkey, "peers", len(n.cfg.Peers))
	return nil
}

// admitPeer accepts a peer's cosignature key when the ledger trusts it as
// a node key; the node's own key is witness.ErrSelf.
func (n *Node) admitPeer(name string, pub ed25519.PublicKey) error {
	if pub.Equal(n.nodeKey.Public()) {
		return witness.ErrSelf
	}
	id := envelope.KeyID(pub)
	var keyID [8]byte
	if _, err := hex.Decode(keyID[:], []byte(id)); err != nil {
		return fmt.Errorf("key ID %s: %w", id, err)
	}
	registered, _, err := n.store.NodeKey(keyID)
	if err != nil {
		return fmt.Errorf("node key %s (%s) is not registered on the ledger: %w", id, name, err)
	}
	if registered != name {
		n.logger.Warn("a peer cosigns under another name than the ledger registered for its key", "name", name, "registered", registered, "key_id", id)
	}
	return nil
}

// peerClient is the HTTP client that asks peers: their certificates
// checked with PeerTLS.CA (default: the system's roots), PeerTLS.Cert
// presented to peers that require a client certificate.
func (n *Node) peerClient() (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	f := n.cfg.PeerTLS
	if f.CA != "" {
		pool, err := certPool(f.CA)
		if err != nil {
			return nil, fmt.Errorf("node: peer-tls-ca: %w", err)
		}
		cfg.RootCAs = pool
	}
	if f.Cert != "" {
		cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return nil, fmt.Errorf("node: peer-tls-cert: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr, Timeout: witness.PeerTimeout}, nil
}

// CosignVerifierKey returns the node's cosignature/v1 verifier key (also
// in DATA/keys/cosign.vkey).
func (n *Node) CosignVerifierKey() string { return n.cosignVKey }

// cosignHandler serves the replica under witness.PeerPrefix, and h
// elsewhere.
func (n *Node) cosignHandler(h http.Handler) http.Handler {
	replica := http.StripPrefix(witness.PeerPrefix, witness.ReplicaHandler(n.replica))
	slots := make(chan struct{}, maxCosignInFlight)
	mux := http.NewServeMux()
	mux.Handle(witness.PeerPrefix+"/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			replica.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "too many cosigning requests at once; try again", http.StatusServiceUnavailable)
		}
	}))
	mux.Handle("/", h)
	return mux
}
