package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envPrefix prefixes the environment variable of every flag:
// --data is PEDIGREE_DATA, --log-format is PEDIGREE_LOG_FORMAT.
const envPrefix = "PEDIGREE_"

type rootOptions struct {
	logFormat string
	logLevel  string
}

func newRootCommand() *cobra.Command {
	opts := &rootOptions{}
	root := &cobra.Command{
		Use:   "pedigree",
		Short: "Pedigree keeps the verifiable pedigree of every serialized medicine pack",
		Long: `Pedigree records every scan of every serialized medicine pack (commission, pack,
ship, receive, verify, dispense, destroy, return) in a hash-chained, Merkle-tree ledger,
checks each scan against the pack's known state, and raises alerts for counterfeit,
cloned, diverted, expired and recalled packs.

Every flag can also be set with an environment variable: PEDIGREE_ followed by the
flag's name in upper case with dashes as underscores (--data: PEDIGREE_DATA).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd)
		},
	}
	root.PersistentFlags().StringVar(&opts.logFormat, "log-format", "text", "log format: text or json")
	root.PersistentFlags().StringVar(&opts.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.AddCommand(newServeCommand(opts), newNATSKeyCommand(), newNodeCommand(), newLedgerCommand(), newPartyCommand(), newProductCommand(), newBatchCommand(),
		newCommissionCommand(), newVerifyCommand(), newHistoryCommand(), newTraceCommand(), newAlertsCommand(),
		newWriteCommand("dispense", "Dispense a pack (supply it to the public); prints the ledger's outcome"),
		newWriteCommand("decommission", "Decommission a pack for a reason (destroyed, stolen, sample, …)"),
		newWriteCommand("undo", "Undo a decommission (same party and location, within 10 days)"), newBarcodeCommand(), newScanCommand(opts),
		newTokenCommand(),
		newBenchCommand(opts), newSimulateCommand(), newRecoverCommand(opts), newWitnessCommand(opts),
		newBackupCommand(opts), newRestoreCommand())
	root.AddCommand(newLabelCommand())
	root.AddCommand(newEPCISCommand())
	return root
}

// applyEnv sets every flag that was not given on the command line from its
// environment variable, if that is set.
func applyEnv(cmd *cobra.Command) error {
	var errs []string
	set := func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		name := envPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", name, err))
				return
			}
			f.Changed = true
		}
	}
	cmd.Flags().VisitAll(set)
	cmd.InheritedFlags().VisitAll(set)
	if len(errs) > 0 {
		return fmt.Errorf("environment: %s", strings.Join(errs, "; "))
	}
	return nil
}

// newLogger builds the process logger from the root options.
func (o *rootOptions) newLogger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch o.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	default:
		return nil, fmt.Errorf("--log-format: want text or json, got %q", o.logFormat)
	}
}
