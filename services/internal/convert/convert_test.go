package convert

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestEventFieldErrorsNameTheField: a malformed event is a *FieldError
// naming the field from the capture.
func TestEventFieldErrorsNameTheField(t *testing.T) {
	at := timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	good := func() *pb.ScanEvent {
		return &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_DISPENSING,
			EventTime: at, Epcs: []*pb.Epc{{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: "09506000134352", Serial: "S1"}}}}}
	}
	var e lifecycle.Event
	if err := Event(0, &e, nil, good(), "4000005000001", at.AsTime().UnixMilli()); err != nil {
		t.Fatalf("a good event: %v", err)
	}
	if e.Actor != "4000005000001" || len(e.Epcs) != 1 || e.Epcs[0].Pack.Serial != "S1" || e.Step != lifecycle.StepDispensing {
		t.Errorf("converted: %+v", e)
	}
	// A transformation's inputs are the rules' objects; a transaction
	// needs no step.
	tf := &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_TRANSFORMATION, Action: pb.Action_ACTION_ADD, EventTime: at,
		Inputs: good().GetEpcs(), Outputs: []*pb.Epc{{Id: &pb.Epc_Sscc{Sscc: "095060001000000012"}}}}
	if err := Event(0, &e, nil, tf, "4000005000001", 0); err != nil || len(e.Epcs) != 1 || len(e.Outputs) != 1 {
		t.Errorf("transformation: %v %+v", err, e)
	}
	tx := good()
	tx.Type, tx.BizStep = pb.EventType_EVENT_TYPE_TRANSACTION, 0
	if err := Event(0, &e, nil, tx, "4000005000001", 0); err != nil {
		t.Errorf("transaction without step: %v", err)
	}
	for _, c := range []struct {
		field string
		spoil func(*pb.ScanEvent)
	}{
		{"capture.events[2].epcs[0].pack.gtin", func(ev *pb.ScanEvent) { ev.Epcs[0].GetPack().Gtin = "09506000134353" }},
		{"capture.events[2].eventTime", func(ev *pb.ScanEvent) { ev.EventTime = nil }},
		{"capture.events[2].bizStep", func(ev *pb.ScanEvent) { ev.BizStep = 0 }},
		{"capture.events[2].parent", func(ev *pb.ScanEvent) { ev.Type = pb.EventType_EVENT_TYPE_AGGREGATION }},
		{"capture.events[2].parent.pack.gtin", func(ev *pb.ScanEvent) {
			ev.Type, ev.Parent = pb.EventType_EVENT_TYPE_AGGREGATION, ev.Epcs[0] // a pack, not a case
		}},
		{"capture.events[2].parent.sscc", func(ev *pb.ScanEvent) {
			ev.Type, ev.Parent = pb.EventType_EVENT_TYPE_AGGREGATION, &pb.Epc{Id: &pb.Epc_Sscc{Sscc: "123"}}
		}},
		{"capture.events[2].inputs", func(ev *pb.ScanEvent) { ev.Inputs = ev.Epcs }},
		{"capture.events[2].epcs", func(ev *pb.ScanEvent) { ev.Type = pb.EventType_EVENT_TYPE_TRANSFORMATION }},
		{"capture.events[2].outputs[0].pack.serial", func(ev *pb.ScanEvent) {
			ev.Type, ev.Epcs = pb.EventType_EVENT_TYPE_TRANSFORMATION, nil
			ev.Outputs = []*pb.Epc{{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: "09506000134352", Serial: ""}}}}
		}},
		{"capture.events[2].epcis", func(ev *pb.ScanEvent) { ev.Epcis = []byte("{}") }},
	} {
		ev := good()
		c.spoil(ev)
		var fe *FieldError
		if err := Event(2, &e, nil, ev, "4000005000001", 0); !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: %v, want a FieldError naming it", c.field, err)
		}
	}
}

// TestOutcomeCarriesCodeAndNumbersAlerts: the rules' result becomes an
// outcome with its code, and its alerts are numbered within the entry.
func TestOutcomeCarriesCodeAndNumbersAlerts(t *testing.T) {
	ev := &lifecycle.Event{ID: "e1", Actor: "4000005000001", ReadPoint: "4000005000001", EventTime: 1e12}
	r := &lifecycle.Result{Reason: "lot differs", Code: lifecycle.OutcomeInvalid, Alerts: []lifecycle.Alert{
		{Code: lifecycle.CodeBatchMismatch, Epc: lifecycle.Epc{Pack: lifecycle.PackCode{GTIN: "09506000134352", Serial: "S1"}},
			Evidence: []lifecycle.KV{{Key: "scanned_lot", Value: "L9"}}},
		{Code: lifecycle.CodeUnknownSerial},
	}}
	n := uint32(3)
	out := Outcome(&pb.Outcome{}, r, ev, 41, &n)
	if out.GetApplied() || out.GetCode() != pb.OutcomeCode_OUTCOME_CODE_INVALID || out.GetReason() != "lot differs" {
		t.Errorf("outcome: %v", out)
	}
	if n != 5 || len(out.GetAlerts()) != 2 {
		t.Fatalf("alerts %d, counter %d", len(out.GetAlerts()), n)
	}
	a := out.GetAlerts()[0]
	lot, _ := a.EvidenceValue("scanned_lot")
	if a.GetAlertId() != "41-3" || out.GetAlerts()[1].GetAlertId() != "41-4" || a.GetEventId() != "e1" || a.GetLedgerIndex() != 41 ||
		a.GetStatus() != pb.AlertStatus_ALERT_STATUS_OPEN || lot != "L9" || a.GetEpc().GetPack().GetSerial() != "S1" {
		t.Errorf("alert: %v", a)
	}
	if out.GetAlerts()[1].GetEpc() != nil {
		t.Errorf("an alert about no object names %v", out.GetAlerts()[1].GetEpc())
	}
	if rf := Refused(lifecycle.Refusal{Code: lifecycle.OutcomeNotAuthorized, Reason: "no"}); rf.GetApplied() || rf.GetCode() != pb.OutcomeCode_OUTCOME_CODE_NOT_AUTHORIZED {
		t.Errorf("refusal: %v", rf)
	}
}

// TestTokenIssueChecks: the revoked IDs of an issue are distinct and not
// the issued one.
func TestTokenIssueChecks(t *testing.T) {
	hash := make([]byte, 32)
	const id = "0123456789abcdef"
	if _, err := CheckTokenIssue(&pb.TokenChange{TokenId: id, TokenHash: hash, RevokeTokenIds: []string{"fedcba9876543210"}}); err != nil {
		t.Fatal(err)
	}
	for _, ids := range [][]string{{id}, {"fedcba9876543210", "fedcba9876543210"}, {"xyz"}} {
		var fe *FieldError
		if _, err := CheckTokenIssue(&pb.TokenChange{TokenId: id, TokenHash: hash, RevokeTokenIds: ids}); !errors.As(err, &fe) || fe.Field != "token.revokeTokenIds[0]" && fe.Field != "token.revokeTokenIds[1]" {
			t.Errorf("revoking %q: %v", ids, err)
		}
	}
	if _, err := CheckTokenIssue(&pb.TokenChange{TokenId: id, TokenHash: hash[:31]}); err == nil {
		t.Error("a 31-byte hash passed")
	}
}

// TestCaseSGTINsAreContainers: the SGTIN of a case GTIN (packaging
// indicator 1–8) converts to a container, as an object and as a parent.
func TestCaseSGTINsAreContainers(t *testing.T) {
	const caseGTIN, packGTIN = "19506000134359", "09506000134352"
	sgtin := func(gtin, serial string) *pb.Epc {
		return &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: gtin, Serial: serial}}}
	}
	ev := &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_AGGREGATION, Action: pb.Action_ACTION_ADD, BizStep: pb.BizStep_BIZ_STEP_PACKING,
		EventTime: timestamppb.New(time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC)),
		Parent:    sgtin(caseGTIN, "C1"), Epcs: []*pb.Epc{sgtin(packGTIN, "P1"), sgtin(caseGTIN, "C2")}}
	var e lifecycle.Event
	if err := Event(0, &e, nil, ev, "4000005000001", 0); err != nil {
		t.Fatal(err)
	}
	if e.Parent != lifecycle.CaseID(caseGTIN, "C1") || e.Epcs[0].IsContainer() || e.Epcs[1].SSCC != lifecycle.CaseID(caseGTIN, "C2") {
		t.Errorf("converted to parent %q, objects %v", e.Parent, e.Epcs)
	}
}
