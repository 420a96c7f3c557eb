package node

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestCommissioningIsIdempotentByRequestID: a request ID makes a
// commissioning answer alike however often it is sent (the same serials,
// the same ledger index, nothing more on the ledger), over a restart
// too; the same ID with other parameters is refused with 409 naming
// request_id; a bad ID is refused with 400; a stream re-sent under the
// same ID records each chunk once.
func TestCommissioningIsIdempotentByRequestID(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, testConfig(dir))
	a := &api{t: t, n: n}
	ctx := context.Background()
	mfr := a.party(apiMfr, pb.Role_ROLE_MANUFACTURER)
	if err := a.as(mfr).Post(ctx, "/v1/products", &pb.Product{Gtin: apiGTIN, Name: "Paracetamol 500 mg"}, &pb.CreateProductResponse{}); err != nil {
		t.Fatal(err)
	}
	if err := a.as(mfr).Post(ctx, "/v1/products/"+apiGTIN+"/batches", &pb.Batch{Lot: "LOT1", Expiry: "281200"}, &pb.CreateBatchResponse{}); err != nil {
		t.Fatal(err)
	}
	path := "/v1/products/" + apiGTIN + "/batches/LOT1:commission"
	commissioned := func() uint64 {
		t.Helper()
		b := &pb.GetBatchResponse{}
		if err := a.as(mfr).Get(ctx, "/v1/products/"+apiGTIN+"/batches/LOT1", b); err != nil {
			t.Fatal(err)
		}
		return b.GetBatch().GetCommissioned()
	}
	post := func(req *pb.CommissionSerialsRequest) *pb.CommissionSerialsResponse {
		t.Helper()
		resp := &pb.CommissionSerialsResponse{}
		if err := a.as(mfr).Post(ctx, path, req, resp); err != nil {
			t.Fatal(err)
		}
		return resp
	}

	req := &pb.CommissionSerialsRequest{Count: 10_000, RequestId: "line-1:run.7"}
	first := post(req)
	if first.GetCommissioned() != 10_000 || len(first.GetSerials()) != 10_000 || first.GetChunks() != 1 || first.GetChunksAlreadyRecorded() != 0 || first.GetRequestId() != req.GetRequestId() {
		t.Fatalf("first answer: %d serials (%d listed), %d chunks, %d already recorded, request %q",
			first.GetCommissioned(), len(first.GetSerials()), first.GetChunks(), first.GetChunksAlreadyRecorded(), first.GetRequestId())
	}
	same := func(what string, got *pb.CommissionSerialsResponse) {
		t.Helper()
		if got.GetFirstLedgerIndex() != first.GetFirstLedgerIndex() || !slices.Equal(got.GetSerials(), first.GetSerials()) ||
			got.GetChunksAlreadyRecorded() != 1 || got.GetCommissioned() != 10_000 {
			t.Fatalf("%s: index %d, %d serials, %d already recorded; want index %d, the same serials, 1 already recorded",
				what, got.GetFirstLedgerIndex(), len(got.GetSerials()), got.GetChunksAlreadyRecorded(), first.GetFirstLedgerIndex())
		}
		if c := commissioned(); c != 10_000 {
			t.Fatalf("%s: batch holds %d serials, want 10000", what, c)
		}
	}
	same("retry", post(req))
	same("second retry", post(req))

	shutdown(t, n)
	n = startNode(t, testConfig(dir))
	defer shutdown(t, n)
	a.n = n
	same("retry after a restart", post(req))

	wantStatus(t, "same ID, other count", a.as(mfr).Post(ctx, path, &pb.CommissionSerialsRequest{Count: 9_999, RequestId: req.GetRequestId()}, nil), http.StatusConflict, "request_id")
	wantStatus(t, "same ID, explicit serials", a.as(mfr).Post(ctx, path, &pb.CommissionSerialsRequest{Serials: []string{"A1"}, RequestId: req.GetRequestId()}, nil), http.StatusConflict, "request_id")
	wantStatus(t, "ID with a space", a.as(mfr).Post(ctx, path, &pb.CommissionSerialsRequest{Count: 1, RequestId: "run 7"}, nil), http.StatusBadRequest, "request_id")
	wantStatus(t, "ID of 65 characters", a.as(mfr).Post(ctx, path, &pb.CommissionSerialsRequest{Count: 1, RequestId: strings.Repeat("x", 65)}, nil), http.StatusBadRequest, "request_id")
	if c := commissioned(); c != 10_000 {
		t.Fatalf("refused requests changed the batch: %d serials", c)
	}
	st := &pb.GetCommissionRequestResponse{}
	if err := a.as(mfr).Get(ctx, "/v1/products/"+apiGTIN+"/batches/LOT1/commissionRequests/"+req.GetRequestId(), st); err != nil {
		t.Fatal(err)
	}
	if !st.GetComplete() || st.GetChunks() != 1 || !slices.Equal(st.GetRecordedChunks(), []uint32{0}) || st.GetSerialsRecorded() != 10_000 || st.GetFirstLedgerIndex() != first.GetFirstLedgerIndex() {
		t.Fatalf("state of the request: %v", st)
	}
	wantStatus(t, "state of an unknown request", a.as(mfr).Get(ctx, "/v1/products/"+apiGTIN+"/batches/LOT1/commissionRequests/nothing-sent", nil), http.StatusNotFound, "request_id")
	wantStatus(t, "state under another lot", a.as(mfr).Get(ctx, "/v1/products/"+apiGTIN+"/batches/LOT2/commissionRequests/"+req.GetRequestId(), nil), http.StatusNotFound, "request_id")

	// Explicit serials in three chunks: a retry is answered from the ledger.
	list := make([]string, 25_000)
	for i := range list {
		list[i] = fmt.Sprintf("L%07d", i)
	}
	lreq := &pb.CommissionSerialsRequest{Serials: list, RequestId: "list-1"}
	l1 := post(lreq)
	l2 := post(lreq)
	if l1.GetChunks() != 3 || l2.GetChunksAlreadyRecorded() != 3 || l2.GetFirstLedgerIndex() != l1.GetFirstLedgerIndex() || commissioned() != 35_000 {
		t.Fatalf("list retry: %d chunks, %d already recorded, index %d (first %d), batch %d", l1.GetChunks(), l2.GetChunksAlreadyRecorded(),
			l2.GetFirstLedgerIndex(), l1.GetFirstLedgerIndex(), commissioned())
	}

	// A stream cut after two chunks, then sent whole under the same ID.
	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rc := pb.NewRegistryServiceClient(conn)
	gctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+mfr)
	chunk := func(k int) []string {
		out := make([]string, 1_000)
		for i := range out {
			out[i] = fmt.Sprintf("S%02d%05d", k, i)
		}
		return out
	}
	send := func(chunks int, rid string, alter bool) (*pb.StreamCommissionSerialsResponse, error) {
		st, err := rc.StreamCommissionSerials(gctx)
		if err != nil {
			return nil, err
		}
		for k := range chunks {
			sn := chunk(k)
			if alter && k == 1 {
				sn[0] = "OTHER"
			}
			if err := st.Send(&pb.StreamCommissionSerialsRequest{Gtin: apiGTIN, Lot: "LOT1", Serials: sn, RequestId: rid}); err != nil {
				return nil, err
			}
		}
		return st.CloseAndRecv()
	}
	if r, err := send(2, "stream-1", false); err != nil || r.GetCommissioned() != 2_000 {
		t.Fatalf("cut stream: %v %v", r, err)
	}
	if st, err := rc.GetCommissionRequest(gctx, &pb.GetCommissionRequestRequest{Gtin: apiGTIN, Lot: "LOT1", RequestId: "stream-1"}); err != nil ||
		st.GetComplete() || st.GetChunks() != 0 || !slices.Equal(st.GetRecordedChunks(), []uint32{0, 1}) || st.GetSerialsRecorded() != 2_000 {
		t.Fatalf("state of the cut stream: %v %v", st, err)
	}
	if r, err := send(5, "stream-1", false); err != nil || r.GetCommissioned() != 5_000 {
		t.Fatalf("whole stream under the same ID: %v %v", r, err)
	}
	if c := commissioned(); c != 40_000 {
		t.Fatalf("after the re-sent stream the batch holds %d serials, want 40000", c)
	}
	if _, err := send(2, "stream-1", true); status.Code(err) != codes.AlreadyExists || !strings.Contains(err.Error(), "request_id") {
		t.Fatalf("stream chunk re-sent with other serials: %v, want AlreadyExists naming request_id", err)
	}
}
