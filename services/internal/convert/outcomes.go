package convert

import (
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// Epc converts an object the rules named; nil for none.
func Epc(e lifecycle.Epc) *pb.Epc {
	if e.IsContainer() {
		return &pb.Epc{Id: &pb.Epc_Sscc{Sscc: e.SSCC}}
	}
	if e.Pack.GTIN == "" && e.Pack.Serial == "" {
		return nil
	}
	return &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: e.Pack.GTIN, Serial: e.Pack.Serial, Lot: e.Pack.Lot, Expiry: e.Pack.Expiry}}}
}

// Alert converts an alert the rules raised for an event of party at
// location, at time at: open, with its evidence. The ledger adds the rest
// (ID, event ID, entry).
func Alert(a *lifecycle.Alert, party, location string, at *timestamppb.Timestamp) *pb.Alert {
	out := &pb.Alert{Code: pb.AlertCode(a.Code), Epc: Epc(a.Epc), PartyGln: party, LocationGln: location, RaisedAt: at,
		Message: a.Message, Status: pb.AlertStatus_ALERT_STATUS_OPEN}
	if len(a.Evidence) > 0 {
		out.Evidence = make([]*pb.EvidenceItem, len(a.Evidence))
		for i, kv := range a.Evidence {
			out.Evidence[i] = &pb.EvidenceItem{Key: kv.Key, Value: kv.Value}
		}
	}
	return out
}

// Refused is the outcome of a write the rules refused for r.
func Refused(r lifecycle.Refusal) *pb.Outcome {
	return &pb.Outcome{Reason: r.Reason, Code: pb.OutcomeCode(r.Code)}
}

// Outcome converts the rules' result for event ev into out, a zero
// Outcome, and returns it. Its alerts are numbered from *n within the
// ledger entry at index ("<index>-<n>"); *n counts on.
func Outcome(out *pb.Outcome, r *lifecycle.Result, ev *lifecycle.Event, index uint64, n *uint32) *pb.Outcome {
	out.Applied, out.Reason, out.Code, out.Status, out.Affected = r.Applied, r.Reason, pb.OutcomeCode(r.Code), pb.PackStatus(r.Status), uint64(r.Affected)
	if len(r.Alerts) == 0 {
		return out
	}
	at := timestamppb.New(time.UnixMilli(ev.Time()).UTC())
	for i := range r.Alerts {
		pa := Alert(&r.Alerts[i], ev.Actor, ev.Location(), at)
		pa.AlertId, pa.EventId, pa.LedgerIndex = alertID(index, *n), ev.ID, index
		out.Alerts = append(out.Alerts, pa)
		*n++
	}
	return out
}

// alertID is "<ledger index>-<n>".
func alertID(index uint64, n uint32) string {
	return strconv.FormatUint(index, 10) + "-" + strconv.FormatUint(uint64(n), 10)
}
