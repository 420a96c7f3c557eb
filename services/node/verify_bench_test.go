package node

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// verifyBenchPacks is how many packs BenchmarkVerifyPack commissions and
// verifies at random.
const verifyBenchPacks = 10_000

// BenchmarkVerifyPack measures VerificationService.VerifyPack through the
// real node: gRPC on loopback with its interceptors (telemetry,
// authentication), the verification service and the state on Pebble, for
// active packs scanned as raw DataMatrix element strings, as the verify
// phase of `pedigree bench` sends them. The client runs in the same
// process, so ns/op and allocs/op include it; -cpuprofile separates the
// two. BENCHMARKS.md (Verify) runs it with -benchtime=50000x.
func BenchmarkVerifyPack(b *testing.B) {
	cfg := testConfig(b.TempDir())
	cfg.Edge = cfg.Edge.Unlimited() // one pharmacy verifies far above a party's budget
	n := startNode(b, cfg)
	defer shutdown(b, n)
	a := &api{t: b, n: n}
	ctx := context.Background()
	mfr := a.party(apiMfr, pb.Role_ROLE_MANUFACTURER)
	pharm := a.party(apiPharm, pb.Role_ROLE_PHARMACY)
	if err := a.as(mfr).Post(ctx, "/v1/products", &pb.Product{Gtin: apiGTIN, Name: "Paracetamol 500 mg"}, &pb.CreateProductResponse{}); err != nil {
		b.Fatal(err)
	}
	if err := a.as(mfr).Post(ctx, "/v1/products/"+apiGTIN+"/batches", &pb.Batch{Lot: "LOT42", Expiry: "281200"}, &pb.CreateBatchResponse{}); err != nil {
		b.Fatal(err)
	}
	serials := make([]string, verifyBenchPacks)
	for i := range serials {
		serials[i] = fmt.Sprintf("SN%08d", i)
	}
	if err := a.as(mfr).Post(ctx, "/v1/products/"+apiGTIN+"/batches/LOT42:commission", &pb.CommissionSerialsRequest{Serials: serials}, &pb.CommissionSerialsResponse{}); err != nil {
		b.Fatal(err)
	}
	barcodes := make([]string, len(serials))
	for i, s := range serials {
		barcodes[i] = "]d201" + apiGTIN + "17281200" + "10LOT42\x1d21" + s
	}

	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	vs := pb.NewVerificationServiceClient(conn)
	vctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+pharm)
	verify := func(i int) {
		resp, err := vs.VerifyPack(vctx, &pb.VerifyPackRequest{Pack: pb.BarcodeInput(barcodes[i%len(barcodes)])})
		if err != nil {
			b.Fatal(err)
		}
		if !resp.GetDispensable() || resp.GetBatch().GetLot() != "LOT42" || resp.GetProduct().GetGtin() != apiGTIN {
			b.Fatalf("verify pack %d: %v", i%len(barcodes), resp)
		}
	}
	for i := range 1000 { // connections, caches and code paths warm
		verify(i * 7)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		verify(i * 7919)
		i++
	}
}
