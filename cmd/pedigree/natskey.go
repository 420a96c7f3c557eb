package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/nats-io/nkeys"
	"github.com/spf13/cobra"

	"github.com/pedigree-project/pedigree/services/node"
)

// newNATSKeyCommand prints the NKeys an external NATS cluster's
// configuration names (deploy/nats-cluster/pedigree.conf).
func newNATSKeyCommand() *cobra.Command {
	var dataDir, newIssuer string
	cmd := &cobra.Command{
		Use:   "nats-key",
		Short: "Print the node's NATS NKey, or create the auth callout issuer key",
		Long: `Prints the NATS user NKey ("U…") of the node's own NATS credential,
DATA/keys/nats.key (created if missing, mode 0600): an external cluster's
configuration lists it as the user that serves the auth callout.

With --new-issuer FILE, creates an account NKey seed in FILE (mode 0600) and
prints its public key ("A…"): the cluster's auth_callout issuer, whose seed
the node is given with --nats-callout-issuer.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if newIssuer != "" {
				kp, err := nkeys.CreateAccount()
				if err != nil {
					return err
				}
				seed, err := kp.Seed()
				if err != nil {
					return err
				}
				f, err := os.OpenFile(newIssuer, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return fmt.Errorf("--new-issuer: %w", err)
				}
				if _, err := f.Write(append(seed, '\n')); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
				pub, err := kp.PublicKey()
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), pub)
				return nil
			}
			if dataDir == "" {
				return errors.New("--data: required (or --new-issuer)")
			}
			nk, err := node.NATSUser(dataDir)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), nk)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", "", "the node's data directory")
	cmd.Flags().StringVar(&newIssuer, "new-issuer", "", "create an account NKey seed in this file and print its public key")
	return cmd
}
