package node

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestChangesReachTheNextRequest checks, through the real node, that what
// the API answers from its read cache changes with the very next request
// after the write that changed it returned: a revoked token is refused, a
// recalled or withdrawn batch verifies as such. Each record is read (and
// cached) just before the write, and the writes repeat, so that a cache
// invalidated after the write's outcome is published would show.
func TestChangesReachTheNextRequest(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	ctx := context.Background()
	mfr := a.party(apiMfr, pb.Role_ROLE_MANUFACTURER)
	pharm := a.party(apiPharm, pb.Role_ROLE_PHARMACY)

	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reg, vs := pb.NewRegistryServiceClient(conn), pb.NewVerificationServiceClient(conn)
	as := func(token string) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	if _, err := reg.CreateProduct(as(mfr), &pb.CreateProductRequest{Product: &pb.Product{Gtin: apiGTIN, Name: "Paracetamol 500 mg"}}); err != nil {
		t.Fatal(err)
	}
	lots := []string{"LOT1", "LOT2", "LOT3", "LOT4", "LOT5", "LOT6"}
	for _, lot := range lots {
		if _, err := reg.CreateBatch(as(mfr), &pb.CreateBatchRequest{Gtin: apiGTIN, Batch: &pb.Batch{Lot: lot, Expiry: "281200"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.CommissionSerials(as(mfr), &pb.CommissionSerialsRequest{Gtin: apiGTIN, Lot: lot, Serials: []string{"S-" + lot}}); err != nil {
			t.Fatal(err)
		}
	}
	verify := func(token, lot string) (*pb.VerifyPackResponse, error) {
		return vs.VerifyPack(as(token), &pb.VerifyPackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "S-" + lot})})
	}

	for i := range 10 {
		tok, err := reg.CreateToken(as(pharm), &pb.CreateTokenRequest{Gln: apiPharm})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := verify(tok.GetToken(), lots[0]); err != nil {
				t.Fatalf("round %d: verify with a new token: %v", i, err)
			}
		}
		if _, err := reg.RevokeToken(as(pharm), &pb.RevokeTokenRequest{Gln: apiPharm, TokenId: tok.GetTokenId()}); err != nil {
			t.Fatal(err)
		}
		if _, err := verify(tok.GetToken(), lots[0]); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("round %d: verify with the token just revoked: %v, want Unauthenticated", i, err)
		}
	}

	for i, lot := range lots {
		if v, err := verify(pharm, lot); err != nil || v.GetStatus() != pb.PackStatus_PACK_STATUS_ACTIVE || !v.GetDispensable() {
			t.Fatalf("verify in %s before it is held: %v %v", lot, v, err)
		}
		want := pb.PackStatus_PACK_STATUS_RECALLED
		if i%2 == 0 {
			_, err = reg.RecallBatch(as(mfr), &pb.RecallBatchRequest{Gtin: apiGTIN, Lot: lot, Reason: "contamination"})
		} else {
			_, err = reg.WithdrawBatch(as(mfr), &pb.WithdrawBatchRequest{Gtin: apiGTIN, Lot: lot, Reason: "relabelled"})
			want = pb.PackStatus_PACK_STATUS_WITHDRAWN
		}
		if err != nil {
			t.Fatal(err)
		}
		v, err := verify(pharm, lot)
		if err != nil || v.GetStatus() != want || v.GetDispensable() || !batchHeld(v.GetBatch()) {
			t.Fatalf("verify in %s right after it was held: %v %v, want %v with the batch record saying so", lot, v, err, want)
		}
	}
}

func batchHeld(b *pb.Batch) bool { return b.GetRecalled() || b.GetWithdrawn() }
