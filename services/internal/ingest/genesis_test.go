package ingest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
	"github.com/pedigree-project/pedigree/subjects"
)

// publishGenesis puts on the stream, without waiting for any node, the
// genesis of a node named name signed by key.
func (w *world) publishGenesis(name string, key ed25519.PrivateKey) uint64 {
	w.t.Helper()
	env := genesisOf(name, key.Public().(ed25519.PublicKey))
	wire, err := envelope.Seal(env, NodeSignerPrefix+name, key)
	if err != nil {
		w.t.Fatal(err)
	}
	body, _ := envelope.Marshal(env)
	m := nats.NewMsg(subjects.ScanSubject(adminGLN))
	m.Data = wire
	m.Header.Set(jetstream.MsgIDHeader, envelope.MsgID(env, body))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := w.js.PublishMsg(ctx, m)
	if err != nil {
		w.t.Fatal(err)
	}
	return ack.Sequence
}

// halted waits for n's pipeline to stop by itself and returns why; n is
// closed.
func (w *world) halted(n *node) error {
	w.t.Helper()
	var err error
	select {
	case err = <-n.done:
	case <-time.After(20 * time.Second):
		w.t.Fatal("the pipeline did not stop")
	}
	n.cancel()
	n.cancel = nil
	if cerr := n.store.Close(); cerr != nil {
		w.t.Error(cerr)
	}
	return err
}

// TestGenesisOfAStrangerStopsThePipeline: a stream whose first message is
// a genesis signed by a key the node does not trust. The genesis goes to
// the dead-letter stream naming both keys, the ledger stays empty and the
// pipeline stops with ErrUntrustedGenesis. A restart resumes after it, and
// the trusted genesis starts the ledger.
func TestGenesisOfAStrangerStopsThePipeline(t *testing.T) {
	w := newBareWorld(t, natsbus.EmbeddedConfig{})
	_, stranger, _ := envelope.GenerateKey()
	seq := w.publishGenesis("intruder", stranger)
	dir := t.TempDir()
	n := w.startNode("ledger-a", dir)
	err := w.halted(n)
	var ug *UntrustedGenesisError
	if !errors.Is(err, ErrUntrustedGenesis) || !errors.As(err, &ug) {
		t.Fatalf("pipeline stopped with %v, want ErrUntrustedGenesis", err)
	}
	signer := envelope.KeyID(stranger.Public().(ed25519.PublicKey))
	trusted := envelope.KeyID(w.nodeKey.Public().(ed25519.PublicKey))
	if ug.Seq != seq || ug.KeyID != signer || ug.Want != trusted || ug.Name != "intruder" {
		t.Fatalf("refusal %+v, want sequence %d, signer %s, trusted %s", ug, seq, signer, trusted)
	}
	for _, want := range []string{signer, trusted, "stream sequence 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if got := n.log.Size(); got != 0 {
		t.Fatalf("ledger has %d entries, want none", got)
	}
	if r := w.lastDeadReason(); !strings.Contains(r, "genesis: signed by key "+signer) || !strings.Contains(r, trusted) {
		t.Fatalf("dead-letter reason %q, want both keys named", r)
	}

	w.n = w.startNode("ledger-a", dir)
	w.genesis()
	if got := w.n.log.Size(); got != 1 {
		t.Fatalf("after the trusted genesis the ledger has %d entries, want 1", got)
	}
}

// TestJoiningNodeTrustsTheFirstNodesGenesis: a second node consuming a
// ledger another node started refuses its genesis when it trusts only its
// own key, and replays it byte for byte when given the first node's key.
func TestJoiningNodeTrustsTheFirstNodesGenesis(t *testing.T) {
	w := newWorld(t)
	w.market()
	_, own, _ := envelope.GenerateKey()
	b := w.startNodeTrusting("ledger-b", t.TempDir(), 0, own.Public().(ed25519.PublicKey))
	if err := w.halted(b); !errors.Is(err, ErrUntrustedGenesis) {
		t.Fatalf("node trusting its own key: %v, want ErrUntrustedGenesis", err)
	}
	c := w.startNodeTrusting("ledger-c", t.TempDir(), 0, w.nodeKey.Public().(ed25519.PublicKey))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.p.WaitApplied(ctx, w.n.p.Applied()); err != nil {
		t.Fatal(err)
	}
	sa, ra := w.n.log.Head()
	sc, rc := c.log.Head()
	if sa != sc || ra != rc || sa < 5 {
		t.Fatalf("joining node: size %d root %x; first node: size %d root %x", sc, rc, sa, ra)
	}
}
