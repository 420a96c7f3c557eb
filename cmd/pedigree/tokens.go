package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/client"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

func newTokenCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Issue, list and revoke API tokens (your own; an admin's of any party with --party)"}
	var party string
	var expiresIn time.Duration
	var expiresAt string
	co := &clientOptions{}
	create := &cobra.Command{
		Use:   "create [--expires-in DURATION | --expires-at TIME]",
		Short: "Issue an API token; prints it (shown once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &pb.CreateTokenRequest{}
			switch {
			case expiresIn != 0 && expiresAt != "":
				return errors.New("give --expires-in or --expires-at, not both")
			case expiresIn != 0:
				req.ExpiresIn = durationpb.New(expiresIn)
			case expiresAt != "":
				t, err := time.Parse(time.RFC3339, expiresAt)
				if err != nil {
					return fmt.Errorf("--expires-at: want RFC 3339, e.g. 2027-01-31T18:00:00Z: %w", err)
				}
				req.ExpireTime = timestamppb.New(t)
			}
			req.Gln = party
			_, err := call(cmd, co, func(ctx context.Context, c *client.Client) (*pb.CreateTokenResponse, error) {
				return c.Registry.CreateToken(ctx, req)
			}, func(w io.Writer, resp *pb.CreateTokenResponse) {
				fmt.Fprintf(w, "token (shown once, keep it secret): %s\ntoken ID: %s\nexpires: %s\n",
					resp.GetToken(), resp.GetTokenId(), stampOr(resp.GetExpireTime(), "never"))
			})
			return err
		},
	}
	create.Flags().StringVar(&party, "party", "", "GLN of the party (admins only; default: yours)")
	create.Flags().DurationVar(&expiresIn, "expires-in", 0, "the token stops working this long after the server issues it (e.g. 720h)")
	create.Flags().StringVar(&expiresAt, "expires-at", "", "the token stops working at this time (RFC 3339)")
	addClientFlags(create, co)

	var listParty string
	lco := &clientOptions{}
	list := &cobra.Command{
		Use: "list", Short: "List API tokens: ID, issued, expires, revoked, status (never the token)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := call(cmd, lco, func(ctx context.Context, c *client.Client) (*pb.ListTokensResponse, error) {
				return c.Registry.ListTokens(ctx, &pb.ListTokensRequest{Gln: listParty, PageSize: 1000})
			}, func(w io.Writer, resp *pb.ListTokensResponse) {
				fmt.Fprintf(w, "%-16s  %-20s  %-20s  %-20s  %s\n", "ID", "ISSUED", "EXPIRES", "REVOKED", "STATUS")
				for _, t := range resp.GetTokens() {
					fmt.Fprintf(w, "%-16s  %-20s  %-20s  %-20s  %s\n", t.GetTokenId(), stampOr(t.GetCreateTime(), "-"),
						stampOr(t.GetExpireTime(), "never"), stampOr(t.GetRevokeTime(), "-"),
						strings.ToLower(strings.TrimPrefix(t.GetStatus().String(), "TOKEN_STATUS_")))
				}
			})
			return err
		},
	}
	list.Flags().StringVar(&listParty, "party", "", "GLN of the party (admins only; default: yours)")
	addClientFlags(list, lco)

	var revokeParty string
	rco := &clientOptions{}
	revoke := &cobra.Command{
		Use: "revoke TOKEN-ID", Short: "Revoke an API token: it stops working at once", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := call(cmd, rco, func(ctx context.Context, c *client.Client) (*pb.RevokeTokenResponse, error) {
				return c.Registry.RevokeToken(ctx, &pb.RevokeTokenRequest{Gln: revokeParty, TokenId: args[0]})
			}, func(w io.Writer, _ *pb.RevokeTokenResponse) {
				fmt.Fprintf(w, "token %s revoked\n", args[0])
			})
			return err
		},
	}
	revoke.Flags().StringVar(&revokeParty, "party", "", "GLN of the party (admins only; default: yours)")
	addClientFlags(revoke, rco)
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// stampOr formats a timestamp in UTC to the second, or returns none when
// it is unset.
func stampOr(ts *timestamppb.Timestamp, none string) string {
	if ts == nil {
		return none
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}
