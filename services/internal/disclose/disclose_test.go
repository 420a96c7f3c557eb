package disclose

import (
	"strings"
	"testing"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

const (
	caller    = "4000005000001"
	holder    = "4000003000003"
	dispenser = "4000006000000"
)

// TestEveryCodeIsRedactedOrSafe: no alert code keeps a message that could
// name a party unless it is one of the codes that never do.
func TestEveryCodeIsRedactedOrSafe(t *testing.T) {
	for code := range pb.AlertCode_name {
		c := pb.AlertCode(code)
		if c == pb.AlertCode_ALERT_CODE_UNSPECIFIED {
			continue
		}
		a := &pb.Alert{Code: c, Message: "held by " + holder}
		m := Message(a)
		if strings.Contains(m, holder) != safeMessages[c] {
			t.Errorf("%v: message %q", c, m)
		}
	}
}

func TestAlertKeepsOnlyEvidenceThatNamesNoOtherParty(t *testing.T) {
	a := &pb.Alert{Code: pb.AlertCode_ALERT_CODE_ALREADY_INACTIVE, PartyGln: caller,
		Message: "dispensed at " + dispenser + " on 2026-11-20; now scanned at " + caller,
		Evidence: []*pb.EvidenceItem{{Key: "previous_status", Value: "SUPPLIED"}, {Key: "decommission_party_gln", Value: dispenser},
			{Key: "decommission_location_gln", Value: dispenser}, {Key: "decommission_time", Value: "2026-11-20T10:00:00Z"}, {Key: "actor_gln", Value: caller}},
		Reviews: []*pb.AlertReviewRecord{{PartyGln: "4000007000009", Comment: "seen at " + dispenser, Status: pb.AlertStatus_ALERT_STATUS_INVESTIGATING}}}
	got := Alert(a)
	if got.GetMessage() != "pack is already SUPPLIED: it was taken out of the supply chain before" {
		t.Errorf("message %q", got.GetMessage())
	}
	if ev := got.GetEvidence(); len(ev) != 2 || ev[0].GetKey() != "previous_status" || ev[0].GetValue() != "SUPPLIED" || ev[1].GetKey() != "actor_gln" || ev[1].GetValue() != caller {
		t.Errorf("evidence %v", got.GetEvidence())
	}
	if r := got.GetReviews()[0]; r.GetPartyGln() != "" || r.GetComment() != "" || r.GetStatus() != pb.AlertStatus_ALERT_STATUS_INVESTIGATING {
		t.Errorf("review %v", r)
	}
	if v, _ := a.EvidenceValue("decommission_party_gln"); v != dispenser || a.GetReviews()[0].GetComment() == "" {
		t.Error("the original alert was changed")
	}
	// A previous status that is not a status word is not quoted.
	a.Evidence[0].Value = "SUPPLIED by " + dispenser
	if m := Message(a); strings.Contains(m, dispenser) {
		t.Errorf("message %q", m)
	}
}

func TestReasonAndOutcome(t *testing.T) {
	clone := &pb.Alert{Code: pb.AlertCode_ALERT_CODE_CLONE_SUSPECTED, Message: "in the custody of " + holder + " at " + holder}
	lot := &pb.Alert{Code: pb.AlertCode_ALERT_CODE_BATCH_MISMATCH, Message: "scanned lot L2 differs from lot L1 the pack was commissioned in"}
	o := &pb.Outcome{Reason: "2 of 2 objects refused; first: " + clone.GetMessage(), Alerts: []*pb.Alert{clone, lot}}
	got := Outcome(o)
	if strings.Contains(got.GetReason(), holder) || !strings.HasPrefix(got.GetReason(), "2 of 2 objects refused; first: pack is recorded elsewhere") {
		t.Errorf("reason %q", got.GetReason())
	}
	if got.GetAlerts()[1].GetMessage() != lot.GetMessage() || strings.Contains(got.GetAlerts()[0].GetMessage(), holder) {
		t.Errorf("alerts %v", got.GetAlerts())
	}
	if !strings.Contains(o.GetReason(), holder) {
		t.Error("the original outcome was changed")
	}
	if Outcome(nil) != nil {
		t.Error("Outcome(nil)")
	}
}

func TestEntitledAndBatch(t *testing.T) {
	pharmacy := &pb.Party{Gln: caller, Role: pb.Role_ROLE_PHARMACY}
	for _, c := range []struct {
		p                      *pb.Party
		mfr, custodian, decomm string
		want                   bool
	}{
		{pharmacy, "", holder, "", false},
		{pharmacy, "", caller, "", true},
		{pharmacy, "", holder, caller, true},
		{pharmacy, caller, holder, "", true},
		{&pb.Party{Gln: "4000007000009", Role: pb.Role_ROLE_REGULATOR}, "", holder, "", true},
		{&pb.Party{Role: pb.Role_ROLE_PHARMACY}, "", "", "", false},
	} {
		if got := Entitled(c.p, c.mfr, c.custodian, c.decomm); got != c.want {
			t.Errorf("Entitled(%v, %q, %q, %q) = %v", c.p, c.mfr, c.custodian, c.decomm, got)
		}
	}
	b := &pb.Batch{Lot: "L1", Commissioned: 7}
	if got := Batch(b); got.GetCommissioned() != 0 || got.GetLot() != "L1" || b.GetCommissioned() != 7 {
		t.Errorf("Batch: %v (original %v)", got, b)
	}
}
