package ingest

import (
	"fmt"
	"time"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/gs1"
)

// Limits on one envelope's content. Larger input is refused whole and goes
// to the dead-letter stream.
const (
	// MaxEpcsPerEvent bounds the objects of one event: a pallet of 10,000
	// packs, or a commissioning run of 10,000 serials.
	MaxEpcsPerEvent     = 10000
	maxBatchesPerEvent  = 100
	maxBizTransactions  = 20
	maxSourcesOrDests   = 10
	maxEventIDLength    = 128
	maxBizTxTypeLength  = 32
	maxBizTxIDLength    = 256
	earliestEventTimeMs = 946684800000  // 2000-01-01
	latestEventTimeMs   = 4102444800000 // 2100-01-01
)

// fieldError is a validation failure naming the field path and the rule.
type fieldError struct {
	field string
	msg   string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func invalid(field, format string, args ...any) error {
	return &fieldError{field: field, msg: fmt.Sprintf(format, args...)}
}

// toEvent validates a scan event and converts it for the rules. path names
// the event in error messages (e.g. "capture.events[2]").
func toEvent(path string, ev *pb.ScanEvent, actor string, recordTime int64) (*lifecycle.Event, error) {
	out := &lifecycle.Event{
		ID:          ev.GetEventId(),
		Type:        lifecycle.EventType(ev.GetType()),
		Action:      lifecycle.Action(ev.GetAction()),
		Step:        lifecycle.Step(ev.GetBizStep()),
		Disposition: lifecycle.Disposition(ev.GetDisposition()),
		RecordTime:  recordTime,
		Actor:       actor,
		ReadPoint:   ev.GetReadPoint(),
		BizLocation: ev.GetBizLocation(),
	}
	if len(out.ID) > maxEventIDLength {
		return nil, invalid(path+".eventId", "at most %d characters, got %d", maxEventIDLength, len(out.ID))
	}
	if _, ok := pb.EventType_name[int32(ev.GetType())]; !ok || ev.GetType() == pb.EventType_EVENT_TYPE_UNSPECIFIED {
		return nil, invalid(path+".type", "must be EVENT_TYPE_OBJECT or EVENT_TYPE_AGGREGATION")
	}
	if _, ok := pb.Action_name[int32(ev.GetAction())]; !ok || ev.GetAction() == pb.Action_ACTION_UNSPECIFIED {
		return nil, invalid(path+".action", "must be ADD, OBSERVE or DELETE")
	}
	if _, ok := pb.BizStep_name[int32(ev.GetBizStep())]; !ok || ev.GetBizStep() == pb.BizStep_BIZ_STEP_UNSPECIFIED {
		return nil, invalid(path+".bizStep", "required")
	}
	if _, ok := pb.Disposition_name[int32(ev.GetDisposition())]; !ok {
		return nil, invalid(path+".disposition", "unknown value %d", ev.GetDisposition())
	}
	if ev.GetEventTime() == nil {
		return nil, invalid(path+".eventTime", "required")
	}
	if err := ev.GetEventTime().CheckValid(); err != nil {
		return nil, invalid(path+".eventTime", "%v", err)
	}
	out.EventTime = ev.GetEventTime().AsTime().UnixMilli()
	if out.EventTime < earliestEventTimeMs || out.EventTime >= latestEventTimeMs {
		return nil, invalid(path+".eventTime", "must be between 2000 and 2100, got %s", ev.GetEventTime().AsTime().Format(time.RFC3339))
	}
	if tz := ev.GetEventTimeZoneOffset(); tz != "" && !validOffset(tz) {
		return nil, invalid(path+".eventTimeZoneOffset", "must be +HH:MM or -HH:MM, got %q", tz)
	}
	ref := ev.GetEventTime().AsTime()
	if n := len(ev.GetEpcs()); n > MaxEpcsPerEvent {
		return nil, invalid(path+".epcs", "at most %d objects per event, got %d", MaxEpcsPerEvent, n)
	}
	out.Epcs = make([]lifecycle.Epc, len(ev.GetEpcs()))
	for i, e := range ev.GetEpcs() {
		epc, err := toEpc(fmt.Sprintf("%s.epcs[%d]", path, i), e, ref)
		if err != nil {
			return nil, err
		}
		out.Epcs[i] = epc
	}
	if ev.GetType() == pb.EventType_EVENT_TYPE_AGGREGATION {
		if ev.GetParent().GetSscc() == "" {
			return nil, invalid(path+".parent.sscc", "an aggregation event needs a parent container (SSCC)")
		}
	}
	if p := ev.GetParent(); p != nil {
		if !gs1.ValidSSCC(p.GetSscc()) {
			return nil, invalid(path+".parent.sscc", "must be 18 digits with a valid GS1 check digit, got %q", p.GetSscc())
		}
		out.Parent = p.GetSscc()
	}
	if n := len(ev.GetBatches()); n > maxBatchesPerEvent {
		return nil, invalid(path+".batches", "at most %d per event, got %d", maxBatchesPerEvent, n)
	}
	for i, b := range ev.GetBatches() {
		f := fmt.Sprintf("%s.batches[%d]", path, i)
		if err := checkGTIN(f+".gtin", b.GetGtin()); err != nil {
			return nil, err
		}
		if err := checkLot(f+".lot", b.GetLot()); err != nil {
			return nil, err
		}
		out.Batches = append(out.Batches, lifecycle.BatchRef{GTIN: b.GetGtin(), Lot: b.GetLot()})
	}
	for _, f := range []struct{ name, v string }{{".readPoint", out.ReadPoint}, {".bizLocation", out.BizLocation}} {
		if f.v != "" && !gs1.ValidGLN(f.v) {
			return nil, invalid(path+f.name, "must be a GLN: 13 digits with a valid GS1 check digit, got %q", f.v)
		}
	}
	if n := len(ev.GetBizTransactions()); n > maxBizTransactions {
		return nil, invalid(path+".bizTransactions", "at most %d, got %d", maxBizTransactions, n)
	}
	for i, t := range ev.GetBizTransactions() {
		f := fmt.Sprintf("%s.bizTransactions[%d]", path, i)
		if l := len(t.GetType()); l == 0 || l > maxBizTxTypeLength {
			return nil, invalid(f+".type", "1–%d characters", maxBizTxTypeLength)
		}
		if l := len(t.GetId()); l == 0 || l > maxBizTxIDLength {
			return nil, invalid(f+".id", "1–%d characters", maxBizTxIDLength)
		}
	}
	if err := checkSourceDest(path+".sources", ev.GetSources()); err != nil {
		return nil, err
	}
	if err := checkSourceDest(path+".destinations", ev.GetDestinations()); err != nil {
		return nil, err
	}
	for _, d := range ev.GetDestinations() {
		if d.GetType() != pb.SourceDestType_SOURCE_DEST_TYPE_LOCATION {
			out.Destination = d.GetGln()
			break
		}
	}
	if out.Destination == "" && len(ev.GetDestinations()) > 0 {
		out.Destination = ev.GetDestinations()[0].GetGln()
	}
	if il := ev.GetIlmd(); il != nil {
		if il.GetLot() != "" {
			if err := checkLot(path+".ilmd.lot", il.GetLot()); err != nil {
				return nil, err
			}
		}
		if il.GetExpiry() != "" {
			if err := checkExpiry(path+".ilmd.expiry", il.GetExpiry(), ref); err != nil {
				return nil, err
			}
		}
		out.ILMD = lifecycle.ILMD{Lot: il.GetLot(), Expiry: il.GetExpiry()}
	}
	return out, nil
}

func toEpc(path string, e *pb.Epc, ref time.Time) (lifecycle.Epc, error) {
	switch id := e.GetId().(type) {
	case *pb.Epc_Sscc:
		if !gs1.ValidSSCC(id.Sscc) {
			return lifecycle.Epc{}, invalid(path+".sscc", "must be 18 digits with a valid GS1 check digit, got %q", id.Sscc)
		}
		return lifecycle.Epc{SSCC: id.Sscc}, nil
	case *pb.Epc_Pack:
		p := id.Pack
		if err := checkGTIN(path+".pack.gtin", p.GetGtin()); err != nil {
			return lifecycle.Epc{}, err
		}
		if s := p.GetSerial(); !gs1.ValidSerial(s) {
			return lifecycle.Epc{}, invalid(path+".pack.serial", "must be 1–20 characters of GS1 character set 82, got %d characters %q", len(s), s)
		}
		if p.GetLot() != "" {
			if err := checkLot(path+".pack.lot", p.GetLot()); err != nil {
				return lifecycle.Epc{}, err
			}
		}
		if p.GetExpiry() != "" {
			if err := checkExpiry(path+".pack.expiry", p.GetExpiry(), ref); err != nil {
				return lifecycle.Epc{}, err
			}
		}
		return lifecycle.Epc{Pack: lifecycle.PackCode{GTIN: p.GetGtin(), Serial: p.GetSerial(), Lot: p.GetLot(), Expiry: p.GetExpiry()}}, nil
	}
	return lifecycle.Epc{}, invalid(path, "must name a pack or an SSCC")
}

func checkGTIN(field, s string) error {
	if !gs1.ValidGTIN(s) {
		return invalid(field, "must be a GTIN-14: 14 digits with a valid GS1 check digit, got %q", s)
	}
	return nil
}

func checkLot(field, s string) error {
	if len(s) < 1 || len(s) > 20 || !gs1.ValidCSet82(s) {
		return invalid(field, "must be 1–20 characters of GS1 character set 82, got %q", s)
	}
	return nil
}

func checkExpiry(field, s string, ref time.Time) error {
	if _, err := gs1.ExpiryDate(s, ref); err != nil {
		return invalid(field, "must be a date YYMMDD (DD may be 00), got %q", s)
	}
	return nil
}

func checkSourceDest(field string, list []*pb.SourceDest) error {
	if len(list) > maxSourcesOrDests {
		return invalid(field, "at most %d, got %d", maxSourcesOrDests, len(list))
	}
	for i, sd := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		if sd.GetType() == pb.SourceDestType_SOURCE_DEST_TYPE_UNSPECIFIED {
			return invalid(f+".type", "required")
		}
		if !gs1.ValidGLN(sd.GetGln()) {
			return invalid(f+".gln", "must be a GLN: 13 digits with a valid GS1 check digit, got %q", sd.GetGln())
		}
	}
	return nil
}

func validOffset(s string) bool {
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return false
	}
	for _, i := range []int{1, 2, 4, 5} {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return (s[1]-'0')*10+(s[2]-'0') <= 14 && (s[4]-'0')*10+(s[5]-'0') < 60
}
