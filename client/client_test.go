package client_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pedigree-project/pedigree/client"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/node"
)

// TestClientCallsANodeOverGRPC registers a party through a real node's
// gRPC server, reads a refusal as an *Error with its field violation, and
// checks that a closed client calls no more.
func TestClientCallsANodeOverGRPC(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := node.DefaultConfig()
	cfg.DataDir, cfg.GRPCAddr, cfg.HTTPAddr, cfg.NATSListen, cfg.MetricsAddr = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0", "", ""
	n, err := node.Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = n.Shutdown(context.Background()) }()
	token, err := os.ReadFile(n.AdminTokenPath())
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(n.GRPCAddr(), strings.TrimSpace(string(token)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Registry.CreateParty(ctx, &pb.CreatePartyRequest{Party: &pb.Party{Gln: "4000005000001", Name: "Pharmacy", Role: pb.Role_ROLE_PHARMACY}})
	if err != nil || resp.GetToken() == "" {
		t.Fatalf("create party: %v %v", resp, err)
	}

	_, err = c.Verification.VerifyPack(ctx, &pb.VerifyPackRequest{})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Code != codes.InvalidArgument || len(ce.Violations) != 1 || ce.Violations[0].Field != "pack" ||
		!strings.Contains(ce.Error(), "pack: required") || status.Code(err) != codes.InvalidArgument {
		t.Fatalf("verify without a pack: %#v, want an *Error with a violation on pack", err)
	}
	stranger, err := client.New(n.GRPCAddr(), "pdg_unknown")
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	if _, err := stranger.Registry.ListParties(ctx, &pb.ListPartiesRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("an unknown token: %v, want Unauthenticated", err)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Registry.ListParties(ctx, &pb.ListPartiesRequest{}); err == nil {
		t.Error("a closed client still calls")
	}
}

func TestNewRefusesBadAddresses(t *testing.T) {
	for _, addr := range []string{"", "ftp://host:1", "host:1/path", "http://"} {
		if c, err := client.New(addr, ""); err == nil {
			_ = c.Close()
			t.Errorf("New(%q) accepted", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:7070", "http://127.0.0.1:7070", "https://node.example:443/"} {
		c, err := client.New(addr, "tok")
		if err != nil {
			t.Errorf("New(%q): %v", addr, err)
			continue
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}
