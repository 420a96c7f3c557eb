package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pedigree-project/pedigree/client"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// roleNames maps the CLI's role words to the API's roles.
var roleNames = map[string]pb.Role{
	"manufacturer": pb.Role_ROLE_MANUFACTURER, "wholesaler": pb.Role_ROLE_WHOLESALER, "pharmacy": pb.Role_ROLE_PHARMACY,
	"hospital-pharmacy": pb.Role_ROLE_HOSPITAL_PHARMACY, "dispensing-doctor": pb.Role_ROLE_DISPENSING_DOCTOR,
	"parallel-importer": pb.Role_ROLE_PARALLEL_IMPORTER, "regulator": pb.Role_ROLE_REGULATOR, "admin": pb.Role_ROLE_ADMIN,
}

func newPartyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "party", Short: "Register and look up parties (admin or regulator to register)"}
	co := &clientOptions{}
	var p pb.Party
	var role, keyFile string
	create := &cobra.Command{
		Use:   "create --gln GLN --name NAME --role ROLE",
		Short: "Register a party; prints its first API token (shown once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, ok := roleNames[role]
			if !ok {
				return fmt.Errorf("--role: one of %s", strings.Join(sortedKeys(roleNames), ", "))
			}
			p.Role = r
			if keyFile != "" {
				pub, err := os.ReadFile(keyFile)
				if err != nil {
					return err
				}
				raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(pub)))
				if err != nil {
					return fmt.Errorf("--public-key-file: want the base64 public key `pedigree scan --new-key` prints: %w", err)
				}
				p.PublicKeys = [][]byte{raw}
			}
			_, err := call(cmd, co, func(ctx context.Context, c *client.Client) (*pb.CreatePartyResponse, error) {
				return c.Registry.CreateParty(ctx, &pb.CreatePartyRequest{Party: &p})
			}, func(w io.Writer, resp *pb.CreatePartyResponse) {
				fmt.Fprintf(w, "registered %s %q as %s\ntoken (shown once, keep it secret): %s\ntoken ID: %s\n",
					resp.GetParty().GetGln(), resp.GetParty().GetName(), role, resp.GetToken(), resp.GetTokenId())
			})
			return err
		},
	}
	create.Flags().StringVar(&p.Gln, "gln", "", "GLN: 13 digits with check digit")
	create.Flags().StringVar(&p.Name, "name", "", "name")
	create.Flags().StringVar(&role, "role", "", "role: "+strings.Join(sortedKeys(roleNames), ", "))
	create.Flags().StringVar(&p.Country, "country", "", "ISO 3166-1 alpha-2 country code")
	create.Flags().StringVar(&keyFile, "public-key-file", "", "file with the party's base64 Ed25519 public key, for scans published to NATS")
	create.Flags().StringSliceVar(&p.CompanyPrefixes, "prefix", nil, "GS1 Company Prefix the party holds, 4–12 digits (repeat or separate with commas)")
	addClientFlags(create, co)

	gco := &clientOptions{}
	get := &cobra.Command{
		Use: "get GLN", Short: "Show a party", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := call(cmd, gco, func(ctx context.Context, c *client.Client) (*pb.GetPartyResponse, error) {
				return c.Registry.GetParty(ctx, &pb.GetPartyRequest{Gln: args[0]})
			}, func(w io.Writer, resp *pb.GetPartyResponse) {
				p := resp.GetParty()
				fmt.Fprintf(w, "%s  %-20s %s  (%d signing keys)\n", p.GetGln(), roleWord(p.GetRole()), p.GetName(), len(p.GetPublicKeys()))
				if len(p.GetCompanyPrefixes()) > 0 {
					fmt.Fprintf(w, "company prefixes: %s\n", strings.Join(p.GetCompanyPrefixes(), ", "))
				}
			})
			return err
		},
	}
	addClientFlags(get, gco)
	lco := &clientOptions{}
	list := &cobra.Command{
		Use: "list", Short: "List parties", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := call(cmd, lco, func(ctx context.Context, c *client.Client) (*pb.ListPartiesResponse, error) {
				return c.Registry.ListParties(ctx, &pb.ListPartiesRequest{PageSize: 1000})
			}, func(w io.Writer, resp *pb.ListPartiesResponse) {
				for _, p := range resp.GetParties() {
					fmt.Fprintf(w, "%s  %-20s %s\n", p.GetGln(), roleWord(p.GetRole()), p.GetName())
				}
			})
			return err
		},
	}
	addClientFlags(list, lco)
	rco := &clientOptions{}
	revoke := &cobra.Command{
		Use: "revoke-key GLN KEY_ID", Short: "Revoke one of a party's signing keys (its NATS connections close within a second)",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := call(cmd, rco, func(ctx context.Context, c *client.Client) (*pb.RevokePartyKeyResponse, error) {
				return c.Registry.RevokePartyKey(ctx, &pb.RevokePartyKeyRequest{Gln: args[0], KeyId: args[1]})
			}, func(w io.Writer, resp *pb.RevokePartyKeyResponse) {
				fmt.Fprintf(w, "key %s of %s revoked (ledger index %d)\n", args[1], args[0], resp.GetLedgerIndex())
			})
			return err
		},
	}
	addClientFlags(revoke, rco)
	cmd.AddCommand(create, get, list, revoke, newPartyPrefixCommand())
	return cmd
}

// newPartyPrefixCommand is `pedigree party prefix add`.
func newPartyPrefixCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "prefix", Short: "Manage a party's GS1 Company Prefixes (admin)"}
	co := &clientOptions{}
	add := &cobra.Command{
		Use: "add GLN PREFIX", Short: "Add a GS1 Company Prefix (4–12 digits) to a party; no party may hold it, or a prefix it starts or extends",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := call(cmd, co, func(ctx context.Context, c *client.Client) (*pb.AddPartyPrefixResponse, error) {
				return c.Registry.AddPartyPrefix(ctx, &pb.AddPartyPrefixRequest{Gln: args[0], CompanyPrefix: args[1]})
			}, func(w io.Writer, resp *pb.AddPartyPrefixResponse) {
				fmt.Fprintf(w, "company prefix %s added to %s; it holds %s\n", args[1], args[0], strings.Join(resp.GetParty().GetCompanyPrefixes(), ", "))
			})
			return err
		},
	}
	addClientFlags(add, co)
	cmd.AddCommand(add)
	return cmd
}

func roleWord(r pb.Role) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(r.String(), "ROLE_"), "_", "-"))
}

func newProductCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "product", Short: "Register and look up products (manufacturers)"}
	co := &clientOptions{}
	var p pb.Product
	create := &cobra.Command{
		Use: "create --gtin GTIN --name NAME", Short: "Register a product of yours", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := call(cmd, co, func(ctx context.Context, c *client.Client) (*pb.CreateProductResponse, error) {
				return c.Registry.CreateProduct(ctx, &pb.CreateProductRequest{Product: &p})
			}, func(w io.Writer, resp *pb.CreateProductResponse) {
				fmt.Fprintf(w, "registered product %s %q of %s\n", resp.GetProduct().GetGtin(), resp.GetProduct().GetName(), resp.GetProduct().GetManufacturerGln())
			})
			return err
		},
	}
	f := create.Flags()
	f.StringVar(&p.Gtin, "gtin", "", "GTIN-14 with check digit")
	f.StringVar(&p.Name, "name", "", "name")
	f.StringVar(&p.Form, "form", "", "pharmaceutical form")
	f.StringVar(&p.Strength, "strength", "", "strength")
	f.Uint32Var(&p.PackSize, "pack-size", 0, "units per pack")
	f.StringVar(&p.NationalCode, "national-code", "", "national reimbursement number")
	f.StringVar(&p.ManufacturerGln, "manufacturer", "", "manufacturer GLN (admins only; default: you)")
	var serialFormat string
	f.StringVar(&serialFormat, "serial-format", "default", "serial format: default (12 characters of set 82), numeric or alphanumeric (fixed --serial-length)")
	f.Uint32Var(&p.SerialLength, "serial-length", 0, "length of every serial with a numeric or alphanumeric format, 6–20 (e.g. 13 for Brazil, 20 for China)")
	create.PreRunE = func(*cobra.Command, []string) error {
		v, ok := pb.SerialFormat_value["SERIAL_FORMAT_"+strings.ToUpper(serialFormat)]
		if serialFormat == "default" {
			v, ok = 0, true
		}
		if !ok || v == 0 && serialFormat != "default" {
			return fmt.Errorf("--serial-format: default, numeric or alphanumeric, got %q", serialFormat)
		}
		p.SerialFormat = pb.SerialFormat(v)
		return nil
	}
	addClientFlags(create, co)
	gco := &clientOptions{}
	get := &cobra.Command{
		Use: "get GTIN", Short: "Show a product", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := call(cmd, gco, func(ctx context.Context, c *client.Client) (*pb.GetProductResponse, error) {
				return c.Registry.GetProduct(ctx, &pb.GetProductRequest{Gtin: args[0]})
			}, func(w io.Writer, resp *pb.GetProductResponse) {
				p := resp.GetProduct()
				fmt.Fprintf(w, "%s %q %s %s, %d per pack, manufacturer %s\n", p.GetGtin(), p.GetName(), p.GetForm(), p.GetStrength(), p.GetPackSize(), p.GetManufacturerGln())
			})
			return err
		},
	}
	addClientFlags(get, gco)
	cmd.AddCommand(create, get)
	return cmd
}

func newBatchCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "batch", Short: "Register, look up, recall and withdraw batches"}
	co := &clientOptions{}
	var b pb.Batch
	create := &cobra.Command{
		Use: "create GTIN --lot LOT --expiry YYMMDD", Short: "Register a batch of your product", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := call(cmd, co, func(ctx context.Context, c *client.Client) (*pb.CreateBatchResponse, error) {
				return c.Registry.CreateBatch(ctx, &pb.CreateBatchRequest{Gtin: args[0], Batch: &b})
			}, func(w io.Writer, resp *pb.CreateBatchResponse) {
				fmt.Fprintf(w, "registered batch %s of %s, expiry %s\n", resp.GetBatch().GetLot(), resp.GetBatch().GetGtin(), resp.GetBatch().GetExpiry())
			})
			return err
		},
	}
	create.Flags().StringVar(&b.Lot, "lot", "", "lot, 1–20 characters of GS1 set 82")
	create.Flags().StringVar(&b.Expiry, "expiry", "", "expiry exactly as printed: YYMMDD (DD may be 00)")
	create.Flags().StringVar(&b.ManufacturingDate, "manufactured", "", "manufacturing date YYMMDD")
	addClientFlags(create, co)
	gco := &clientOptions{}
	get := &cobra.Command{
		Use: "get GTIN LOT", Short: "Show a batch", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := call(cmd, gco, func(ctx context.Context, c *client.Client) (*pb.GetBatchResponse, error) {
				return c.Registry.GetBatch(ctx, &pb.GetBatchRequest{Gtin: args[0], Lot: args[1]})
			}, func(w io.Writer, resp *pb.GetBatchResponse) {
				b := resp.GetBatch()
				fmt.Fprintf(w, "%s lot %s expiry %s: %d commissioned, recalled=%v withdrawn=%v\n", b.GetGtin(), b.GetLot(), b.GetExpiry(), b.GetCommissioned(), b.GetRecalled(), b.GetWithdrawn())
			})
			return err
		},
	}
	addClientFlags(get, gco)
	cmd.AddCommand(create, get, holdCommand("recall"), holdCommand("withdraw"), newBatchSerialsCommand())
	return cmd
}

func holdCommand(verb string) *cobra.Command {
	co := &clientOptions{}
	var reason string
	cmd := &cobra.Command{
		Use: verb + " GTIN LOT", Short: "Mark a batch " + verb + "ed (its manufacturer or a regulator); never reversible", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := call(cmd, co, func(ctx context.Context, c *client.Client) (*pb.Outcome, error) {
				if verb == "recall" {
					resp, err := c.Registry.RecallBatch(ctx, &pb.RecallBatchRequest{Gtin: args[0], Lot: args[1], Reason: reason})
					return resp.GetOutcome(), err
				}
				resp, err := c.Registry.WithdrawBatch(ctx, &pb.WithdrawBatchRequest{Gtin: args[0], Lot: args[1], Reason: reason})
				return resp.GetOutcome(), err
			}, func(w io.Writer, _ *pb.Outcome) {
				fmt.Fprintf(w, "batch %s of %s %sed\n", args[1], args[0], verb)
			})
			return err
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	addClientFlags(cmd, co)
	return cmd
}

// commissionChunk is how many serials one request carries, so that the
// progress bar moves and no request is huge.
const commissionChunk = 50000

func newCommissionCommand() *cobra.Command {
	co := &clientOptions{}
	var count int
	var file, out, requestID string
	cmd := &cobra.Command{
		Use:   "commission GTIN LOT (--count N [--out FILE] | --file FILE)",
		Short: "Commission serials in a batch: generated (--count) or read from a file, one per line",
		Long: `Commission serials in a batch: generated (--count) or read from a file, one per line.

Each run has a request ID (random unless --request-id gives one), printed
first; every request of the run is idempotent under it, and a request that
fails on the network is sent again with the same ID. To finish a run that
was cut off, run the same command with --request-id: what is on the ledger
already is answered from it (the same serials), the rest is completed,
nothing is commissioned twice.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (count > 0) == (file != "") {
				return errors.New("give exactly one of --count and --file")
			}
			rid, err := runRequestID(requestID)
			if err != nil {
				return err
			}
			if out != "" {
				if file != "" {
					return errors.New("--out writes generated serials: give it with --count")
				}
				return commissionToFile(cmd, co, args[0], args[1], count, out, rid)
			}
			var serials []string
			if file != "" {
				if serials, err = readLines(file); err != nil {
					return err
				}
				count = len(serials)
			}
			c, err := co.client()
			if err != nil {
				return err
			}
			defer c.Close()
			fmt.Fprintf(cmd.ErrOrStderr(), "request ID %s (to resume this run: --request-id %s)\n", rid, rid)
			start := time.Now()
			var done uint64
			first := ^uint64(0)
			var generated []string
			err = commissionRun(cmd.Context(), c, args[0], args[1], rid, serials, count, commissionChunk, func(resp *pb.CommissionSerialsResponse) error {
				done += resp.GetCommissioned()
				first = min(first, resp.GetFirstLedgerIndex())
				generated = append(generated, resp.GetSerials()...)
				progress(cmd.ErrOrStderr(), done, uint64(count), start)
				return nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr())
			rate := float64(done) / time.Since(start).Seconds()
			if co.json {
				return printJSON(cmd.OutOrStdout(), &pb.CommissionSerialsResponse{Commissioned: done, Serials: generated, FirstLedgerIndex: first, RequestId: rid})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "commissioned %d serials in %s (%.0f/s)\n", done, time.Since(start).Round(time.Millisecond), rate)
			for _, s := range generated {
				fmt.Fprintln(cmd.OutOrStdout(), s)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&count, "count", 0, "number of random serials to generate (up to 1,000,000 per run of the server's limit per request)")
	cmd.Flags().StringVar(&file, "file", "", "file of serials, one per line ('-' for stdin)")
	cmd.Flags().StringVar(&out, "out", "", "with --count: file to write the generated serials to, one a line, as they are committed ('-' for stdout)")
	cmd.Flags().StringVar(&requestID, "request-id", "", "request ID of the run, to resume one that was cut off (1–48 of A–Z, a–z, 0–9, '-', '_'; default random); a run with --out is resumed with --out (its requests are of 10,000)")
	addClientFlags(cmd, co)
	return cmd
}

// progress draws a one-line progress bar.
func progress(w io.Writer, done, total uint64, start time.Time) {
	const width = 30
	filled := int(float64(width) * float64(done) / float64(max(total, 1)))
	fmt.Fprintf(w, "\r[%s%s] %d/%d  %.0f/s", strings.Repeat("#", filled), strings.Repeat(" ", width-filled),
		done, total, float64(done)/time.Since(start).Seconds())
}

func readLines(path string) ([]string, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
