package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
	"github.com/pedigree-project/pedigree/services/ingest"
	"github.com/pedigree-project/pedigree/services/natsauth"
	"github.com/pedigree-project/pedigree/services/natsbus"
	"github.com/pedigree-project/pedigree/services/state"
)

func newRecoverCommand(root *rootOptions) *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "recover",
		Short: "Republish from the ledger what a stopped node's stream lost (after a power loss)",
		Long: `Bring a stopped node back after a power loss left its JetStream stream behind its
ledger (the node refuses to start: "the stream is behind the ledger"). The ledger holds
the exact bytes of every message it applied; recover starts the embedded NATS server on
DATA/nats with no client port, compares the stream with the ledger, republishes the
stream's missing sequences, each with its original Nats-Msg-Id, checking that each lands
at its sequence, and exits. It never changes the ledger.

It refuses a stream that holds other messages than the ledger ("the stream diverged"):
see docs/operations.md. Writes that JetStream acknowledged but the ledger never applied
are lost from both: their senders must send them again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := root.newLogger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			rep, err := recoverStream(cmd.Context(), dataDir, logger)
			if err != nil {
				return err
			}
			printRecoverReport(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", "./pedigree-data", "data directory of the stopped node")
	return cmd
}

// recoverStream opens the stopped node's ledger read-only and starts its
// embedded JetStream with no client port, then runs ingest.Recover.
func recoverStream(ctx context.Context, dataDir string, logger *slog.Logger) (rep ingest.RecoverReport, err error) {
	pebbleDir := filepath.Join(dataDir, "pebble")
	if _, err := os.Stat(pebbleDir); err != nil {
		return rep, fmt.Errorf("no node data in %s: %w", dataDir, err)
	}
	opts := ledger.PebbleOptions()
	opts.ReadOnly = true
	opts.Logger = quietPebble{}
	store, err := state.Open(pebbleDir, opts)
	if err != nil {
		return rep, fmt.Errorf("open %s (is the node stopped?): %w", dataDir, err)
	}
	defer func() {
		if cerr := store.DB().Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", pebbleDir, cerr)
		}
	}()
	lg, err := ledger.Open(store.DB(), ledger.Options{})
	if err != nil {
		return rep, fmt.Errorf("open the ledger in %s: %w", dataDir, err)
	}
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

func printRecoverReport(w io.Writer, rep ingest.RecoverReport) {
	if rep.Republished() == 0 {
		fmt.Fprintf(w, "ok: the stream holds what the ledger applied (stream ends at %d, ledger applied %d, %d messages compared); nothing to recover\n",
			rep.StreamLast, rep.Applied, rep.Compared)
		return
	}
	fmt.Fprintf(w, "recovered: republished stream sequences %d to %d from the ledger: %d ledger entries, %d dead letters, %d placeholders for dead letters whose bytes were lost\n",
		rep.StreamLast+1, rep.Applied, rep.Entries, rep.DeadLetters, rep.Placeholders)
	fmt.Fprintln(w, "start the node; senders of writes that were acknowledged but never got a ledger outcome must send them again")
}
