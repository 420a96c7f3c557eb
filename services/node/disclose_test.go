package node

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// commissionBatch registers the product apiGTIN as mfr's, its batch lot
// (expiry 281200), and commissions serials in it.
func commissionBatch(t *testing.T, mfr *restClient, lot string, serials ...string) {
	t.Helper()
	ctx := context.Background()
	if err := mfr.Post(ctx, "/v1/products", &pb.Product{Gtin: apiGTIN, Name: "Paracetamol"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := mfr.Post(ctx, "/v1/products/"+apiGTIN+"/batches", &pb.Batch{Lot: lot, Expiry: "281200"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := mfr.Post(ctx, "/v1/products/"+apiGTIN+"/batches/"+lot+":commission", &pb.CommissionSerialsRequest{Serials: serials}, nil); err != nil {
		t.Fatal(err)
	}
}

// mustNotName fails when the JSON of m names any of glns.
func mustNotName(t *testing.T, what string, m proto.Message, glns ...string) {
	t.Helper()
	js, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range glns {
		if strings.Contains(string(js), g) {
			t.Errorf("%s names %s: %s", what, g, js)
		}
	}
}

// TestVerifyDoesNotTellWhoHoldsThePack: a pharmacy verifying a pack that a
// wholesaler holds, or that another pharmacy dispensed, learns the status
// and that it may not supply it, but no GLN of the holder or dispenser, in
// the verification, the refused dispense or its own alerts; the product's
// manufacturer, a regulator and the holder itself see who holds it. Batch
// volumes and traces are the manufacturer's and the regulators'.
func TestVerifyDoesNotTellWhoHoldsThePack(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	ctx := context.Background()
	mfr := a.as(a.party(apiMfr, pb.Role_ROLE_MANUFACTURER))
	ws := a.as(a.party(apiWs, pb.Role_ROLE_WHOLESALER))
	pharm := a.as(a.party(apiPharm, pb.Role_ROLE_PHARMACY))
	other := a.as(a.party(apiPh2, pb.Role_ROLE_PHARMACY))
	reg := a.as(a.party("4000007000009", pb.Role_ROLE_REGULATOR))

	commissionBatch(t, mfr, "L1", "S1", "S2")
	pk := func(s string) *pb.Epc { return &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: apiGTIN, Serial: s}}} }
	clock := time.Now().Add(-time.Hour)
	at := func() *timestamppb.Timestamp { clock = clock.Add(time.Minute); return timestamppb.New(clock) }
	step := func(c *restClient, s pb.BizStep, to string, epcs ...*pb.Epc) {
		ev := &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: s, EventTime: at(), Epcs: epcs}
		if to != "" {
			ev.Destinations = []*pb.SourceDest{{Type: pb.SourceDestType_SOURCE_DEST_TYPE_OWNING_PARTY, Gln: to}}
		}
		captureEvent(t, c, ev)
	}
	step(mfr, pb.BizStep_BIZ_STEP_SHIPPING, apiWs, pk("S1"), pk("S2"))
	step(ws, pb.BizStep_BIZ_STEP_RECEIVING, "", pk("S1"), pk("S2"))
	step(ws, pb.BizStep_BIZ_STEP_SHIPPING, apiPharm, pk("S2"))
	step(pharm, pb.BizStep_BIZ_STEP_RECEIVING, "", pk("S2"))
	if err := pharm.Post(ctx, "/v1/packs:dispense", &pb.DispensePackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "S2"})}, nil); err != nil {
		t.Fatal(err)
	}
	verify := func(c *restClient, serial string) *pb.VerifyPackResponse {
		t.Helper()
		v := &pb.VerifyPackResponse{}
		if err := c.Post(ctx, "/v1/packs:verify", &pb.VerifyPackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: serial})}, v); err != nil {
			t.Fatal(err)
		}
		return v
	}

	// Another pharmacy: the status, not the holder.
	v := verify(other, "S1")
	if v.GetStatus() != pb.PackStatus_PACK_STATUS_ACTIVE || v.GetDispensable() || v.GetPack() != nil || v.GetReason() == "" ||
		!hasAlert(v.GetAlerts(), pb.AlertCode_ALERT_CODE_CLONE_SUSPECTED) || v.GetBatch().GetCommissioned() != 0 || v.GetBatch().GetLot() != "L1" {
		t.Fatalf("pharmacy verifying a pack a wholesaler holds: %v", v)
	}
	for _, al := range v.GetAlerts() {
		if _, ok := al.EvidenceValue("custodian_gln"); ok {
			t.Errorf("alert evidence names the custodian: %v", al)
		}
	}
	mustNotName(t, "verification of a pack a wholesaler holds", v, apiWs)
	v = verify(other, "S2")
	if v.GetStatus() != pb.PackStatus_PACK_STATUS_SUPPLIED || v.GetDispensable() || v.GetPack() != nil ||
		!hasAlert(v.GetAlerts(), pb.AlertCode_ALERT_CODE_ALREADY_INACTIVE) || !strings.Contains(v.GetReason(), "SUPPLIED") {
		t.Fatalf("pharmacy verifying a pack another pharmacy dispensed: %v", v)
	}
	mustNotName(t, "verification of a pack another pharmacy dispensed", v, apiPharm, apiWs)
	d := &pb.DispensePackResponse{}
	if err := other.Post(ctx, "/v1/packs:dispense", &pb.DispensePackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "S2"})}, d); err != nil {
		t.Fatal(err)
	}
	if d.GetOutcome().GetApplied() || !hasAlert(d.GetOutcome().GetAlerts(), pb.AlertCode_ALERT_CODE_ALREADY_INACTIVE) {
		t.Fatalf("dispensing a dispensed pack: %v", d)
	}
	mustNotName(t, "refused dispense", d, apiPharm, apiWs)
	// The dispense was waited for, so the verifications before it are on
	// the ledger: the pharmacy's own alerts do not name the others either.
	alerts := &pb.ListAlertsResponse{}
	if err := other.Get(ctx, "/v1/alerts", alerts); err != nil {
		t.Fatal(err)
	}
	if len(alerts.GetAlerts()) < 3 {
		t.Fatalf("the pharmacy's alerts: %v, want those of its two verifications and its dispense", alerts)
	}
	mustNotName(t, "the pharmacy's alerts", alerts, apiPharm, apiWs)
	one := &pb.GetAlertResponse{}
	if err := other.Get(ctx, "/v1/alerts/"+alerts.GetAlerts()[0].GetAlertId(), one); err != nil {
		t.Fatal(err)
	}
	mustNotName(t, "one of the pharmacy's alerts", one, apiPharm, apiWs)
	regAlerts := &pb.ListAlertsResponse{}
	if err := reg.Get(ctx, "/v1/alerts?partyGln="+apiPh2+"&code=ALERT_CODE_CLONE_SUSPECTED", regAlerts); err != nil {
		t.Fatal(err)
	}
	if len(regAlerts.GetAlerts()) == 0 {
		t.Fatalf("a regulator reads no alerts: %v", regAlerts)
	}
	if v, _ := regAlerts.GetAlerts()[0].EvidenceValue("custodian_gln"); v != apiWs {
		t.Fatalf("a regulator reads the pharmacy's alerts whole: %v", regAlerts)
	}

	// Those entitled see who holds it.
	for who, c := range map[string]*restClient{"manufacturer": mfr, "regulator": reg, "holder": ws} {
		if v := verify(c, "S1"); v.GetPack().GetCustodianGln() != apiWs {
			t.Errorf("%s verifying: pack %v, want the wholesaler as custodian", who, v.GetPack())
		}
	}
	if v := verify(pharm, "S2"); v.GetPack().GetDecommission().GetPartyGln() != apiPharm {
		t.Errorf("the dispensing pharmacy verifying its pack: %v, want its own decommission record", v.GetPack())
	}
	if v := verify(reg, "S2"); v.GetPack().GetDecommission().GetPartyGln() != apiPharm {
		t.Errorf("a regulator verifying a dispensed pack: %v, want the dispenser", v.GetPack())
	}

	// Batch volumes and traces: the manufacturer's and the regulators'.
	b := &pb.GetBatchResponse{}
	if err := other.Get(ctx, "/v1/products/"+apiGTIN+"/batches/L1", b); err != nil || b.GetBatch().GetCommissioned() != 0 || b.GetBatch().GetExpiry() != "281200" {
		t.Fatalf("a pharmacy reads the batch: %v %v, want it without the count", b, err)
	}
	if err := mfr.Get(ctx, "/v1/products/"+apiGTIN+"/batches/L1", b); err != nil || b.GetBatch().GetCommissioned() != 2 {
		t.Fatalf("the manufacturer reads the batch: %v %v, want 2 commissioned", b, err)
	}
	for who, c := range map[string]*restClient{"pharmacy": other, "wholesaler": ws} {
		wantStatus(t, who+" traces the batch", c.Get(ctx, "/v1/products/"+apiGTIN+"/batches/L1:trace", nil), http.StatusForbidden, "manufacturer")
		wantStatus(t, who+" traces an unknown batch", c.Get(ctx, "/v1/products/"+apiGTIN+"/batches/NOPE:trace", nil), http.StatusForbidden, "manufacturer")
	}
	for who, c := range map[string]*restClient{"manufacturer": mfr, "regulator": reg} {
		tr := &pb.TraceBatchResponse{}
		if err := c.Get(ctx, "/v1/products/"+apiGTIN+"/batches/L1:trace", tr); err != nil || len(tr.GetCounts()) == 0 {
			t.Errorf("%s traces the batch: %v %v", who, tr, err)
		}
	}
	wantStatus(t, "another pharmacy reads the pack", other.Get(ctx, "/v1/products/"+apiGTIN+"/packs/S1", nil), http.StatusForbidden, "custodian")
}
