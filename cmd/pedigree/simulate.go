package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pedigree-project/pedigree/client"
	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/gs1"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/sdk"
	"github.com/pedigree-project/pedigree/scanners/simulate"
	"github.com/pedigree-project/pedigree/services/node"
)

func newSimulateCommand() *cobra.Command {
	co := &clientOptions{}
	cfg := simulate.DefaultConfig()
	var nodeKey string
	cmd := &cobra.Command{
		Use:   "simulate --server ADDR --token ADMIN_TOKEN [--seed N] [--packs K]",
		Short: "Drive a running node like a real market, with injected trouble, and report what it detected",
		Long: `Simulate a market against a running node: manufacturers register products and lots,
commission serials and pack them into cases and pallets; wholesalers receive pallets, unpack
them and ship whole cases, totes and loose packs to pharmacies; pharmacies verify and dispense,
return packs, and refuse expired and recalled ones, which go to destruction; one lot is
recalled. Into this it injects known numbers of counterfeits (serials never commissioned),
clones dispensed at two pharmacies, diverted packs, labels with another lot or expiry, expired
and recalled packs.

It registers its own parties with the admin token (GLNs, GTINs and SSCCs under GS1's demo
prefix 952, drawn from the seed; a rerun of a seed against the same server gets fresh ones).
Scans go through the Capture and Verification APIs, or, with --nats, straight to NATS
JetStream as envelopes signed by each party's key, each party on its own connection
logged in with that key, believing only outcomes signed by --node-key. Everything is decided by the seed, and
event times come from a simulated clock starting on ` + simulate.Start().Format("2 January 2006") + `.

Prints, per alert code, the cases injected and detected (expired and recalled packs are
refused without an alert, as EU rules say), the false alerts on legitimate traffic, and
events/s; progress goes to standard error. Exits 0 when every case was detected and
legitimate traffic raised no alert, 3 when not, 1 on errors.`,
		Example: `  pedigree simulate --server 127.0.0.1:7070 --token "$(cat pedigree-data/admin.token)"
  pedigree simulate --token "$TOKEN" --seed 7 --packs 20000 --pharmacies 40 --json
  pedigree simulate --token "$TOKEN" --nats nats://127.0.0.1:4222 --node-key pedigree-data/keys/node.pub`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if co.tlsCA != "" || co.tlsCert != "" {
				return errors.New("simulate: speaks plaintext gRPC only; --tls-ca and --tls-client-cert do not apply")
			}
			cfg.Server, cfg.Token = co.server, co.token
			if cfg.NATSURL != "" {
				if nodeKey == "" {
					return errors.New("simulate: --nats needs --node-key (DATA/keys/node.pub of the node): outcomes are believed only when the node signed them")
				}
				keys, err := sdk.ReadNodeKeys(nodeKey)
				if err != nil {
					return fmt.Errorf("--node-key: %w", err)
				}
				cfg.NodeKeys = keys
			}
			rep, err := simulate.Run(cmd.Context(), cfg, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := printReport(cmd.OutOrStdout(), rep, co.json); err != nil {
				return err
			}
			if !rep.OK() {
				return exitCode(3)
			}
			return nil
		},
	}
	addClientFlags(cmd, co)
	f := cmd.Flags()
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "decides identifiers, market, flows and trouble")
	f.IntVar(&cfg.Manufacturers, "manufacturers", cfg.Manufacturers, "number of manufacturers (two products each)")
	f.IntVar(&cfg.Wholesalers, "wholesalers", cfg.Wholesalers, "number of wholesalers")
	f.IntVar(&cfg.Pharmacies, "pharmacies", cfg.Pharmacies, "number of pharmacies (at least 2)")
	f.IntVar(&cfg.Packs, "packs", cfg.Packs, "number of packs commissioned")
	f.StringVar(&cfg.NATSURL, "nats", "", "publish scans as signed envelopes to this NATS server instead of the gRPC API")
	f.StringVar(&nodeKey, "node-key", "", "with --nats: the node's public key file (DATA/keys/node.pub) that outcomes must be signed with")
	f.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "scans in flight at once")
	return cmd
}

func printReport(w io.Writer, rep *simulate.Report, asJSON bool) error {
	if !asJSON {
		return rep.WriteText(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// demoPacks sizes the market `serve --demo` plays: a few seconds.
const demoPacks = 400

// runDemo plays a small market against the node n has just started, then
// prints what a newcomer can try next. If the demo fails, it shuts the node
// down (within timeout) and returns the error; if ctx ends first, it returns
// nil and leaves the shutdown to n.Run.
func runDemo(ctx context.Context, out io.Writer, n *node.Node, timeout time.Duration) error {
	err := playDemo(ctx, out, n)
	if err == nil || ctx.Err() != nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return errors.Join(err, n.Shutdown(sctx))
}

func playDemo(ctx context.Context, out io.Writer, n *node.Node) error {
	tokenPath, err := filepath.Abs(n.AdminTokenPath())
	if err != nil {
		return err
	}
	token, err := os.ReadFile(tokenPath)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	keys, err := envelope.NewNodeKeys(n.NodeKey())
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	cfg := simulate.DefaultConfig()
	cfg.Server, cfg.Token, cfg.Packs, cfg.NodeKeys = n.GRPCAddr(), strings.TrimSpace(string(token)), demoPacks, keys
	fmt.Fprintf(out, "\nPlaying a small simulated market against this node (pedigree simulate --packs %d)…\n\n", demoPacks)
	rep, err := simulate.Run(ctx, cfg, io.Discard)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := rep.WriteText(out); err != nil {
		return err
	}
	if err := demoEPCIS(ctx, out, n, cfg.Token); err != nil {
		return err
	}
	if err := printConsole(ctx, out, n, cfg.Token, rep.Samples); err != nil {
		return err
	}
	return printTryNext(out, rep, n, tokenPath)
}

// printConsole tells how to open the web console: the admin token for
// the regulator's screens, and a day's token of the pharmacy holding the
// sample genuine pack for the counter, with that pack to scan.
func printConsole(ctx context.Context, out io.Writer, n *node.Node, admin string, s simulate.Samples) error {
	fmt.Fprintf(out, "\nThe web console: open http://%s/ui/ in a browser and sign in with the admin token (regulator screens)\n  %s\n",
		n.HTTPAddr(), admin)
	if s.GenuineHolder == "" {
		return nil
	}
	c, err := client.New(n.GRPCAddr(), admin)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer c.Close()
	tok, err := c.Registry.CreateToken(ctx, &pb.CreateTokenRequest{Gln: s.GenuineHolder, ExpiresIn: durationpb.New(24 * time.Hour)})
	if err != nil {
		return fmt.Errorf("demo: a token for pharmacy %s: %w", s.GenuineHolder, err)
	}
	fmt.Fprintf(out, "or, at the pharmacy counter, with pharmacy %s's token (valid for a day)\n  %s\nand scan its genuine pack %s\n",
		s.GenuineHolder, tok.GetToken(), s.GenuinePack)
	return nil
}

func printTryNext(out io.Writer, rep *simulate.Report, n *node.Node, tokenPath string) error {
	base := "http://" + n.HTTPAddr()
	auth := `-H "Authorization: Bearer $TOKEN"`
	s := rep.Samples
	var b strings.Builder
	fmt.Fprintf(&b, "\nTry next, in another terminal (the admin token is in %s):\n\n", tokenPath)
	fmt.Fprintf(&b, "  TOKEN=$(cat %s)\n\n", shellQuote(tokenPath))
	if s.GenuinePack != "" {
		fmt.Fprintf(&b, "  # Verify a genuine pack (on the shelf of %s): dispensable, no alert.\n", s.GenuineHolder)
		fmt.Fprintf(&b, "  curl -s -X POST %s/v1/packs:verify %s -d '{\"pack\": {\"barcode\": \"%s\"}}'\n\n", base, auth, s.GenuinePack)
		fmt.Fprintf(&b, "  # Its history, every step checked against the signed checkpoint:\n")
		fmt.Fprintf(&b, "  pedigree history --server %s --token \"$TOKEN\" '%s'\n\n", n.GRPCAddr(), s.GenuinePack)
		if r, err := gs1.ParseBracketed(s.GenuinePack); err == nil {
			if dl, err := r.DigitalLink(base); err == nil {
				fmt.Fprintf(&b, "  # What a patient's phone shows when it opens the pack's QR code (no token); its GS1 linkset:\n")
				fmt.Fprintf(&b, "  %s\n  curl -s -H 'Accept: application/linkset+json' '%s'\n\n", dl, dl)
			}
		}
	}
	if s.Counterfeit != "" {
		fmt.Fprintf(&b, "  # Verify a counterfeit: not dispensable, alert UNKNOWN_SERIAL, recorded on the ledger.\n")
		fmt.Fprintf(&b, "  curl -s -X POST %s/v1/packs:verify %s -d '{\"pack\": {\"barcode\": \"%s\"}}'\n\n", base, auth, s.Counterfeit)
	}
	fmt.Fprintf(&b, "  # The ledger's latest signed checkpoint (public), then one of its entries")
	if s.AlertCode != "" {
		fmt.Fprintf(&b, ": entry %d raised %s.\n", s.AlertLedgerIndex, s.AlertCode)
	} else {
		b.WriteString(".\n")
	}
	fmt.Fprintf(&b, "  curl -s %s/v1/ledger/checkpoint\n", base)
	fmt.Fprintf(&b, "  curl -s %s %s/v1/ledger/entries/%d\n\n", auth, base, s.AlertLedgerIndex)
	fmt.Fprintf(&b, "  # Alerts: listed by the API and the CLI, live on the alert stream, and in the ledger entries above.\n")
	fmt.Fprintf(&b, "  curl -s %s '%s/v1/alerts?pageSize=20'\n", auth, base)
	fmt.Fprintf(&b, "  pedigree alerts --server %s --token \"$TOKEN\"\n", n.GRPCAddr())
	if u := n.NATSURL(); u != "" {
		fmt.Fprintf(&b, "  # NATS, logged in as a regulator or admin (its registered key as NKey): pedigree.alert.<party GLN>.<CODE>,\n")
		fmt.Fprintf(&b, "  # each signed with the node key in %s\n", filepath.Join(filepath.Dir(tokenPath), node.KeysDir, node.NodePublicKeyFile))
		fmt.Fprintf(&b, "  nats --server %s sub 'pedigree.alert.>'\n", u)
	} else {
		fmt.Fprintf(&b, "  # (live alerts are on NATS subjects pedigree.alert.<party GLN>.<CODE>; restart with --nats-listen to reach them)\n")
	}
	if s.RecalledGTIN != "" {
		fmt.Fprintf(&b, "\n  # Where the packs of the recalled lot are now:\n")
		fmt.Fprintf(&b, "  curl -s %s %s/v1/products/%s/batches/%s:trace\n", auth, base, s.RecalledGTIN, url.PathEscape(s.RecalledLot))
	}
	fmt.Fprintf(&b, "\n  # A bigger market against this node (a new run gets fresh identifiers):\n")
	fmt.Fprintf(&b, "  pedigree simulate --server %s --token \"$TOKEN\" --packs 20000\n", n.GRPCAddr())
	fmt.Fprintf(&b, "\nThe node keeps serving; stop it with Ctrl-C.\n")
	_, err := io.WriteString(out, b.String())
	return err
}

// shellQuote quotes a path for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if strings.ContainsAny(s, " '\"$`\\!*?[]{}()<>|&;#~") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}
