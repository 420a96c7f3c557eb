package node

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

const (
	apiMfr   = "4000001000005"
	apiMfr2  = "4000002000004"
	apiPharm = "4000005000001"
	apiPh2   = "4000006000000"
	apiWs    = "4000003000003"
	apiGTIN  = "09506000134352"
)

type api struct {
	t testing.TB
	n *Node
}

func (a *api) as(token string) *restClient {
	return newREST(a.n.HTTPAddr(), token, nil)
}

func (a *api) adminToken() string {
	b, err := os.ReadFile(filepath.Join(a.n.cfg.DataDir, AdminTokenFile))
	if err != nil {
		a.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func (a *api) party(gln string, role pb.Role) string {
	a.t.Helper()
	resp := &pb.CreatePartyResponse{}
	err := a.as(a.adminToken()).Post(context.Background(), "/v1/parties", &pb.Party{Gln: gln, Name: "Party " + gln, Role: role}, resp)
	if err != nil {
		a.t.Fatalf("create party %s: %v", gln, err)
	}
	if resp.GetToken() == "" || resp.GetParty().GetGln() != gln {
		a.t.Fatalf("create party %s: %v", gln, resp)
	}
	return resp.GetToken()
}

// wantStatus checks the HTTP status of err and that its message names want.
func wantStatus(t *testing.T, what string, err error, status int, want string) {
	t.Helper()
	var ce *restError
	if !errors.As(err, &ce) {
		t.Errorf("%s: %v, want HTTP %d", what, err, status)
		return
	}
	if ce.HTTPStatus != status || !strings.Contains(ce.Message, want) {
		t.Errorf("%s: HTTP %d %q, want %d naming %q", what, ce.HTTPStatus, ce.Message, status, want)
	}
}

// TestRegistryAndVerificationThroughRealServers goes from registering a
// manufacturer to dispensing a pack, through REST (grpc-gateway) and gRPC on
// loopback, with the embedded NATS and the ledger, and checks the errors,
// double dispense, undo rules and authorization on the way.
func TestRegistryAndVerificationThroughRealServers(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	ctx := context.Background()

	mfr := a.party(apiMfr, pb.Role_ROLE_MANUFACTURER)
	mfr2 := a.party(apiMfr2, pb.Role_ROLE_MANUFACTURER)
	pharm := a.party(apiPharm, pb.Role_ROLE_PHARMACY)
	pharm2 := a.party(apiPh2, pb.Role_ROLE_PHARMACY)
	ws := a.party(apiWs, pb.Role_ROLE_WHOLESALER)

	// Products and batches.
	prod := &pb.CreateProductResponse{}
	if err := a.as(mfr).Post(ctx, "/v1/products", &pb.Product{Gtin: apiGTIN, Name: "Paracetamol 500 mg", Form: "tablet", PackSize: 20}, prod); err != nil {
		t.Fatal(err)
	}
	if prod.GetProduct().GetManufacturerGln() != apiMfr {
		t.Fatalf("product owner %q", prod.GetProduct().GetManufacturerGln())
	}
	wantStatus(t, "product again", a.as(mfr).Post(ctx, "/v1/products", &pb.Product{Gtin: apiGTIN, Name: "again"}, nil), http.StatusConflict, "already")
	wantStatus(t, "bad GTIN", a.as(mfr).Post(ctx, "/v1/products", &pb.Product{Gtin: "09506000134353", Name: "x"}, nil), http.StatusBadRequest, "product.gtin")
	wantStatus(t, "product by a pharmacy", a.as(pharm).Post(ctx, "/v1/products", &pb.Product{Gtin: "09506000134369", Name: "x"}, nil), http.StatusForbidden, "manufacturer")
	wantStatus(t, "no token", a.as("").Post(ctx, "/v1/products", &pb.Product{Gtin: "09506000134369", Name: "x"}, nil), http.StatusUnauthorized, "token")
	wantStatus(t, "unknown product", a.as(pharm).Get(ctx, "/v1/products/09506000134369", nil), http.StatusNotFound, "09506000134369")
	wantStatus(t, "party by a pharmacy", a.as(pharm).Post(ctx, "/v1/parties", &pb.Party{Gln: "4000009000007", Name: "x", Role: pb.Role_ROLE_PHARMACY}, nil), http.StatusForbidden, "admin")

	if err := a.as(mfr).Post(ctx, "/v1/products/"+apiGTIN+"/batches", &pb.Batch{Lot: "LOT42", Expiry: "281200"}, &pb.CreateBatchResponse{}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "bad expiry", a.as(mfr).Post(ctx, "/v1/products/"+apiGTIN+"/batches", &pb.Batch{Lot: "L2", Expiry: "261332"}, nil), http.StatusBadRequest, "batch.expiry")
	wantStatus(t, "batch of another's product", a.as(mfr2).Post(ctx, "/v1/products/"+apiGTIN+"/batches", &pb.Batch{Lot: "L3", Expiry: "281200"}, nil), http.StatusForbidden, apiMfr)

	// Commissioning: generated and explicit serials.
	com := &pb.CommissionSerialsResponse{}
	if err := a.as(mfr).Post(ctx, "/v1/products/"+apiGTIN+"/batches/LOT42:commission", &pb.CommissionSerialsRequest{Count: 5}, com); err != nil {
		t.Fatal(err)
	}
	if com.GetCommissioned() != 5 || len(com.GetSerials()) != 5 || len(com.GetSerials()[0]) != 12 {
		t.Fatalf("commission: %v", com)
	}
	if err := a.as(mfr).Post(ctx, "/v1/products/"+apiGTIN+"/batches/LOT42:commission", &pb.CommissionSerialsRequest{Serials: []string{"SN-A", "SN-B"}}, &pb.CommissionSerialsResponse{}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "commission someone else's", a.as(mfr2).Post(ctx, "/v1/products/"+apiGTIN+"/batches/LOT42:commission", &pb.CommissionSerialsRequest{Count: 1}, nil), http.StatusForbidden, "belongs")
	wantStatus(t, "commission a known serial", a.as(mfr).Post(ctx, "/v1/products/"+apiGTIN+"/batches/LOT42:commission", &pb.CommissionSerialsRequest{Serials: []string{"SN-A"}}, nil), http.StatusBadRequest, "SN-A")
	batch := &pb.GetBatchResponse{}
	if err := a.as(mfr).Get(ctx, "/v1/products/"+apiGTIN+"/batches/LOT42", batch); err != nil || batch.GetBatch().GetCommissioned() != 7 {
		t.Fatalf("batch after commissioning: %v %v, want 7 commissioned", batch, err)
	}

	// Verify a genuine pack from the raw bracketed scan, over REST.
	barcode := "(01)" + apiGTIN + "(17)281200(10)LOT42(21)SN-A"
	v := &pb.VerifyPackResponse{}
	if err := a.as(pharm).Post(ctx, "/v1/packs:verify", &pb.VerifyPackRequest{Pack: pb.BarcodeInput(barcode)}, v); err != nil {
		t.Fatal(err)
	}
	if !v.GetDispensable() || v.GetStatus() != pb.PackStatus_PACK_STATUS_ACTIVE || v.GetProduct().GetName() == "" || len(v.GetAlerts()) != 0 {
		t.Fatalf("verify genuine pack: %v", v)
	}
	dl := "https://id.example.org/01/" + apiGTIN + "/21/SN-A?10=LOT42&17=281200"
	if err := a.as(pharm).Post(ctx, "/v1/packs:verify", &pb.VerifyPackRequest{Pack: pb.BarcodeInput(dl)}, v); err != nil || !v.GetDispensable() {
		t.Fatalf("verify a Digital Link with the lot in the query: %v %v", v, err)
	}
	wantStatus(t, "verify a scan with a missing GS", a.as(pharm).Post(ctx, "/v1/packs:verify",
		&pb.VerifyPackRequest{Pack: pb.BarcodeInput("]d201" + apiGTIN + "10LOT4217281200")}, nil), http.StatusBadRequest, "pack.barcode")

	// Verify over gRPC too, and a counterfeit.
	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+pharm)
	fake, err := pb.NewVerificationServiceClient(conn).VerifyPack(gctx, &pb.VerifyPackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "FAKE1"})})
	if err != nil {
		t.Fatal(err)
	}
	if fake.GetDispensable() || !hasAlert(fake.GetAlerts(), pb.AlertCode_ALERT_CODE_UNKNOWN_SERIAL) {
		t.Fatalf("verify counterfeit: %v", fake)
	}

	// Dispense, then the classic clone: the same pack at another pharmacy.
	d := &pb.DispensePackResponse{}
	if err := a.as(pharm).Post(ctx, "/v1/packs:dispense", &pb.DispensePackRequest{Pack: pb.BarcodeInput(barcode)}, d); err != nil {
		t.Fatal(err)
	}
	if !d.GetOutcome().GetApplied() || d.GetOutcome().GetStatus() != pb.PackStatus_PACK_STATUS_SUPPLIED || d.GetEventId() == "" {
		t.Fatalf("dispense: %v", d)
	}
	d2 := &pb.DispensePackResponse{}
	if err := a.as(pharm2).Post(ctx, "/v1/packs:dispense", &pb.DispensePackRequest{Pack: pb.BarcodeInput(barcode)}, d2); err != nil {
		t.Fatal(err)
	}
	if d2.GetOutcome().GetApplied() || !hasAlert(d2.GetOutcome().GetAlerts(), pb.AlertCode_ALERT_CODE_ALREADY_INACTIVE) {
		t.Fatalf("second dispense at another pharmacy: %v, want refused with ALREADY_INACTIVE", d2)
	}
	wantStatus(t, "dispense by a wholesaler", a.as(ws).Post(ctx, "/v1/packs:dispense", &pb.DispensePackRequest{Pack: pb.BarcodeInput(barcode)}, nil), http.StatusForbidden, "may not perform dispensing")

	// Undo: not by another pharmacy; yes by the one that dispensed.
	u := &pb.UndoDecommissionResponse{}
	if err := a.as(pharm2).Post(ctx, "/v1/packs:undo", &pb.UndoDecommissionRequest{Pack: pb.BarcodeInput(barcode)}, u); err != nil {
		t.Fatal(err)
	}
	if u.GetOutcome().GetApplied() || !hasAlert(u.GetOutcome().GetAlerts(), pb.AlertCode_ALERT_CODE_UNDO_NOT_ALLOWED) {
		t.Fatalf("undo by another pharmacy: %v", u)
	}
	if err := a.as(pharm).Post(ctx, "/v1/packs:undo", &pb.UndoDecommissionRequest{Pack: pb.BarcodeInput(barcode)}, u); err != nil {
		t.Fatal(err)
	}
	if !u.GetOutcome().GetApplied() || u.GetOutcome().GetStatus() != pb.PackStatus_PACK_STATUS_ACTIVE {
		t.Fatalf("undo by the dispensing pharmacy: %v", u)
	}
	// The undo window runs on the repository's clock: a dispense whose
	// event time is backdated 12 days (an offline terminal catching up) was
	// received now, so it may still be undone (the 10-day boundary itself
	// is in lifecycle/testdata/undo.txt).
	old := timeAgo(12 * 24 * time.Hour)
	if err := a.as(pharm).Post(ctx, "/v1/packs:dispense", &pb.DispensePackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "SN-B"}), EventTime: old}, d); err != nil || !d.GetOutcome().GetApplied() {
		t.Fatalf("backdated dispense: %v %v", d, err)
	}
	if err := a.as(pharm).Post(ctx, "/v1/packs:undo", &pb.UndoDecommissionRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "SN-B"})}, u); err != nil {
		t.Fatal(err)
	}
	if !u.GetOutcome().GetApplied() {
		t.Fatalf("undo of a dispense received moments ago: %v", u)
	}

	// Decommission as stolen; recall by the manufacturer; a regulator's
	// recall of another batch; a wholesaler may not recall.
	dc := &pb.DecommissionPackResponse{}
	if err := a.as(ws).Post(ctx, "/v1/packs:decommission", &pb.DecommissionPackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: com.GetSerials()[0]}),
		Reason: pb.DecommissionReason_DECOMMISSION_REASON_STOLEN}, dc); err != nil {
		t.Fatal(err)
	}
	if !dc.GetOutcome().GetApplied() || dc.GetOutcome().GetStatus() != pb.PackStatus_PACK_STATUS_STOLEN {
		t.Fatalf("decommission as stolen: %v", dc)
	}
	wantStatus(t, "decommission without a reason", a.as(ws).Post(ctx, "/v1/packs:decommission", &pb.DecommissionPackRequest{Pack: pb.BarcodeInput(barcode)}, nil), http.StatusBadRequest, "reason")
	wantStatus(t, "recall by a wholesaler", a.as(ws).Post(ctx, "/v1/products/"+apiGTIN+"/batches/LOT42:recall", &pb.RecallBatchRequest{}, nil), http.StatusForbidden, "belongs")
	rc := &pb.RecallBatchResponse{}
	if err := a.as(mfr).Post(ctx, "/v1/products/"+apiGTIN+"/batches/LOT42:recall", &pb.RecallBatchRequest{Reason: "contamination"}, rc); err != nil || !rc.GetOutcome().GetApplied() {
		t.Fatalf("recall: %v %v", rc, err)
	}
	if err := a.as(pharm).Post(ctx, "/v1/packs:verify", &pb.VerifyPackRequest{Pack: pb.BarcodeInput(barcode)}, v); err != nil {
		t.Fatal(err)
	}
	if v.GetDispensable() || v.GetStatus() != pb.PackStatus_PACK_STATUS_RECALLED || len(v.GetAlerts()) != 0 {
		t.Fatalf("verify after recall: %v, want RECALLED, not dispensable, no alert", v)
	}
}

func hasAlert(alerts []*pb.Alert, code pb.AlertCode) bool {
	return slices.ContainsFunc(alerts, func(a *pb.Alert) bool { return a.GetCode() == code })
}

func timeAgo(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(time.Now().Add(-d)) }
