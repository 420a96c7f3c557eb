package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigree-project/pedigree/client"
	"github.com/pedigree-project/pedigree/ledger"
	ledgerentry "github.com/pedigree-project/pedigree/ledger/entry"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/node"
)

func newLedgerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Audit the ledger offline, or read checkpoints, entries and proofs from a server",
	}
	cmd.AddCommand(newLedgerVerifyCommand(), newLedgerCheckpointCommand(), newLedgerEntryCommand(), newLedgerProofCommand())
	return cmd
}

func newLedgerVerifyCommand() *cobra.Command {
	var dataDir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Recompute every leaf, the chain, the tree and every stored checkpoint of a stopped node's ledger",
		Long: `Audit a ledger offline, on a stopped node's data directory: recompute every entry's
leaf hash and the hash chain, every stored tree tile, the root, and every stored
checkpoint's root and signature; every entry must be the canonical encoding of a
ledger entry of a format this binary knows (docs/ledger-format.md). Exits 0 with a one-line summary when all is well;
otherwise exits non-zero naming the first bad index and what is wrong. Progress goes
to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var last time.Time
			progress := func(done, total uint64) {
				if now := time.Now(); now.Sub(last) >= time.Second || done == total {
					last = now
					fmt.Fprintf(cmd.ErrOrStderr(), "\rverified %d of %d entries", done, total)
					if done == total {
						fmt.Fprintln(cmd.ErrOrStderr())
					}
				}
			}
			var formats [3]uint64 // entries of format 1 and 2
			check := func(_ uint64, data []byte) error {
				f, err := ledgerentry.FormatOf(data)
				if err != nil {
					return err
				}
				formats[f]++
				return ledgerentry.Check(data)
			}
			rep, err := node.Audit(cmd.Context(), dataDir, node.AuditOptions{Progress: progress, Check: check, Logger: quietPebble{}})
			if err != nil {
				return err
			}
			rate := float64(rep.Entries) / rep.Duration.Seconds()
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{
					"ok": true, "entries": rep.Entries, "root": base64.StdEncoding.EncodeToString(rep.Root[:]),
					"checkpoints": rep.Checkpoints, "seconds": rep.Duration.Seconds(), "entriesPerSecond": rate,
					"entriesByFormat": map[string]uint64{"1": formats[1], "2": formats[2]},
				})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d entries (format 1: %d, format 2: %d), root %s, %d checkpoints verified in %s (%.0f entries/s)\n",
				rep.Entries, formats[1], formats[2], base64.StdEncoding.EncodeToString(rep.Root[:]), rep.Checkpoints, rep.Duration.Round(time.Millisecond), rate)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", "./pedigree-data", "data directory of the stopped node")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return cmd
}

// fetchCheckpoint gets the latest checkpoint and checks its signature with
// the pinned verifier key, or with the one the server names when none is
// pinned.
//
// With --trust or --min-signatures it requires instead that enough trusted
// keys signed it (trustFlags.verify).
func fetchCheckpoint(ctx context.Context, c *client.Client, pinned string, trust *trustFlags) (*pb.GetCheckpointResponse, ledger.Checkpoint, error) {
	resp, err := c.Ledger.GetCheckpoint(ctx, &pb.GetCheckpointRequest{})
	if err != nil {
		return nil, ledger.Checkpoint{}, err
	}
	if trust.active() {
		cp, _, err := trust.verify([]byte(resp.GetNote()), pinned)
		return resp, cp, err
	}
	key := pinned
	if key == "" {
		key = resp.GetVerifierKey()
	} else if key != resp.GetVerifierKey() {
		return nil, ledger.Checkpoint{}, fmt.Errorf("checkpoint: the server names verifier key %q, not the pinned one", resp.GetVerifierKey())
	}
	verifier, err := note.NewVerifier(key)
	if err != nil {
		return nil, ledger.Checkpoint{}, fmt.Errorf("verifier key: %w", err)
	}
	cp, err := ledger.ParseCheckpoint([]byte(resp.GetNote()), verifier)
	if err != nil {
		return nil, ledger.Checkpoint{}, fmt.Errorf("checkpoint does not verify: %w", err)
	}
	return resp, cp, nil
}

func newLedgerCheckpointCommand() *cobra.Command {
	co := &clientOptions{}
	var pinned string
	var trust *trustFlags
	cmd := &cobra.Command{
		Use:   "checkpoint",
		Short: "Print the server's latest signed checkpoint, after checking its signature",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := co.client()
			if err != nil {
				return err
			}
			defer c.Close()
			resp, _, err := fetchCheckpoint(cmd.Context(), c, pinned, trust)
			if err != nil {
				return err
			}
			if co.json {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			fmt.Fprint(cmd.OutOrStdout(), resp.GetNote())
			if pinned == "" && !trust.active() {
				fmt.Fprintf(cmd.ErrOrStderr(), "signature verified with the key the server names (%s); pin it with --verifier-key\n", resp.GetVerifierKey())
			}
			return nil
		},
	}
	addClientFlags(cmd, co)
	cmd.Flags().StringVar(&pinned, "verifier-key", "", "note verifier key to trust (name+hash+key); default: the server's")
	trust = addTrustFlags(cmd)
	return cmd
}

func newLedgerEntryCommand() *cobra.Command {
	co := &clientOptions{}
	cmd := &cobra.Command{
		Use:   "entry INDEX",
		Short: "Print one ledger entry, with its leaf hash recomputed from the stored bytes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			index, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("INDEX: want a whole number, got %q", args[0])
			}
			c, err := co.client()
			if err != nil {
				return err
			}
			defer c.Close()
			resp, err := c.Ledger.GetEntry(cmd.Context(), &pb.GetEntryRequest{Index: index})
			if err != nil {
				return err
			}
			if co.json {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			leaf := tlog.RecordHash(resp.GetData())
			// The stored bytes are what the leaf hash covers: read them,
			// not the server's rendering.
			e, err := ledgerentry.Decode(resp.GetData())
			if err != nil {
				return fmt.Errorf("entry %d: stored bytes: %w", index, err)
			}
			format := ledgerentry.Format1
			if e.GetFormat() != 0 {
				format = ledgerentry.Format(e.GetFormat())
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "entry %d (format %d)\n  leaf hash  %s\n  chain hash %s\n  party      %s (%s)\n  stream seq %d at %s\n",
				resp.GetIndex(), format, base64.StdEncoding.EncodeToString(leaf[:]), base64.StdEncoding.EncodeToString(resp.GetChainHash()),
				e.GetPartyGln(), strings.ToLower(strings.TrimPrefix(e.GetAuthMethod().String(), "AUTH_METHOD_")),
				e.GetStreamSequence(), e.GetRecordTime().AsTime().Format(time.RFC3339Nano))
			for i, id := range e.GetEventIds() {
				o := e.GetOutcomes()
				if i < len(o) {
					fmt.Fprintf(out, "  event %s: applied=%v %s\n", id, o[i].GetApplied(), o[i].GetReason())
					printEntryAlerts(out, o[i].GetAlerts())
				}
			}
			return nil
		},
	}
	addClientFlags(cmd, co)
	return cmd
}

func newLedgerProofCommand() *cobra.Command {
	co := &clientOptions{}
	var pinned string
	var index, from uint64
	var oldRootB64 string
	var trust *trustFlags
	cmd := &cobra.Command{
		Use:   "proof (--index I | --from M --old-root ROOT)",
		Short: "Fetch an inclusion or consistency proof and check it against the latest checkpoint",
		Long: `With --index, fetch the inclusion proof of that entry in the latest checkpoint's tree
and check it, with the entry's leaf hash, against the checkpoint's root. With --from and
--old-root, fetch the consistency proof from the checkpoint of size M you hold (its
root hash, base64) to the latest checkpoint and check that the ledger only grew.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			indexSet, fromSet := cmd.Flags().Changed("index"), cmd.Flags().Changed("from")
			if indexSet == fromSet {
				return errors.New("give exactly one of --index and --from")
			}
			c, err := co.client()
			if err != nil {
				return err
			}
			defer c.Close()
			_, cp, err := fetchCheckpoint(cmd.Context(), c, pinned, trust)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if indexSet {
				resp, err := c.Ledger.GetInclusionProof(cmd.Context(), &pb.GetInclusionProofRequest{Index: index, TreeSize: cp.Size})
				if err != nil {
					return err
				}
				leaf, proof, err := hashesOf(resp.GetLeafHash(), resp.GetHashes())
				if err != nil {
					return err
				}
				if err := tlog.CheckRecord(tlog.RecordProof(proof), int64(cp.Size), cp.Root, int64(index), leaf); err != nil {
					return fmt.Errorf("inclusion proof of entry %d in tree size %d does NOT verify: %w", index, cp.Size, err)
				}
				if co.json {
					return printJSON(out, resp)
				}
				fmt.Fprintf(out, "verified: entry %d is in the tree of size %d with root %s (%d hashes)\n",
					index, cp.Size, base64.StdEncoding.EncodeToString(cp.Root[:]), len(proof))
				return nil
			}
			oldRoot, err := base64.StdEncoding.DecodeString(oldRootB64)
			if err != nil || len(oldRoot) != tlog.HashSize {
				return errors.New("--old-root: want the base64 root hash of the checkpoint of size --from that you hold")
			}
			resp, err := c.Ledger.GetConsistencyProof(cmd.Context(), &pb.GetConsistencyProofRequest{From: from, To: cp.Size})
			if err != nil {
				return err
			}
			old, proof, err := hashesOf(oldRoot, resp.GetHashes())
			if err != nil {
				return err
			}
			if err := tlog.CheckTree(tlog.TreeProof(proof), int64(cp.Size), cp.Root, int64(from), old); err != nil {
				return fmt.Errorf("the ledger of size %d is NOT an extension of your checkpoint of size %d: %w", cp.Size, from, err)
			}
			if co.json {
				return printJSON(out, resp)
			}
			fmt.Fprintf(out, "verified: the tree of size %d (root %s) extends your tree of size %d (%d hashes)\n",
				cp.Size, base64.StdEncoding.EncodeToString(cp.Root[:]), from, len(proof))
			return nil
		},
	}
	addClientFlags(cmd, co)
	cmd.Flags().StringVar(&pinned, "verifier-key", "", "note verifier key to trust (name+hash+key); default: the server's")
	cmd.Flags().Uint64Var(&index, "index", 0, "entry index for an inclusion proof")
	cmd.Flags().Uint64Var(&from, "from", 0, "older tree size for a consistency proof")
	cmd.Flags().StringVar(&oldRootB64, "old-root", "", "base64 root hash of your checkpoint of size --from")
	trust = addTrustFlags(cmd)
	return cmd
}

func hashesOf(leaf []byte, list [][]byte) (tlog.Hash, []tlog.Hash, error) {
	var l tlog.Hash
	if len(leaf) != tlog.HashSize {
		return l, nil, fmt.Errorf("leaf hash: want %d bytes, got %d", tlog.HashSize, len(leaf))
	}
	copy(l[:], leaf)
	out := make([]tlog.Hash, len(list))
	for i, h := range list {
		if len(h) != tlog.HashSize {
			return l, nil, fmt.Errorf("proof hash %d: want %d bytes, got %d", i, tlog.HashSize, len(h))
		}
		copy(out[i][:], h)
	}
	return l, out, nil
}

// quietPebble drops Pebble's informational lines from the audit's output.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any) {}
func (quietPebble) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}

// printEntryAlerts prints alerts under an event, with their evidence in order.
func printEntryAlerts(out io.Writer, alerts []*pb.Alert) {
	for _, a := range alerts {
		fmt.Fprintf(out, "    alert %s %s: %s\n", a.GetAlertId(), strings.TrimPrefix(a.GetCode().String(), "ALERT_CODE_"), a.GetMessage())
		for _, kv := range a.GetEvidence() {
			fmt.Fprintf(out, "      %s = %s\n", kv.GetKey(), kv.GetValue())
		}
	}
}
