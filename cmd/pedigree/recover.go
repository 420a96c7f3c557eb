package main

import (
	"fmt"
	"io"

	"github.com/pedigree-project/pedigree/services/node"
	"github.com/spf13/cobra"
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
			rep, err := node.Recover(cmd.Context(), dataDir, logger)
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

func printRecoverReport(w io.Writer, rep node.RecoverReport) {
	if rep.Republished() == 0 {
		fmt.Fprintf(w, "ok: the stream holds what the ledger applied (stream ends at %d, ledger applied %d, %d messages compared); nothing to recover\n",
			rep.StreamLast, rep.Applied, rep.Compared)
		return
	}
	fmt.Fprintf(w, "recovered: republished stream sequences %d to %d from the ledger: %d ledger entries, %d dead letters, %d placeholders for dead letters whose bytes were lost\n",
		rep.StreamLast+1, rep.Applied, rep.Entries, rep.DeadLetters, rep.Placeholders)
	fmt.Fprintln(w, "start the node; senders of writes that were acknowledged but never got a ledger outcome must send them again")
}
