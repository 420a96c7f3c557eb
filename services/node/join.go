package node

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/envelope"
	ledgerentry "github.com/pedigree-project/pedigree/ledger/entry"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/subjects"
)

// Joining a ledger another node started. Every node of a cluster builds
// the same ledger from the one stream; what differs between nodes is only
// who writes the genesis (one node, the first) and which node keys sign
// API-submitted envelopes (each node its own, trusted by the ledger once
// an admin registered it: the genesis registers the first node's, a
// NodeKey envelope every other one's).

// joinLogEvery is how often a node waiting for the genesis or for its
// admission says so in the log.
const joinLogEvery = 30 * time.Second

// mayWriteGenesis reports whether this node starts the ledger when the
// stream has no genesis: not when it joins, nor when it trusts another
// node's key for the genesis.
func (n *Node) mayWriteGenesis() bool {
	return !n.cfg.Join && n.nodeKey.Public().(ed25519.PublicKey).Equal(n.genesisKey)
}

// admitted reports whether the ledger trusts this node's key, so that the
// envelopes its API signs are applied.
func (n *Node) admitted() bool {
	_, _, err := n.store.NodeKey(n.nodeKeyIDBytes())
	return err == nil
}

func (n *Node) nodeKeyIDBytes() [8]byte {
	var id [8]byte
	_, _ = hex.Decode(id[:], []byte(n.nodeKeyID))
	return id
}

// followGenesis sets, for a node that joins (Config.Join) with no genesis
// key file, the key whose genesis the node accepts: the one that signed
// the genesis the stream begins with. It waits while the stream is empty.
// The genesis must be signed by the node key it registers; anything else
// at the stream's first sequence stops the start.
func (n *Node) followGenesis(ctx context.Context) error {
	if !n.cfg.Join || n.cfg.GenesisKeyFile != "" || n.ledger.Size() > 0 {
		return nil
	}
	st, err := n.js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		return fmt.Errorf("node: stream %s: %w", subjects.ScanStream, err)
	}
	var msg *jetstream.RawStreamMsg
	err = n.waitUntil(ctx, "waiting for the genesis of the ledger this node joins (its first node must start)", func() (bool, error) {
		gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var err error
		msg, err = st.GetMsg(gctx, 1)
		if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) && ctx.Err() == nil {
			// The stream may be electing a leader: try again.
			n.logger.Debug("the stream's first message", "err", err)
		}
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("node: join: the stream's first message: %w", err)
	}
	pub, g, err := genesisOf(msg.Data)
	if err != nil {
		return fmt.Errorf("node: join: the stream's first message (sequence 1): %w", err)
	}
	n.genesisKey = pub
	n.logger.Info("joining the ledger the stream begins with", "genesis_key", envelope.KeyID(pub),
		"genesis_node", g.GetNodeKey().GetName(), "admin", g.GetAdmin().GetGln())
	return nil
}

// genesisOf opens a genesis envelope and checks that the node key it
// registers signed it.
func genesisOf(wire []byte) (ed25519.PublicKey, *pb.Genesis, error) {
	op, err := envelope.Open(wire)
	if err != nil {
		return nil, nil, err
	}
	g := op.Envelope.GetGenesis()
	if g == nil {
		return nil, nil, errors.New("not a genesis")
	}
	pub := ed25519.PublicKey(g.GetNodeKey().GetPublicKey())
	if len(pub) != ed25519.PublicKeySize || envelope.KeyID(pub) != op.Signed.GetKeyId() || !op.Verify(pub) {
		return nil, nil, errors.New("a genesis not signed by the node key it registers")
	}
	return pub, g, nil
}

// joinLedger waits, on a node that does not write the genesis, until the
// ledger has its genesis, checks that its admin is the configured one,
// then waits until the ledger trusts this node's key.
func (n *Node) joinLedger(ctx context.Context) error {
	if err := n.waitUntil(ctx, "waiting for the ledger's genesis (written by the node whose key is the genesis key)", func() (bool, error) {
		return n.ledger.Size() > 0, nil
	}); err != nil {
		return err
	}
	if _, err := n.store.Party(n.cfg.AdminGLN); errors.Is(err, state.ErrNotFound) {
		return n.wrongAdmin(ctx)
	} else if err != nil {
		return err
	}
	if n.admitted() {
		return nil
	}
	pub := n.nodeKey.Public().(ed25519.PublicKey)
	n.logger.Warn("the ledger does not trust this node's key yet; an admin must add it: "+
		"pedigree node add --name "+n.nodeName+" --key-hex "+hex.EncodeToString(pub),
		"node", n.nodeName, "key_id", n.nodeKeyID)
	return n.waitUntil(ctx, "waiting for an admin to add this node's key (pedigree node add --name "+n.nodeName+
		" --key-hex "+hex.EncodeToString(pub)+")", func() (bool, error) { return n.admitted(), nil })
}

// wrongAdmin explains a ledger whose admin is not the configured one.
func (n *Node) wrongAdmin(ctx context.Context) error {
	e, err := n.ledger.Entry(ctx, 0)
	if err != nil {
		return fmt.Errorf("node: ledger entry 0: %w", err)
	}
	entry, err := ledgerentry.Decode(e.Data)
	if err != nil {
		return fmt.Errorf("node: ledger entry 0: %w", err)
	}
	admin := "none (the first entry is not a genesis)"
	if op, err := envelope.Open(entry.GetEnvelope()); err == nil && op.Envelope.GetGenesis() != nil {
		admin = op.Envelope.GetGenesis().GetAdmin().GetGln()
	}
	return fmt.Errorf("node: admin-gln: this node is configured with admin %s, but the ledger it joins was started with admin %s; "+
		"every node of a ledger has the same --admin-gln", n.cfg.AdminGLN, admin)
}

// waitUntil calls done after every batch the ledger commits (and every
// second, for conditions on the stream) until it reports true, fails, or
// ctx ends; what says, in the log, what the node waits for.
func (n *Node) waitUntil(ctx context.Context, what string, done func() (bool, error)) error {
	logged := time.Now()
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		if time.Since(logged) >= joinLogEvery {
			n.logger.Info(what)
			logged = time.Now()
		}
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		var werr error
		if n.pipeline != nil {
			werr = n.pipeline.WaitApplied(wctx, n.pipeline.Applied()+1)
		} else {
			<-wctx.Done()
		}
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("node: %s: %w", what, ctx.Err())
		}
		if werr != nil && wctx.Err() == nil {
			return werr // the pipeline stopped
		}
	}
}
