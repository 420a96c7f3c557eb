package node

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/gs1"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

func ssccFor(n string) string {
	base := "09520000" + n
	for len(base) < 17 {
		base += "0"
	}
	return base + string(gs1.CheckDigit(base))
}

func captureEvent(t *testing.T, c *restClient, ev *pb.ScanEvent) *pb.Outcome {
	t.Helper()
	resp := &pb.CaptureEventResponse{}
	if err := c.Post(context.Background(), "/v1/events", &pb.CaptureEventRequest{Event: ev, Wait: true}, resp); err != nil {
		t.Fatalf("capture %v: %v", ev.GetBizStep(), err)
	}
	if !resp.GetOutcome().GetApplied() {
		t.Fatalf("capture %v refused: %s %v", ev.GetBizStep(), resp.GetOutcome().GetReason(), resp.GetOutcome().GetAlerts())
	}
	return resp.GetOutcome()
}

// TestPackHistoryWithProofs follows a pack from commissioning through a
// case and a pallet, a shipment, receipt, unpacking and dispensing, and
// checks that its history shows every step, each with an inclusion proof
// that verifies against the checkpoint the answer carries.
func TestPackHistoryWithProofs(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	ctx := context.Background()
	mfr := a.as(a.party(apiMfr, pb.Role_ROLE_MANUFACTURER))
	ws := a.as(a.party(apiWs, pb.Role_ROLE_WHOLESALER))
	pharm := a.as(a.party(apiPharm, pb.Role_ROLE_PHARMACY))
	other := a.as(a.party(apiPh2, pb.Role_ROLE_PHARMACY))
	regulator := a.as(a.party("4000007000009", pb.Role_ROLE_REGULATOR))

	serials := []string{"P1", "P2", "P3", "P4"}
	commissionBatch(t, mfr, "L1", serials...)
	pk := func(s string) *pb.Epc { return &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: apiGTIN, Serial: s}}} }
	box := func(s string) *pb.Epc { return &pb.Epc{Id: &pb.Epc_Sscc{Sscc: s}} }
	clock := time.Now().Add(-time.Hour)
	at := func() *timestamppb.Timestamp { clock = clock.Add(time.Minute); return timestamppb.New(clock) }
	caseA, pallet := ssccFor("1"), ssccFor("2")
	captureEvent(t, mfr, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_AGGREGATION, Action: pb.Action_ACTION_ADD, BizStep: pb.BizStep_BIZ_STEP_PACKING,
		EventTime: at(), Parent: box(caseA), Epcs: []*pb.Epc{pk("P1"), pk("P2"), pk("P3")}})
	captureEvent(t, mfr, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_AGGREGATION, Action: pb.Action_ACTION_ADD, BizStep: pb.BizStep_BIZ_STEP_PACKING,
		EventTime: at(), Parent: box(pallet), Epcs: []*pb.Epc{box(caseA)}})
	ship := captureEvent(t, mfr, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_SHIPPING,
		EventTime: at(), Epcs: []*pb.Epc{box(pallet)}, Destinations: []*pb.SourceDest{{Type: pb.SourceDestType_SOURCE_DEST_TYPE_OWNING_PARTY, Gln: apiWs}}})
	if ship.GetAffected() != 3 {
		t.Errorf("shipping the pallet affected %d packs, want 3 (inference)", ship.GetAffected())
	}
	captureEvent(t, ws, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_RECEIVING,
		EventTime: at(), Epcs: []*pb.Epc{box(pallet)}})

	cont := &pb.GetContainerResponse{}
	if err := ws.Get(ctx, "/v1/containers/"+pallet, cont); err != nil {
		t.Fatal(err)
	}
	if len(cont.GetRoot().GetChildren()) != 1 || len(cont.GetRoot().GetChildren()[0].GetPacks()) != 3 || cont.GetCustodianGln() != apiWs {
		t.Fatalf("pallet contents: %v", cont)
	}

	captureEvent(t, ws, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_AGGREGATION, Action: pb.Action_ACTION_DELETE, BizStep: pb.BizStep_BIZ_STEP_UNPACKING,
		EventTime: at(), Parent: box(pallet), Epcs: []*pb.Epc{box(caseA)}})
	captureEvent(t, ws, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_AGGREGATION, Action: pb.Action_ACTION_DELETE, BizStep: pb.BizStep_BIZ_STEP_UNPACKING,
		EventTime: at(), Parent: box(caseA), Epcs: []*pb.Epc{pk("P1")}})
	captureEvent(t, ws, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_SHIPPING,
		EventTime: at(), Epcs: []*pb.Epc{pk("P1")}, Destinations: []*pb.SourceDest{{Type: pb.SourceDestType_SOURCE_DEST_TYPE_OWNING_PARTY, Gln: apiPharm}}})
	captureEvent(t, pharm, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_RECEIVING,
		EventTime: at(), Epcs: []*pb.Epc{pk("P1")}})
	d := &pb.DispensePackResponse{}
	if err := pharm.Post(ctx, "/v1/packs:dispense", &pb.DispensePackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "P1"})}, d); err != nil || !d.GetOutcome().GetApplied() {
		t.Fatalf("dispense: %v %v", d, err)
	}

	h := &pb.GetPackHistoryResponse{}
	if err := regulator.Get(ctx, "/v1/products/"+apiGTIN+"/packs/P1/history", h); err != nil {
		t.Fatal(err)
	}
	var steps []pb.BizStep
	for _, e := range h.GetEntries() {
		steps = append(steps, e.GetEvent().GetBizStep())
	}
	want := []pb.BizStep{pb.BizStep_BIZ_STEP_COMMISSIONING, pb.BizStep_BIZ_STEP_PACKING, pb.BizStep_BIZ_STEP_PACKING,
		pb.BizStep_BIZ_STEP_SHIPPING, pb.BizStep_BIZ_STEP_RECEIVING, pb.BizStep_BIZ_STEP_UNPACKING, pb.BizStep_BIZ_STEP_UNPACKING,
		pb.BizStep_BIZ_STEP_SHIPPING, pb.BizStep_BIZ_STEP_RECEIVING, pb.BizStep_BIZ_STEP_DISPENSING}
	if len(steps) != len(want) {
		t.Fatalf("history steps %v, want %v", steps, want)
	}
	for i := range want {
		if steps[i] != want[i] {
			t.Fatalf("history steps %v, want %v", steps, want)
		}
	}
	// Offline check: the checkpoint's signature, then every proof.
	cp := h.GetCheckpoint()
	verifier, err := note.NewVerifier(cp.GetVerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open([]byte(cp.GetNote()), note.VerifierList(verifier)); err != nil {
		t.Fatalf("checkpoint signature: %v", err)
	}
	for _, e := range h.GetEntries() {
		leaf := rfc6962.DefaultHasher.HashLeaf(e.GetData())
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, e.GetIndex(), cp.GetSize(), leaf, e.GetInclusionProof(), cp.GetRootHash()); err != nil {
			t.Errorf("entry %d (%v) does not verify: %v", e.GetIndex(), e.GetEvent().GetBizStep(), err)
		}
	}
	if h.GetEntries()[3].GetViaSscc() != pallet {
		t.Errorf("the pallet's shipment comes via %q, want the pallet", h.GetEntries()[3].GetViaSscc())
	}

	// A party that never held the pack is refused; the pharmacy sees its own steps.
	wantStatus(t, "history by a stranger", other.Get(ctx, "/v1/products/"+apiGTIN+"/packs/P1/history", nil), http.StatusForbidden, "no part")
	mine := &pb.GetPackHistoryResponse{}
	if err := pharm.Get(ctx, "/v1/products/"+apiGTIN+"/packs/P1/history", mine); err != nil || len(mine.GetEntries()) != 2 {
		t.Fatalf("pharmacy's own history: %d entries, %v; want its receipt and dispense", len(mine.GetEntries()), err)
	}

	// Batch trace: P1 supplied at the pharmacy; P2, P3 in the case at the
	// wholesaler; P4 at the manufacturer.
	tr := &pb.TraceBatchResponse{}
	if err := regulator.Get(ctx, "/v1/products/"+apiGTIN+"/batches/L1:trace", tr); err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, c := range tr.GetCounts() {
		got[c.GetStatus().String()+"@"+c.GetCustodianGln()] = c.GetCount()
	}
	wantCounts := map[string]uint64{"PACK_STATUS_SUPPLIED@" + apiPharm: 1, "PACK_STATUS_ACTIVE@" + apiWs: 2, "PACK_STATUS_ACTIVE@" + apiMfr: 1}
	if len(got) != len(wantCounts) {
		t.Fatalf("trace counts %v, want %v", got, wantCounts)
	}
	for k, v := range wantCounts {
		if got[k] != v {
			t.Fatalf("trace counts %v, want %v", got, wantCounts)
		}
	}
	if len(tr.GetHolders()) != 2 {
		t.Errorf("holders %v, want the wholesaler and the manufacturer", tr.GetHolders())
	}
	wantStatus(t, "trace by a pharmacy", pharm.Get(ctx, "/v1/products/"+apiGTIN+"/batches/L1:trace", nil), http.StatusForbidden, "regulators")
}

// TestAlertsListReviewAndWatch raises alerts, watches them live over gRPC,
// lists them with filters and takes one through its investigation.
func TestAlertsListReviewAndWatch(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pharmToken := a.party(apiPharm, pb.Role_ROLE_PHARMACY)
	pharm := a.as(pharmToken)
	regToken := a.party("4000007000009", pb.Role_ROLE_REGULATOR)
	regulator := a.as(regToken)

	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	watch, err := pb.NewProvenanceServiceClient(conn).WatchAlerts(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+regToken), &pb.WatchAlertsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// The stream is open once its headers arrive.
	if _, err := watch.Header(); err != nil {
		t.Fatal(err)
	}
	d := &pb.DispensePackResponse{}
	if err := pharm.Post(ctx, "/v1/packs:dispense", &pb.DispensePackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "FAKE"})}, d); err != nil {
		t.Fatal(err)
	}
	live, err := watch.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if live.GetAlert().GetCode() != pb.AlertCode_ALERT_CODE_UNKNOWN_PRODUCT {
		t.Fatalf("live alert %v, want UNKNOWN_PRODUCT", live.GetAlert())
	}

	list := &pb.ListAlertsResponse{}
	if err := regulator.Get(ctx, "/v1/alerts?code=ALERT_CODE_UNKNOWN_PRODUCT", list); err != nil || len(list.GetAlerts()) != 1 {
		t.Fatalf("list alerts: %v %v", list, err)
	}
	id := list.GetAlerts()[0].GetAlertId()
	if err := regulator.Get(ctx, "/v1/alerts?code=ALERT_CODE_CLONE_SUSPECTED", list); err != nil || len(list.GetAlerts()) != 0 {
		t.Fatalf("filtered list: %v %v", list, err)
	}
	if err := pharm.Get(ctx, "/v1/alerts", list); err != nil || len(list.GetAlerts()) != 1 {
		t.Fatalf("the pharmacy's own alerts: %v %v", list, err)
	}
	wantStatus(t, "review by a pharmacy", pharm.Post(ctx, "/v1/alerts/"+id+":review", &pb.ReviewAlertRequest{Status: pb.AlertStatus_ALERT_STATUS_INVESTIGATING}, nil), http.StatusForbidden, "regulators")
	rev := &pb.ReviewAlertResponse{}
	if err := regulator.Post(ctx, "/v1/alerts/"+id+":review", &pb.ReviewAlertRequest{Status: pb.AlertStatus_ALERT_STATUS_INVESTIGATING, Comment: "asked the pharmacy"}, rev); err != nil {
		t.Fatal(err)
	}
	if err := regulator.Post(ctx, "/v1/alerts/"+id+":review", &pb.ReviewAlertRequest{Status: pb.AlertStatus_ALERT_STATUS_CLOSED_FALSE_POSITIVE, Comment: "wrong GTIN typed"}, rev); err != nil {
		t.Fatal(err)
	}
	if rev.GetAlert().GetStatus() != pb.AlertStatus_ALERT_STATUS_CLOSED_FALSE_POSITIVE || len(rev.GetAlert().GetReviews()) != 2 {
		t.Fatalf("alert after review: %v", rev.GetAlert())
	}
	wantStatus(t, "review a closed alert", regulator.Post(ctx, "/v1/alerts/"+id+":review", &pb.ReviewAlertRequest{Status: pb.AlertStatus_ALERT_STATUS_INVESTIGATING}, nil), http.StatusBadRequest, "closed")
	wantStatus(t, "review with a bad status", regulator.Post(ctx, "/v1/alerts/"+id+":review", &pb.ReviewAlertRequest{Status: pb.AlertStatus_ALERT_STATUS_OPEN}, nil), http.StatusBadRequest, "status")
}
