package witness

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/pedigree-project/pedigree/ledger"
)

// PeerTimeout bounds what a round spends on one peer: a replica answers
// within DefaultReplicaWait, so one that takes much longer is down or cut
// off, and a round (which a pack history may wait for) does not wait on
// it.
const PeerTimeout = DefaultReplicaWait + 2*time.Second

// A peer is another node that builds the log, asked as a Replica. Its
// fields are used by one round at a time.
type peer struct {
	prefix string  // its submission prefix
	name   string  // for logs and metrics: its URL without credentials
	client *Client // nil until its key is learnt and admitted
	self   bool    // it is this node
}

// addPeers checks the peers' prefixes.
func (c *Collector) addPeers(prefixes []string) error {
	if len(prefixes) > 0 && c.admit == nil {
		return errors.New("witness collector: peers need an Admit function")
	}
	seen := map[string]bool{}
	for _, p := range prefixes {
		u, err := url.Parse(p)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("peer URL %q: must be an http(s) URL without query", p)
		}
		if seen[u.String()] {
			return fmt.Errorf("peer URL %q: listed twice", p)
		}
		seen[u.String()] = true
		c.peers = append(c.peers, &peer{prefix: u.String(), name: u.Redacted()})
	}
	return nil
}

// learn gets peer j's key and checks it with Admit; it reports whether
// the peer may be asked.
func (c *Collector) learn(ctx context.Context, p *peer) bool {
	if p.client != nil || p.self {
		return !p.self
	}
	vkey, err := FetchVerifierKey(ctx, c.hc, p.prefix)
	if err != nil {
		c.requests.WithLabelValues(p.name, "error").Inc()
		c.logger.Warn("peer unreachable: its key", "peer", p.name, "err", err)
		return false
	}
	name, pub, err := ParseCosignatureKey(vkey)
	if err == nil {
		err = c.admit(name, pub)
	}
	switch {
	case errors.Is(err, ErrSelf):
		p.self = true
		return false
	case err != nil:
		c.requests.WithLabelValues(p.name, "refused").Inc()
		c.logger.Warn("peer's key is not one the ledger trusts: its cosignatures are not asked for", "peer", p.name, "key", vkey, "err", err)
		return false
	}
	v, err := NewCosignatureVerifier(vkey)
	if err != nil {
		return false // ParseCosignatureKey checked it
	}
	u, _ := url.Parse(p.prefix)
	p.client = &Client{URL: u.JoinPath("add-checkpoint").String(), Verifier: v, HTTP: c.hc}
	c.logger.Info("peer's cosignature key learnt", "peer", p.name, "key", vkey)
	return true
}

// askPeer gets peer j's cosignature on cp. A peer checks the checkpoint
// against its own tree, so it needs no old size nor proof. A failure is
// logged and counted, and yields none.
func (c *Collector) askPeer(ctx context.Context, j int, cp ledger.Checkpoint) []note.Signature {
	p := c.peers[j]
	ctx, cancel := context.WithTimeout(ctx, PeerTimeout)
	defer cancel()
	if !c.learn(ctx, p) {
		return nil
	}
	sigs, err := p.client.AddCheckpoint(ctx, 0, nil, cp.Note)
	var conflict *ConflictError
	var status *StatusError
	switch {
	case errors.As(err, &conflict) && conflict.Size < cp.Size:
		c.requests.WithLabelValues(p.name, "behind").Inc()
		c.logger.Info("peer has not reached the checkpoint's size yet", "peer", p.name, "peer_size", conflict.Size, "size", cp.Size)
		return nil
	case errors.As(err, &conflict):
		c.requests.WithLabelValues(p.name, "fork").Inc()
		c.logger.Error("fork alarm: a peer's ledger has another root at this checkpoint's size; it refuses to cosign",
			"peer", p.name, "size", cp.Size, "root", cp.Root.String())
		return nil
	case errors.As(err, &status):
		c.requests.WithLabelValues(p.name, "refused").Inc()
		c.logger.Warn("peer refused the checkpoint", "peer", p.name, "size", cp.Size, "err", err)
		return nil
	case err != nil:
		c.requests.WithLabelValues(p.name, "error").Inc()
		c.logger.Warn("peer unreachable", "peer", p.name, "size", cp.Size, "err", err)
		return nil
	}
	c.requests.WithLabelValues(p.name, "cosigned").Inc()
	c.sizes.WithLabelValues(p.name).Set(float64(cp.Size))
	return sigs
}

// cosignatureOf returns s's cosignature on the checkpoint note msg.
func cosignatureOf(msg []byte, s note.Signer) ([]note.Signature, error) {
	var u *note.UnverifiedNoteError
	if _, err := note.Open(msg, nil); !errors.As(err, &u) {
		return nil, fmt.Errorf("checkpoint note: %w", err)
	}
	signed, err := note.Sign(&note.Note{Text: u.Note.Text}, s)
	if err != nil {
		return nil, fmt.Errorf("cosign: %w", err)
	}
	if _, err = note.Open(signed, nil); !errors.As(err, &u) {
		return nil, fmt.Errorf("cosign: %w", err)
	}
	return u.Note.UnverifiedSigs, nil
}

// PeerPrefix is where a node serves its Replica under the API URL base.
const PeerPrefix = "/cosign"

// PeerURL returns the submission prefix of the node whose API is at base
// (http(s)://host:port).
func PeerURL(base string) string { return strings.TrimSuffix(base, "/") + PeerPrefix }
