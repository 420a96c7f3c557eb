package node

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestProductSerialFormats registers products with numeric formats and
// checks that generated serials follow them, that explicit serials must,
// and that a format whose space is too small for the batch is refused with
// the figure; an impossible format is refused at registration.
func TestProductSerialFormats(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	t.Cleanup(func() { shutdown(t, n) })
	a := &api{t: t, n: n}
	ctx := bearer(context.Background(), a.party(apiMfr, pb.Role_ROLE_MANUFACTURER))
	reg := pb.NewRegistryServiceClient(plainConn(t, n))
	const brazil, tiny = "07891234567895", "09506000134369"
	for _, p := range []*pb.Product{
		{Gtin: brazil, Name: "Dipirona", SerialFormat: pb.SerialFormat_SERIAL_FORMAT_NUMERIC, SerialLength: 13},
		{Gtin: tiny, Name: "Tiny", SerialFormat: pb.SerialFormat_SERIAL_FORMAT_NUMERIC, SerialLength: 6},
	} {
		resp, err := reg.CreateProduct(ctx, &pb.CreateProductRequest{Product: p})
		if err != nil {
			t.Fatalf("%s: %v", p.GetGtin(), err)
		}
		if got := resp.GetProduct(); got.GetSerialFormat() != p.GetSerialFormat() || got.GetSerialLength() != p.GetSerialLength() {
			t.Errorf("%s registered as %v %d", p.GetGtin(), got.GetSerialFormat(), got.GetSerialLength())
		}
		if _, err := reg.CreateBatch(ctx, &pb.CreateBatchRequest{Gtin: p.GetGtin(), Batch: &pb.Batch{Lot: "L1", Expiry: "281200"}}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := reg.CommissionSerials(ctx, &pb.CommissionSerialsRequest{Gtin: brazil, Lot: "L1", Count: 500})
	if err != nil {
		t.Fatal(err)
	}
	firsts := map[byte]bool{}
	for _, sn := range resp.GetSerials() {
		if len(sn) != 13 || strings.Trim(sn, "0123456789") != "" {
			t.Errorf("generated %q, want 13 digits", sn)
		}
		firsts[sn[0]] = true
	}
	if len(resp.GetSerials()) != 500 || len(firsts) != 10 {
		t.Errorf("%d serials whose first digits take %d values, want 500 and all 10", len(resp.GetSerials()), len(firsts))
	}
	_, err = reg.CommissionSerials(ctx, &pb.CommissionSerialsRequest{Gtin: brazil, Lot: "L1", Serials: []string{"123456789012"}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "13 digits") {
		t.Errorf("12-digit serial: %v, want InvalidArgument naming 13 digits", err)
	}

	// 6 digits: 10^6 serials, so at most 99 in a batch.
	_, err = reg.CommissionSerials(ctx, &pb.CommissionSerialsRequest{Gtin: tiny, Lot: "L1", Count: 100})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "0.0001") || !strings.Contains(err.Error(), "at most 99") {
		t.Errorf("100 serials of 6 digits: %v, want FailedPrecondition giving 0.0001 and at most 99", err)
	}
	if _, err := reg.CommissionSerials(ctx, &pb.CommissionSerialsRequest{Gtin: tiny, Lot: "L1", Count: 90}); err != nil {
		t.Fatalf("90 serials of 6 digits: %v", err)
	}
	_, err = reg.CommissionSerials(ctx, &pb.CommissionSerialsRequest{Gtin: tiny, Lot: "L1", Serials: []string{"000001", "000002", "000003", "000004", "000005", "000006", "000007", "000008", "000009", "000010"}})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "100 serials") {
		t.Errorf("10 more after 90: %v, want FailedPrecondition counting 100 serials", err)
	}

	for _, p := range []*pb.Product{
		{Gtin: "09506000134376", Name: "Short", SerialFormat: pb.SerialFormat_SERIAL_FORMAT_NUMERIC, SerialLength: 5},
		{Gtin: "09506000134376", Name: "Default with a length", SerialLength: 12},
		{Gtin: "09506000134376", Name: "Unknown", SerialFormat: 9, SerialLength: 12},
	} {
		_, err := reg.CreateProduct(ctx, &pb.CreateProductRequest{Product: p})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "serial") {
			t.Errorf("%s: %v, want InvalidArgument naming the serial format", p.GetName(), err)
		}
	}
}
