package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
	ledgerentry "github.com/pedigree-project/pedigree/ledger/entry"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/ingest"
	"github.com/pedigree-project/pedigree/services/internal/submit"
	"github.com/pedigree-project/pedigree/subjects"
)

// KeysDir is the directory under the data directory that holds the node's
// keys.
const KeysDir = "keys"

func (n *Node) openLedger() error {
	origin := n.cfg.origin()
	signer, _, err := ledger.LoadOrCreateKey(filepath.Join(n.cfg.DataDir, KeysDir), origin)
	if err != nil {
		return fmt.Errorf("node: checkpoint key: %w", err)
	}
	vkey, err := ledger.ReadVerifierKey(filepath.Join(n.cfg.DataDir, KeysDir))
	if err != nil {
		return fmt.Errorf("node: checkpoint verifier key: %w", err)
	}
	n.ledger, err = ledger.Open(n.store.DB(), ledger.Options{Origin: origin, Signer: signer, VerifierKey: vkey})
	if err != nil {
		return fmt.Errorf("node: open ledger: %w", err)
	}
	// A fresh ledger gets its first checkpoint (size 0) at once, so that
	// the checkpoint endpoint always has an answer.
	if _, err := n.ledger.Latest(); errors.Is(err, ledger.ErrNoCheckpoint) {
		if _, err := n.ledger.Checkpoint(context.Background()); err != nil {
			return fmt.Errorf("node: first checkpoint: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("node: latest checkpoint: %w", err)
	}
	return nil
}

// startBackground runs the ledger's write path (the ingest pipeline), the
// checkpointer: a signed checkpoint at least once per interval while
// entries arrive, each published on pedigree.checkpoint, and the witness
// collector, which gets each cosigned by the outside witnesses and the
// node's peers (cosign.go).
func (n *Node) startBackground() error {
	var err error
	n.checkedEPCIS = envelope.NewCheckedEPCIS(checkedEPCISEnvelopes)
	n.pipeline, err = ingest.New(ingest.Config{
		JS: n.js, NC: n.nc, Store: n.store, Ledger: n.ledger, Logger: n.logger, NodeKey: n.nodeKey,
		Registerer: n.tel.Registry, Consumer: "ledger-" + n.nodeKeyID, GenesisKey: n.genesisKey,
		CheckedEPCIS: n.checkedEPCIS,
	})
	if err != nil {
		return err
	}
	n.submitter, err = submit.New(n.js, ingest.NodeSignerPrefix+n.nodeName, n.nodeKey, n.lookupEntry, n.pipeline.WaitApplied)
	if err != nil {
		return err
	}
	if err := n.startCosigning(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.stopBg = cancel
	n.bg.Add(4)
	go func() {
		defer n.bg.Done()
		n.cosigner.Run(ctx)
	}()
	go func() {
		defer n.bg.Done()
		n.runNATSAuth(ctx)
	}()
	n.ingestDone = make(chan struct{})
	go func() {
		defer n.bg.Done()
		defer close(n.ingestDone)
		if err := n.pipeline.Run(ctx); err != nil {
			n.logger.Error("ledger ingest stopped; the node is not ready", "err", err)
			n.ingestErr.Store(&err)
			if errors.Is(err, ingest.ErrStreamBehind) || errors.Is(err, ingest.ErrStreamDiverged) {
				// The node stops: publishes into this stream would take
				// sequences the ledger already applied.
				select {
				case n.serveErr <- fmt.Errorf("ledger ingest: %w", err):
				default:
				}
			}
		}
	}()
	go func() {
		defer n.bg.Done()
		err := ledger.RunCheckpointer(ctx, n.ledger, n.cfg.CheckpointInterval, func(cp ledger.Checkpoint) {
			if err := n.nc.Publish(subjects.CheckpointSubject, cp.Note); err != nil {
				n.logger.Warn("publish checkpoint", "size", cp.Size, "err", err)
			}
			n.cosigner.Offer(cp)
		})
		if err != nil {
			n.logger.Error("checkpointer stopped", "err", err)
		}
	}()
	return nil
}

// lookupEntry returns the ledger entry that recorded a message ID (an event
// ID or envelope ID), without its envelope bytes.
func (n *Node) lookupEntry(ctx context.Context, msgID string) (*pb.LedgerEntry, bool, error) {
	index, ok, err := n.store.EventIndex(msgID)
	if err != nil || !ok || index >= n.ledger.Size() {
		return nil, false, err
	}
	// The entry is read in place and decoded without its envelope: the
	// callers want its outcomes, not a copy of the captured bytes.
	var entry *pb.LedgerEntry
	err = n.ledger.Entries(ctx, index, index+1, func(e ledger.Entry) error {
		var err error
		if entry, err = ledgerentry.DecodeMeta(e.Data); err != nil {
			return fmt.Errorf("node: decode ledger entry %d: %w", index, err)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return entry, true, nil
}

// pebbleLogger routes Pebble's log lines into slog.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) { p.l.Debug(fmt.Sprintf(format, args...)) }
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...))
}

// Fatalf is Pebble's report of a broken engine invariant or corrupt files;
// Pebble must not go on, so it logs and panics as Pebble's own logger would
// exit.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg)
	panic("pebble: " + msg)
}
