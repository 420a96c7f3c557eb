package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigree-project/pedigree/client"
	"github.com/pedigree-project/pedigree/gs1"
	"github.com/pedigree-project/pedigree/ledger"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

func newHistoryCommand() *cobra.Command {
	co := &clientOptions{}
	var pinned, gs string
	var trust *trustFlags
	cmd := &cobra.Command{
		Use:   "history BARCODE",
		Short: "Print a pack's timeline, each step checked with its inclusion proof against the signed checkpoint",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := gs1.Parse(withGS(args[0], gs))
			if err != nil {
				return fmt.Errorf("BARCODE: %w", err)
			}
			if r.GTIN == "" || r.Serial == "" {
				return errors.New("BARCODE: needs a GTIN (01) and a serial (21)")
			}
			c, err := co.client()
			if err != nil {
				return err
			}
			defer c.Close()
			resp, signers, err := packHistory(cmd.Context(), c, r.GTIN, r.Serial, pinned, trust)
			if err != nil {
				return err
			}
			if co.json {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			printHistory(cmd.OutOrStdout(), r.GTIN, r.Serial, resp)
			if signers != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "the checkpoint is signed by trusted keys: %s\n", signers)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&pinned, "verifier-key", "", "note verifier key to trust (default: the one the server names)")
	cmd.Flags().StringVar(&gs, "gs", "", "a character typed in place of GS (ASCII 29)")
	addClientFlags(cmd, co)
	trust = addTrustFlags(cmd)
	return cmd
}

// packHistory reads a pack's whole history, page by page, and checks each
// page's proofs against that page's checkpoint (verifyHistory). The answer
// has every entry, and the last page's checkpoint and pack; with trust
// flags, also who signed the last page's checkpoint.
func packHistory(ctx context.Context, c *client.Client, gtin, serial, pinned string, trust *trustFlags) (*pb.GetPackHistoryResponse, string, error) {
	req := &pb.GetPackHistoryRequest{Gtin: gtin, Serial: serial, PageSize: 1000}
	var whole *pb.GetPackHistoryResponse
	var signers string
	for {
		page, err := c.Provenance.GetPackHistory(ctx, req)
		if err != nil {
			return nil, "", err
		}
		if signers, err = verifyHistory(page, pinned, trust); err != nil {
			return nil, "", err
		}
		if whole != nil {
			page.Entries = append(whole.GetEntries(), page.GetEntries()...)
		}
		whole = page
		if req.PageToken = page.GetNextPageToken(); req.PageToken == "" {
			return whole, signers, nil
		}
	}
}

// verifyHistory checks the checkpoint's signature (with trust flags: that
// enough trusted keys signed it) and every entry's inclusion proof against
// the root the note states; it fails on the first that does not verify.
// It returns who signed, when trust flags are given.
func verifyHistory(h *pb.GetPackHistoryResponse, pinned string, trust *trustFlags) (string, error) {
	cp := h.GetCheckpoint()
	var signed ledger.Checkpoint
	var signers string
	if trust.active() {
		c, sigs, err := trust.verify([]byte(cp.GetNote()), pinned)
		if err != nil {
			return "", err
		}
		signed, signers = c, signerNames(sigs)
	} else {
		key := cp.GetVerifierKey()
		if pinned != "" {
			key = pinned
		}
		v, err := note.NewVerifier(key)
		if err != nil {
			return "", fmt.Errorf("verifier key: %w", err)
		}
		if signed, err = ledger.ParseCheckpoint([]byte(cp.GetNote()), v); err != nil {
			return "", fmt.Errorf("the checkpoint's signature does NOT verify: %w", err)
		}
	}
	if signed.Size != cp.GetSize() || !bytes.Equal(signed.Root[:], cp.GetRootHash()) {
		return "", errors.New("the checkpoint's size and root hash are not those its signed note states")
	}
	root := signed.Root
	for _, e := range h.GetEntries() {
		proof := make(tlog.RecordProof, len(e.GetInclusionProof()))
		for i, p := range e.GetInclusionProof() {
			copy(proof[i][:], p)
		}
		if err := tlog.CheckRecord(proof, int64(cp.GetSize()), root, int64(e.GetIndex()), tlog.RecordHash(e.GetData())); err != nil {
			return "", fmt.Errorf("ledger entry %d does NOT verify against the checkpoint: %w", e.GetIndex(), err)
		}
	}
	return signers, nil
}

func printHistory(w io.Writer, gtin, serial string, h *pb.GetPackHistoryResponse) {
	fmt.Fprintf(w, "pack %s / %s", gtin, serial)
	if p := h.GetPack(); p != nil {
		fmt.Fprintf(w, "  lot %s  expiry %s  now %s at %s", p.GetLot(), p.GetExpiry(), statusWord(p.GetStatus()), p.GetCustodianGln())
	}
	fmt.Fprintln(w)
	for _, e := range h.GetEntries() {
		ev, entry := e.GetEvent(), e.GetEntry()
		step := strings.ToLower(strings.TrimPrefix(ev.GetBizStep().String(), "BIZ_STEP_"))
		via := ""
		if e.GetViaSscc() != "" {
			via = " (via container " + e.GetViaSscc() + ")"
		}
		result := "applied"
		for i, id := range entry.GetEventIds() {
			if id == ev.GetEventId() || (ev.GetEventId() == "" && i == 0) {
				if o := entry.GetOutcomes()[i]; !o.GetApplied() {
					result = "REFUSED: " + o.GetReason()
				}
			}
		}
		fmt.Fprintf(w, "  #%-6d %s  %-13s by %s%s  %s  ✓ proof\n", e.GetIndex(), ev.GetEventTime().AsTime().Format(time.RFC3339),
			step, entry.GetPartyGln(), via, result)
	}
	cp := h.GetCheckpoint()
	fmt.Fprintf(w, "all %d entries verified against checkpoint of size %d, root %s\n", len(h.GetEntries()), cp.GetSize(),
		base64.StdEncoding.EncodeToString(cp.GetRootHash()))
}

func newTraceCommand() *cobra.Command {
	co := &clientOptions{}
	cmd := &cobra.Command{
		Use:   "trace GTIN LOT",
		Short: "Where the packs of a batch are now: counts by status and custodian, and who holds active packs",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := call(cmd, co, func(ctx context.Context, c *client.Client) (*pb.TraceBatchResponse, error) {
				return c.Provenance.TraceBatch(ctx, &pb.TraceBatchRequest{Gtin: args[0], Lot: args[1], PageSize: 1000})
			}, func(w io.Writer, resp *pb.TraceBatchResponse) {
				b := resp.GetBatch()
				fmt.Fprintf(w, "batch %s of %s, expiry %s, recalled=%v withdrawn=%v\n", b.GetLot(), b.GetGtin(), b.GetExpiry(), b.GetRecalled(), b.GetWithdrawn())
				for _, c := range resp.GetCounts() {
					fmt.Fprintf(w, "  %8d  %-12s at %s\n", c.GetCount(), statusWord(c.GetStatus()), c.GetCustodianGln())
				}
				fmt.Fprintln(w, "parties holding active packs:")
				for _, p := range resp.GetHolders() {
					fmt.Fprintf(w, "  %s  %s\n", p.GetGln(), p.GetName())
				}
			})
			return err
		},
	}
	addClientFlags(cmd, co)
	return cmd
}

func newAlertsCommand() *cobra.Command {
	co := &clientOptions{}
	var code, status, gtin string
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List alerts, newest first (regulators see all; other parties their own)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &pb.ListAlertsRequest{PageSize: 1000, Gtin: gtin}
			if code != "" {
				v, ok := pb.AlertCode_value["ALERT_CODE_"+strings.ToUpper(code)]
				if !ok {
					return fmt.Errorf("--code: no alert code %q", code)
				}
				req.Code = pb.AlertCode(v)
			}
			if status != "" {
				v, ok := pb.AlertStatus_value["ALERT_STATUS_"+strings.ToUpper(status)]
				if !ok {
					return fmt.Errorf("--status: no alert status %q", status)
				}
				req.Status = pb.AlertStatus(v)
			}
			_, err := call(cmd, co, func(ctx context.Context, c *client.Client) (*pb.ListAlertsResponse, error) {
				return c.Provenance.ListAlerts(ctx, req)
			}, func(w io.Writer, resp *pb.ListAlertsResponse) {
				for _, a := range resp.GetAlerts() {
					fmt.Fprintf(w, "%-10s %s  %-20s %-12s %s\n", a.GetAlertId(), a.GetRaisedAt().AsTime().Format(time.RFC3339),
						strings.TrimPrefix(a.GetCode().String(), "ALERT_CODE_"), strings.ToLower(strings.TrimPrefix(a.GetStatus().String(), "ALERT_STATUS_")), a.GetMessage())
				}
			})
			return err
		},
	}
	cmd.Flags().StringVar(&code, "code", "", "only this code (e.g. clone_suspected)")
	cmd.Flags().StringVar(&status, "status", "", "only this status (open, investigating, closed_false_positive, closed_confirmed_falsification)")
	cmd.Flags().StringVar(&gtin, "gtin", "", "only this product")
	addClientFlags(cmd, co)
	return cmd
}
