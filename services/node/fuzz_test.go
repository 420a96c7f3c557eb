package node

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// fuzzFixture is one real node, started once per fuzzing process, with a
// manufacturer, a pharmacy, a product, a batch and a few packs, and the
// tokens of the admin, the manufacturer and the pharmacy.
type fuzzFixture struct {
	n      *Node
	tokens [3]string // admin, manufacturer, pharmacy
	http   *http.Client
	pharm  *restClient // one client, whose connections are reused
}

func startFuzzNode(f *testing.F) *fuzzFixture {
	n := startNode(f, testConfig(f.TempDir()))
	f.Cleanup(func() { shutdown(f, n) })
	a := &api{t: f, n: n}
	fx := &fuzzFixture{n: n, http: &http.Client{Timeout: 30 * time.Second}}
	fx.tokens = [3]string{a.adminToken(), a.party(apiMfr, pb.Role_ROLE_MANUFACTURER), a.party(apiPharm, pb.Role_ROLE_PHARMACY)}
	fx.pharm = a.as(fx.tokens[2])
	a.packs(fx.tokens[1], "F1", "F2", "F3", "F4")
	return fx
}

// stillServing fails t unless the node is ready and answers a verify.
func (fx *fuzzFixture) stillServing(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fx.n.Ready(ctx); err != nil {
		t.Fatalf("node not ready: %v", err)
	}
	if err := fx.pharm.Post(ctx, "/v1/packs:verify", &pb.VerifyPackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "F1"})}, &pb.VerifyPackResponse{}); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

// fuzzRoutes are the REST writes FuzzREST posts to.
var fuzzRoutes = []string{
	"/v1/events",
	"/v1/packs:verify",
	"/v1/packs:dispense",
	"/v1/packs:decommission",
	"/v1/packs:undo",
	"/v1/products/" + apiGTIN + "/batches/L1:commission",
	"/v1/parties",
	"/v1/products",
	"/v1/alerts/1-0:review",
}

// tooCostly reports a request whose size, not its content, would make the
// iteration slow (commissioning a million serials is allowed, and slow).
func tooCostly(m proto.Message) bool {
	switch r := m.(type) {
	case *pb.CommissionSerialsRequest:
		return r.GetCount() > 100 || len(r.GetSerials()) > 100
	case *pb.BatchDecommissionPacksRequest:
		return len(r.GetPacks()) > 100
	}
	return false
}

// FuzzREST posts fuzzed JSON bodies, as the admin, a manufacturer or a
// pharmacy, to the REST writes of a real node (grpc-gateway in front of
// the gRPC server, the stream and the ledger behind): no answer is a
// server error, and the node stays ready and answers a verify.
func FuzzREST(f *testing.F) {
	fx := startFuzzNode(f)
	pack := `"pack":{"code":{"gtin":"` + apiGTIN + `","serial":"F2"}}`
	for _, s := range []struct {
		who, route uint8
		body       string
	}{
		// testdata/fuzz/FuzzREST holds the captures with disposition 99
		// and bizStep 12345 that took the node down.
		{2, 0, `{"event":{"type":1,"action":2,"bizStep":6,"eventTime":"2026-11-20T10:00:00Z","sources":[{"type":9,"gln":"4000005000001"}]}}`},
		{2, 1, `{` + pack + `}`},
		{2, 2, `{` + pack + `,"eventId":"urn:uuid:1","eventTime":"2026-11-20T10:00:00Z"}`},
		{2, 3, `{` + pack + `,"reason":99}`},
		{2, 4, `{` + pack + `}`},
		{1, 5, `{"serials":["F9"]}`},
		{1, 5, `{"count":-1}`},
		{0, 6, `{"gln":"4000009000007","name":"x","role":42}`},
		{1, 7, `{"gtin":"09506000134369","name":"x","packSize":4294967295}`},
		{0, 8, `{"status":17}`},
		{2, 0, ``},
		{2, 0, `{"event":{"epcs":[{"pack":`},
		{2, 2, `null`},
	} {
		f.Add(s.who, s.route, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, who, route uint8, body []byte) {
		path := fuzzRoutes[int(route)%len(fuzzRoutes)]
		if path == fuzzRoutes[5] {
			req := &pb.CommissionSerialsRequest{}
			if protojson.Unmarshal(body, req) == nil && tooCostly(req) {
				return
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+fx.n.HTTPAddr()+path, strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+fx.tokens[int(who)%len(fx.tokens)])
		req.Header.Set("Content-Type", "application/json")
		resp, err := fx.http.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("POST %s %q: HTTP %d %s", path, body, resp.StatusCode, answer)
		}
		fx.stillServing(t)
	})
}

// fuzzMethods are the unary gRPC methods FuzzGRPC calls, with their
// request and response types.
var fuzzMethods = []struct {
	name     string
	req, res func() proto.Message
}{
	{"/pedigree.v1.CaptureService/CaptureEvent", func() proto.Message { return &pb.CaptureEventRequest{} }, func() proto.Message { return &pb.CaptureEventResponse{} }},
	{"/pedigree.v1.VerificationService/VerifyPack", func() proto.Message { return &pb.VerifyPackRequest{} }, func() proto.Message { return &pb.VerifyPackResponse{} }},
	{"/pedigree.v1.VerificationService/DispensePack", func() proto.Message { return &pb.DispensePackRequest{} }, func() proto.Message { return &pb.DispensePackResponse{} }},
	{"/pedigree.v1.VerificationService/DecommissionPack", func() proto.Message { return &pb.DecommissionPackRequest{} }, func() proto.Message { return &pb.DecommissionPackResponse{} }},
	{"/pedigree.v1.VerificationService/UndoDecommission", func() proto.Message { return &pb.UndoDecommissionRequest{} }, func() proto.Message { return &pb.UndoDecommissionResponse{} }},
	{"/pedigree.v1.VerificationService/BatchDecommissionPacks", func() proto.Message { return &pb.BatchDecommissionPacksRequest{} }, func() proto.Message { return &pb.BatchDecommissionPacksResponse{} }},
	{"/pedigree.v1.RegistryService/CreateParty", func() proto.Message { return &pb.CreatePartyRequest{} }, func() proto.Message { return &pb.CreatePartyResponse{} }},
	{"/pedigree.v1.RegistryService/CreateProduct", func() proto.Message { return &pb.CreateProductRequest{} }, func() proto.Message { return &pb.CreateProductResponse{} }},
	{"/pedigree.v1.RegistryService/CreateBatch", func() proto.Message { return &pb.CreateBatchRequest{} }, func() proto.Message { return &pb.CreateBatchResponse{} }},
	{"/pedigree.v1.RegistryService/CommissionSerials", func() proto.Message { return &pb.CommissionSerialsRequest{} }, func() proto.Message { return &pb.CommissionSerialsResponse{} }},
	{"/pedigree.v1.RegistryService/AddPartyKey", func() proto.Message { return &pb.AddPartyKeyRequest{} }, func() proto.Message { return &pb.AddPartyKeyResponse{} }},
	{"/pedigree.v1.RegistryService/CreateToken", func() proto.Message { return &pb.CreateTokenRequest{} }, func() proto.Message { return &pb.CreateTokenResponse{} }},
	{"/pedigree.v1.RegistryService/RecallBatch", func() proto.Message { return &pb.RecallBatchRequest{} }, func() proto.Message { return &pb.RecallBatchResponse{} }},
	{"/pedigree.v1.ProvenanceService/ListAlerts", func() proto.Message { return &pb.ListAlertsRequest{} }, func() proto.Message { return &pb.ListAlertsResponse{} }},
	{"/pedigree.v1.ProvenanceService/ReviewAlert", func() proto.Message { return &pb.ReviewAlertRequest{} }, func() proto.Message { return &pb.ReviewAlertResponse{} }},
	{"/pedigree.v1.ProvenanceService/GetPackHistory", func() proto.Message { return &pb.GetPackHistoryRequest{} }, func() proto.Message { return &pb.GetPackHistoryResponse{} }},
	{"/pedigree.v1.LedgerService/GetEntry", func() proto.Message { return &pb.GetEntryRequest{} }, func() proto.Message { return &pb.GetEntryResponse{} }},
	{"/pedigree.v1.LedgerService/GetConsistencyProof", func() proto.Message { return &pb.GetConsistencyProofRequest{} }, func() proto.Message { return &pb.GetConsistencyProofResponse{} }},
}

// FuzzGRPC decodes fuzzed bytes into the request of a unary gRPC method
// and calls it on a real node, as the admin, a manufacturer or a
// pharmacy: the answer is never Internal, Unknown, Unavailable or
// DataLoss (what a panic, a lost outcome or a broken invariant give), and
// the node stays ready and answers a verify.
func FuzzGRPC(f *testing.F) {
	fx := startFuzzNode(f)
	conn, err := grpc.NewClient(fx.n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { conn.Close() })
	code := &pb.PackCode{Gtin: apiGTIN, Serial: "F3"}
	for _, s := range []struct {
		who, method uint8
		req         proto.Message
	}{
		// testdata/fuzz/FuzzGRPC holds the captures with disposition 99
		// and bizStep 12345 that took the node down.
		{2, 0, &pb.CaptureEventRequest{Event: &pb.ScanEvent{Type: 1, Action: 9, BizStep: 6}}},
		{2, 1, &pb.VerifyPackRequest{Pack: pb.CodeInput(code)}},
		{2, 2, &pb.DispensePackRequest{Pack: pb.CodeInput(code), EventId: "urn:uuid:1"}},
		{2, 3, &pb.DecommissionPackRequest{Pack: pb.CodeInput(code), Reason: 99}},
		{0, 6, &pb.CreatePartyRequest{Party: &pb.Party{Gln: "4000009000007", Name: "x", Role: 42}}},
		{0, 14, &pb.ReviewAlertRequest{AlertId: "1-0", Status: 17}},
		{0, 13, &pb.ListAlertsRequest{Code: 99, Status: -1}},
		{0, 16, &pb.GetEntryRequest{Index: 1 << 63}},
	} {
		b, err := proto.Marshal(s.req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s.who, s.method, b)
	}
	f.Add(uint8(2), uint8(0), []byte{})
	f.Add(uint8(2), uint8(0), []byte{0x0a, 0x05, 0x20})
	f.Fuzz(func(t *testing.T, who, method uint8, data []byte) {
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		req := m.req()
		if proto.Unmarshal(data, req) != nil || tooCostly(req) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+fx.tokens[int(who)%len(fx.tokens)])
		err := conn.Invoke(ctx, m.name, req, m.res())
		switch status.Code(err) {
		case codes.Internal, codes.Unknown, codes.Unavailable, codes.DataLoss, codes.DeadlineExceeded:
			t.Fatalf("%s %v: %v", m.name, req, err)
		}
		fx.stillServing(t)
	})
}
