package ingest

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

func timestamp(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func cloneAlert(a *pb.Alert) *pb.Alert { return proto.Clone(a).(*pb.Alert) }

func epcOf(e lifecycle.Epc) *pb.Epc {
	if e.IsContainer() {
		return &pb.Epc{Id: &pb.Epc_Sscc{Sscc: e.SSCC}}
	}
	if e.Pack.GTIN == "" && e.Pack.Serial == "" {
		return nil
	}
	return &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: e.Pack.GTIN, Serial: e.Pack.Serial, Lot: e.Pack.Lot, Expiry: e.Pack.Expiry}}}
}

// outcomeOf converts the rules' result into out, a zero Outcome; alerts
// are numbered from *n within the ledger entry at index.
func outcomeOf(out *pb.Outcome, r *lifecycle.Result, ev *lifecycle.Event, index uint64, n *uint32) *pb.Outcome {
	out.Applied, out.Reason, out.Status, out.Affected = r.Applied, r.Reason, pb.PackStatus(r.Status), uint64(r.Affected)
	for _, a := range r.Alerts {
		pa := &pb.Alert{
			AlertId:     fmt.Sprintf("%d-%d", index, *n),
			Code:        pb.AlertCode(a.Code),
			EventId:     ev.ID,
			LedgerIndex: index,
			Epc:         epcOf(a.Epc),
			PartyGln:    ev.Actor,
			LocationGln: ev.Location(),
			RaisedAt:    timestamppb.New(time.UnixMilli(ev.Time()).UTC()),
			Message:     a.Message,
			Status:      pb.AlertStatus_ALERT_STATUS_OPEN,
		}
		if len(a.Evidence) > 0 {
			pa.Evidence = make([]*pb.EvidenceItem, len(a.Evidence))
			for i, kv := range a.Evidence {
				pa.Evidence[i] = &pb.EvidenceItem{Key: kv.Key, Value: kv.Value}
			}
		}
		out.Alerts = append(out.Alerts, pa)
		*n++
	}
	return out
}
