// Package disclose decides what an API answer may tell a caller about
// other parties: data minimisation as EU Delegated Regulation 2016/161
// asks of a repositories system (Art. 38: a verifying pharmacy or
// wholesaler learns whether it may supply a pack, not who holds it, who
// dispensed it, where or when).
//
// A caller is entitled to the whole answer about a pack when it is an
// admin or a regulator, the manufacturer of the pack's product, the pack's
// current custodian, or the party that decommissioned it (its own record).
// Anyone else gets the answer redacted: alert messages that may name a
// party replaced by neutral text per alert code, evidence kept only for
// keys that name no other party, reviews without reviewer or comment, and
// reasons rewritten likewise. The codes, statuses and the caller's own
// data are always kept.
package disclose

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// Authority reports whether the party is an admin or a regulator.
func Authority(p *pb.Party) bool { return lifecycle.SeesAll(lifecycle.Role(p.GetRole())) }

// Entitled reports whether caller may see everything about a pack:
// manufacturer is the GLN of its product's manufacturer, custodian that
// of its current (effective) custodian, decommissioner that of the party
// that decommissioned it; any may be empty.
func Entitled(caller *pb.Party, manufacturer, custodian, decommissioner string) bool {
	gln := caller.GetGln()
	return Authority(caller) || (gln != "" && (gln == manufacturer || gln == custodian || gln == decommissioner))
}

// safeMessages are the alert codes whose messages name only what was
// scanned and what the registry holds for the product (GTIN, serial, lot,
// expiry): kept as they are.
var safeMessages = map[pb.AlertCode]bool{
	pb.AlertCode_ALERT_CODE_UNKNOWN_PRODUCT: true,
	pb.AlertCode_ALERT_CODE_UNKNOWN_BATCH:   true,
	pb.AlertCode_ALERT_CODE_UNKNOWN_SERIAL:  true,
	pb.AlertCode_ALERT_CODE_BATCH_MISMATCH:  true,
	pb.AlertCode_ALERT_CODE_EXPIRY_MISMATCH: true,
}

// neutral are the messages that replace the others.
var neutral = map[pb.AlertCode]string{
	pb.AlertCode_ALERT_CODE_ALREADY_INACTIVE:     "pack is no longer active: it was taken out of the supply chain before",
	pb.AlertCode_ALERT_CODE_CLONE_SUSPECTED:      "pack is recorded elsewhere in the supply chain (in another party's custody, or in transit): it may be a copy; do not supply it",
	pb.AlertCode_ALERT_CODE_CUSTODY_MISMATCH:     "pack is recorded in another party's custody",
	pb.AlertCode_ALERT_CODE_INVALID_TRANSITION:   "the step does not apply to the pack in its recorded state",
	pb.AlertCode_ALERT_CODE_AGGREGATION_CONFLICT: "the scan conflicts with the recorded containers of the pack",
	pb.AlertCode_ALERT_CODE_UNDO_NOT_ALLOWED:     "the decommission may not be undone by this party, here or now",
	pb.AlertCode_ALERT_CODE_UNAUTHORIZED_STEP:    "the party may not perform this step",
}

// keptEvidence are the evidence keys that name no party other than the
// one whose scan raised the alert, and the product's manufacturer.
var keptEvidence = map[string]bool{
	"gtin": true, "serial": true, "lot": true, "scanned_lot": true, "commissioned_lot": true,
	"scanned_expiry": true, "registered_expiry": true, "ilmd_expiry": true, "previous_status": true,
	"status": true, "step": true, "role": true, "disposition": true, "in_transit": true,
	"manufacturer_gln": true, "actor_gln": true, "location_gln": true, "event_time": true,
}

// Message is an alert's message as a caller not entitled to the pack's
// parties may read it.
func Message(a *pb.Alert) string {
	if safeMessages[a.GetCode()] {
		return a.GetMessage()
	}
	if a.GetCode() == pb.AlertCode_ALERT_CODE_ALREADY_INACTIVE {
		if s, _ := a.EvidenceValue("previous_status"); s != "" && !strings.ContainsFunc(s, notStatusRune) {
			return "pack is already " + s + ": it was taken out of the supply chain before"
		}
	}
	if m, ok := neutral[a.GetCode()]; ok {
		return m
	}
	return "alert " + strings.TrimPrefix(a.GetCode().String(), "ALERT_CODE_")
}

func notStatusRune(r rune) bool { return (r < 'A' || r > 'Z') && r != '_' }

// Alert returns a redacted copy of a (a itself is not changed).
func Alert(a *pb.Alert) *pb.Alert {
	out := proto.CloneOf(a)
	out.Message = Message(a)
	out.Evidence = slices.DeleteFunc(out.Evidence, func(kv *pb.EvidenceItem) bool { return !keptEvidence[kv.GetKey()] })
	for _, r := range out.GetReviews() {
		r.PartyGln, r.Comment = "", ""
	}
	return out
}

// Alerts redacts a list of alerts.
func Alerts(as []*pb.Alert) []*pb.Alert {
	out := make([]*pb.Alert, len(as))
	for i, a := range as {
		out[i] = Alert(a)
	}
	return out
}

// Reason rewrites a refusal reason that quotes the messages of alerts
// (original, not yet redacted) with their redacted messages.
func Reason(reason string, alerts []*pb.Alert) string {
	for _, a := range alerts {
		if m := a.GetMessage(); m != "" && !safeMessages[a.GetCode()] {
			reason = strings.ReplaceAll(reason, m, Message(a))
		}
	}
	return reason
}

// Outcome returns a redacted copy of a ledger outcome.
func Outcome(o *pb.Outcome) *pb.Outcome {
	if o == nil {
		return nil
	}
	out := proto.CloneOf(o)
	out.Reason = Reason(o.GetReason(), o.GetAlerts())
	out.Alerts = Alerts(o.GetAlerts())
	return out
}

// Batch returns b as a party other than the product's manufacturer, a
// regulator or an admin may read it: without the count of serials
// commissioned (the manufacturer's production volume).
func Batch(b *pb.Batch) *pb.Batch {
	if b == nil || b.GetCommissioned() == 0 {
		return b
	}
	out := proto.CloneOf(b)
	out.Commissioned = 0
	return out
}
