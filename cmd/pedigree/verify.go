package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pedigree-project/pedigree/client"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

func statusWord(s pb.PackStatus) string {
	if s == pb.PackStatus_PACK_STATUS_UNSPECIFIED {
		return "unknown"
	}
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(s.String(), "PACK_STATUS_"), "_", " "))
}

func printAlerts(w io.Writer, alerts []*pb.Alert) {
	for _, a := range alerts {
		fmt.Fprintf(w, "  ALERT %s: %s\n", strings.TrimPrefix(a.GetCode().String(), "ALERT_CODE_"), a.GetMessage())
	}
}

func newVerifyCommand() *cobra.Command {
	co := &clientOptions{}
	var location, gs string
	cmd := &cobra.Command{
		Use:   "verify BARCODE",
		Short: "Is this pack genuine, may it be handed out? (read-only; alerts are recorded on the ledger)",
		Long: `Verify a pack from what the scanner typed: a GS1 element string (with GS separators, or
--gs for a stand-in character), the bracketed form (01)…(21)…(10)…(17)…, or a GS1 Digital
Link URI. Exits 0 when the pack may be dispensed, 3 when it may not, 1 on errors.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &pb.VerifyPackRequest{Pack: pb.BarcodeInput(withGS(args[0], gs)), LocationGln: location}
			resp, err := call(cmd, co, func(ctx context.Context, c *client.Client) (*pb.VerifyPackResponse, error) {
				return c.Verification.VerifyPack(ctx, req)
			}, func(w io.Writer, resp *pb.VerifyPackResponse) {
				s := resp.GetScanned()
				verdict := "MAY BE DISPENSED"
				if !resp.GetDispensable() {
					verdict = "DO NOT DISPENSE: " + resp.GetReason()
				}
				fmt.Fprintf(w, "%s\n  pack    %s / %s  lot %s  expiry %s\n  status  %s\n", verdict, s.GetGtin(), s.GetSerial(), s.GetLot(), s.GetExpiry(), statusWord(resp.GetStatus()))
				if p := resp.GetProduct(); p != nil {
					fmt.Fprintf(w, "  product %s %s %s\n", p.GetName(), p.GetForm(), p.GetStrength())
				}
				printAlerts(w, resp.GetAlerts())
			})
			if err == nil && !resp.GetDispensable() {
				return exitCode(3)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&location, "location", "", "GLN of where the scan is made (default: your party's)")
	cmd.Flags().StringVar(&gs, "gs", "", "a character typed in place of GS (ASCII 29) by keyboard-wedge scanners")
	addClientFlags(cmd, co)
	return cmd
}

// withGS replaces a stand-in character by the GS separator.
func withGS(s, gs string) string {
	if gs == "" {
		return s
	}
	return strings.ReplaceAll(s, gs, "\x1d")
}

var reasons = map[string]pb.DecommissionReason{
	"destroyed": pb.DecommissionReason_DECOMMISSION_REASON_DESTROYED, "stolen": pb.DecommissionReason_DECOMMISSION_REASON_STOLEN,
	"sample": pb.DecommissionReason_DECOMMISSION_REASON_SAMPLE, "free-sample": pb.DecommissionReason_DECOMMISSION_REASON_FREE_SAMPLE,
	"exported": pb.DecommissionReason_DECOMMISSION_REASON_EXPORTED, "locked": pb.DecommissionReason_DECOMMISSION_REASON_LOCKED,
	"checked-out": pb.DecommissionReason_DECOMMISSION_REASON_CHECKED_OUT,
}

// newWriteCommand makes dispense, decommission and undo: a synchronous
// write that prints the ledger's outcome; exit 3 when refused.
func newWriteCommand(verb, short string) *cobra.Command {
	co := &clientOptions{}
	var location, gs, reason string
	cmd := &cobra.Command{
		Use:   verb + " BARCODE",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pack := pb.BarcodeInput(withGS(args[0], gs))
			var rpc func(context.Context, *client.Client) (*pb.DecommissionPackResponse, error)
			switch verb {
			case "dispense":
				rpc = func(ctx context.Context, c *client.Client) (*pb.DecommissionPackResponse, error) {
					r, err := c.Verification.DispensePack(ctx, &pb.DispensePackRequest{Pack: pack, LocationGln: location})
					return &pb.DecommissionPackResponse{EventId: r.GetEventId(), LedgerIndex: r.GetLedgerIndex(), Outcome: r.GetOutcome()}, err
				}
			case "undo":
				rpc = func(ctx context.Context, c *client.Client) (*pb.DecommissionPackResponse, error) {
					r, err := c.Verification.UndoDecommission(ctx, &pb.UndoDecommissionRequest{Pack: pack, LocationGln: location})
					return &pb.DecommissionPackResponse{EventId: r.GetEventId(), LedgerIndex: r.GetLedgerIndex(), Outcome: r.GetOutcome()}, err
				}
			default:
				r, ok := reasons[reason]
				if !ok {
					return fmt.Errorf("--reason: one of %s", strings.Join(sortedKeys(reasons), ", "))
				}
				rpc = func(ctx context.Context, c *client.Client) (*pb.DecommissionPackResponse, error) {
					return c.Verification.DecommissionPack(ctx, &pb.DecommissionPackRequest{Pack: pack, LocationGln: location, Reason: r})
				}
			}
			resp, err := call(cmd, co, rpc, func(w io.Writer, resp *pb.DecommissionPackResponse) {
				o := resp.GetOutcome()
				if o.GetApplied() {
					fmt.Fprintf(w, "%s: done, pack is now %s (ledger entry %d)\n", verb, statusWord(o.GetStatus()), resp.GetLedgerIndex())
				} else {
					fmt.Fprintf(w, "%s: REFUSED: %s (ledger entry %d)\n", verb, o.GetReason(), resp.GetLedgerIndex())
				}
				printAlerts(w, o.GetAlerts())
			})
			if err == nil && !resp.GetOutcome().GetApplied() {
				return exitCode(3)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&location, "location", "", "GLN of where (default: your party's)")
	cmd.Flags().StringVar(&gs, "gs", "", "a character typed in place of GS (ASCII 29)")
	if verb == "decommission" {
		cmd.Flags().StringVar(&reason, "reason", "", "why: "+strings.Join(sortedKeys(reasons), ", "))
	}
	addClientFlags(cmd, co)
	return cmd
}
