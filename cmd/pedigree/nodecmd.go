package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pedigree-project/pedigree/client"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/node"
)

// newNodeCommand admits ledger nodes to a ledger (a cluster's other
// members) and prints a node's key.
func newNodeCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "Admit ledger nodes to the ledger (admin), print a node's key"}
	co := &clientOptions{}
	var name, keyFile, keyHex string
	add := &cobra.Command{
		Use:   "add --name NAME (--key FILE | --key-hex HEX)",
		Short: "Make the ledger trust another node's key (admin only); recorded on the ledger",
		Long: `Makes the ledger trust a node's key, so that every node applies the
envelopes that node's API signs on its callers' behalf; until then they are
refused. A node started with --join waits for this before it serves, and logs
the command to run. The key is the node's DATA/keys/node.pub (--key, base64 or
PEM), or its 64 hex digits (--key-hex, as the waiting node logs it, or as
"pedigree node key --data DIR" prints it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pub, err := nodeKeyArg(keyFile, keyHex)
			if err != nil {
				return err
			}
			_, err = call(cmd, co, func(ctx context.Context, c *client.Client) (*pb.AddNodeKeyResponse, error) {
				return c.Registry.AddNodeKey(ctx, &pb.AddNodeKeyRequest{Name: name, PublicKey: pub})
			}, func(w io.Writer, resp *pb.AddNodeKeyResponse) {
				fmt.Fprintf(w, "node %s trusted: key %s (ledger index %d)\n", name, resp.GetKeyId(), resp.GetLedgerIndex())
			})
			return err
		},
	}
	add.Flags().StringVar(&name, "name", "", "the node's name (its --node-name), 1-64 characters")
	add.Flags().StringVar(&keyFile, "key", "", "the node's public key file, DATA/keys/node.pub (base64 or PEM)")
	add.Flags().StringVar(&keyHex, "key-hex", "", "the node's public key, 64 hex digits")
	addClientFlags(add, co)

	var dataDir string
	key := &cobra.Command{
		Use:   "key --data DIR",
		Short: "Print a node's public key in hex, creating the key if the node has none yet",
		Long: `Prints the public key of the node whose data directory is DIR, in hex (what
"pedigree node add --key-hex" takes), creating DATA/keys/node.key (mode 0600)
and DATA/keys/node.pub if missing: an admin can then add the node before it
first starts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				return errors.New("--data: required")
			}
			pub, err := node.NodePublicKey(dataDir)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), hex.EncodeToString(pub))
			return nil
		},
	}
	key.Flags().StringVar(&dataDir, "data", "", "the node's data directory")
	cmd.AddCommand(add, key)
	return cmd
}

// nodeKeyArg reads the public key of `node add` from exactly one of its
// two flags.
func nodeKeyArg(file, hexKey string) (ed25519.PublicKey, error) {
	switch {
	case (file == "") == (hexKey == ""):
		return nil, errors.New("--key or --key-hex: exactly one is required")
	case file != "":
		return node.ReadPublicKeyFile(file)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(hexKey))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("--key-hex: want %d hex digits (a raw Ed25519 public key)", 2*ed25519.PublicKeySize)
	}
	return raw, nil
}
