package convert

import (
	"fmt"
	"strconv"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/epcis"
	"github.com/pedigree-project/pedigree/gs1"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
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

// Event validates event i of a capture and converts it for the rules into
// out, using epcs for the objects when it is long enough; errors
// (*FieldError) name the field from the capture ("capture.events[2].type").
// actor is the party the envelope was authenticated for, recordTime the
// stream's record time in Unix milliseconds.
func Event(i int, out *lifecycle.Event, epcs []lifecycle.Epc, ev *pb.ScanEvent, actor string, recordTime int64) error {
	return EventChecked(i, out, epcs, ev, actor, recordTime, nil)
}

// EPCISCheck checks that a scan event says what its captured EPCIS bytes
// say: envelope.CheckEPCIS, or a memory of its verdicts
// (envelope.CheckedEPCIS.Check).
type EPCISCheck func(ev *pb.ScanEvent, actor string) error

// EventChecked is Event with the check of the captured EPCIS bytes made by
// check; nil means envelope.CheckEPCIS.
func EventChecked(i int, out *lifecycle.Event, epcs []lifecycle.Epc, ev *pb.ScanEvent, actor string, recordTime int64, check EPCISCheck) error {
	if check == nil {
		check = envelope.CheckEPCIS
	}
	if err := toEvent(out, epcs, ev, actor, recordTime, check); err != nil {
		return PrefixField("capture.events["+strconv.Itoa(i)+"]", err)
	}
	return nil
}

// toEvent validates a scan event and converts it for the rules into out,
// using epcs for the objects when it is long enough. Field errors name the
// field from the event (".eventTime"); paths are built only for errors,
// since this runs for every event.
func toEvent(out *lifecycle.Event, epcs []lifecycle.Epc, ev *pb.ScanEvent, actor string, recordTime int64, check EPCISCheck) error {
	*out = lifecycle.Event{
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
		return Invalid(".eventId", "at most %d characters, got %d", maxEventIDLength, len(out.ID))
	}
	// Every enum is checked before anything uses it (the rules, the
	// event hash): proto3 enums decode any number.
	if err := envelope.CheckEnums(ev); err != nil {
		if fe, ok := err.(*envelope.FieldError); ok {
			return Invalid("."+fe.Field, "%s", fe.Msg)
		}
		return err
	}
	if ev.GetType() == pb.EventType_EVENT_TYPE_UNSPECIFIED {
		return Invalid(".type", "required: EVENT_TYPE_OBJECT, AGGREGATION, TRANSACTION, TRANSFORMATION or ASSOCIATION")
	}
	if ev.GetAction() == pb.Action_ACTION_UNSPECIFIED {
		return Invalid(".action", "required: ADD, OBSERVE or DELETE")
	}
	if na := ev.GetNotApplied(); na != "" {
		// Recorded without the rules; CheckEPCIS, last, holds it to the
		// projection of the captured event.
		if len(na) > envelope.MaxNotAppliedLen {
			return Invalid(".notApplied", "at most %d bytes, got %d", envelope.MaxNotAppliedLen, len(na))
		}
		out.NotApplied = na
	}
	// The rules read the step of object events; transactions,
	// transformations and associations are applied whatever their step.
	if out.NotApplied == "" && ev.GetBizStep() == pb.BizStep_BIZ_STEP_UNSPECIFIED &&
		(ev.GetType() == pb.EventType_EVENT_TYPE_OBJECT || ev.GetType() == pb.EventType_EVENT_TYPE_AGGREGATION) {
		return Invalid(".bizStep", "required")
	}
	if ev.GetEventTime() == nil {
		return Invalid(".eventTime", "required")
	}
	if err := ev.GetEventTime().CheckValid(); err != nil {
		return Invalid(".eventTime", "%v", err)
	}
	out.EventTime = ev.GetEventTime().AsTime().UnixMilli()
	if out.EventTime < earliestEventTimeMs || out.EventTime >= latestEventTimeMs {
		return Invalid(".eventTime", "must be between 2000 and 2100, got %s", ev.GetEventTime().AsTime().Format(time.RFC3339))
	}
	if tz := ev.GetEventTimeZoneOffset(); tz != "" && !epcis.ValidTimeZoneOffset(tz) {
		return Invalid(".eventTimeZoneOffset", "must be +HH:MM or -HH:MM, got %q", tz)
	}
	ref := ev.GetEventTime().AsTime()
	if n := len(ev.GetEpcs()); n > MaxEpcsPerEvent {
		return Invalid(".epcs", "at most %d objects per event, got %d", MaxEpcsPerEvent, n)
	}
	if n := len(ev.GetEpcs()); cap(epcs) >= n {
		out.Epcs = epcs[:n]
	} else {
		out.Epcs = make([]lifecycle.Epc, n)
	}
	for i, e := range ev.GetEpcs() {
		epc, err := toEpc(e, ref)
		if err != nil {
			return PrefixField(".epcs["+strconv.Itoa(i)+"]", err)
		}
		out.Epcs[i] = epc
	}
	if err := transformation(out, ev, ref); err != nil {
		return err
	}
	if ev.GetType() == pb.EventType_EVENT_TYPE_AGGREGATION && ev.GetParent() == nil && out.NotApplied == "" {
		return Invalid(".parent", "an aggregation event needs a parent container (an SSCC, or the SGTIN of a case)")
	}
	if p := ev.GetParent(); p != nil {
		id, err := parentOf(p, ref)
		if err != nil {
			return PrefixField(".parent", err)
		}
		out.Parent = id
	}
	if n := len(ev.GetBatches()); n > maxBatchesPerEvent {
		return Invalid(".batches", "at most %d per event, got %d", maxBatchesPerEvent, n)
	}
	for i, b := range ev.GetBatches() {
		if err := CheckGTIN(".gtin", b.GetGtin()); err != nil {
			return PrefixField(".batches["+strconv.Itoa(i)+"]", err)
		}
		if err := CheckLot(".lot", b.GetLot()); err != nil {
			return PrefixField(".batches["+strconv.Itoa(i)+"]", err)
		}
		out.Batches = append(out.Batches, lifecycle.BatchRef{GTIN: b.GetGtin(), Lot: b.GetLot()})
	}
	for _, f := range []struct{ name, v string }{{".readPoint", out.ReadPoint}, {".bizLocation", out.BizLocation}} {
		if f.v != "" && !gs1.ValidGLN(f.v) {
			return Invalid(f.name, "must be a GLN: 13 digits with a valid GS1 check digit, got %q", f.v)
		}
	}
	if n := len(ev.GetBizTransactions()); n > maxBizTransactions {
		return Invalid(".bizTransactions", "at most %d, got %d", maxBizTransactions, n)
	}
	for i, t := range ev.GetBizTransactions() {
		if l := len(t.GetType()); l == 0 || l > maxBizTxTypeLength {
			return Invalid(fmt.Sprintf(".bizTransactions[%d].type", i), "1–%d characters", maxBizTxTypeLength)
		}
		if l := len(t.GetId()); l == 0 || l > maxBizTxIDLength {
			return Invalid(fmt.Sprintf(".bizTransactions[%d].id", i), "1–%d characters", maxBizTxIDLength)
		}
	}
	if err := checkSourceDest(".sources", ev.GetSources()); err != nil {
		return err
	}
	if err := checkSourceDest(".destinations", ev.GetDestinations()); err != nil {
		return err
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
			if err := CheckLot(".ilmd.lot", il.GetLot()); err != nil {
				return err
			}
		}
		if il.GetExpiry() != "" {
			if err := CheckExpiry(".ilmd.expiry", il.GetExpiry(), ref); err != nil {
				return err
			}
		}
		out.ILMD = lifecycle.ILMD{Lot: il.GetLot(), Expiry: il.GetExpiry()}
	}
	// Last, once the fields are known to be well formed: the captured
	// EPCIS event must say what the fields say.
	if err := check(ev, actor); err != nil {
		if fe, ok := err.(*envelope.FieldError); ok {
			return Invalid("."+fe.Field, "%s", fe.Msg)
		}
		return Invalid(".epcis", "%v", err)
	}
	return nil
}

// transformation converts the inputs and outputs of a transformation: the
// inputs become the event's objects (the rules consume them), the outputs
// its Outputs. Other event types may carry neither, and a transformation
// carries no epcs and no parent.
func transformation(out *lifecycle.Event, ev *pb.ScanEvent, ref time.Time) error {
	if ev.GetType() != pb.EventType_EVENT_TYPE_TRANSFORMATION {
		if len(ev.GetInputs()) > 0 || len(ev.GetOutputs()) > 0 {
			return Invalid(".inputs", "only a transformation event has inputs and outputs")
		}
		return nil
	}
	if len(ev.GetEpcs()) > 0 || ev.GetParent() != nil {
		return Invalid(".epcs", "a transformation event names its objects in inputs and outputs")
	}
	for _, l := range []struct {
		name string
		list []*pb.Epc
		dst  *[]lifecycle.Epc
	}{{".inputs", ev.GetInputs(), &out.Epcs}, {".outputs", ev.GetOutputs(), &out.Outputs}} {
		if n := len(l.list); n > MaxEpcsPerEvent {
			return Invalid(l.name, "at most %d objects per event, got %d", MaxEpcsPerEvent, n)
		}
		*l.dst = make([]lifecycle.Epc, len(l.list))
		for i, e := range l.list {
			epc, err := toEpc(e, ref)
			if err != nil {
				return PrefixField(l.name+"["+strconv.Itoa(i)+"]", err)
			}
			(*l.dst)[i] = epc
		}
	}
	return nil
}

// ContainerID is the lifecycle container ID an object names: its SSCC, or
// the CaseID of a case SGTIN; "" for a pack or nothing.
func ContainerID(e *pb.Epc) string {
	if s := e.GetSscc(); s != "" {
		return s
	}
	if pk := e.GetPack(); pk != nil && lifecycle.IsCaseGTIN(pk.GetGtin()) {
		return lifecycle.CaseID(pk.GetGtin(), pk.GetSerial())
	}
	return ""
}

// parentOf converts the parent of an event: an SSCC, or the SGTIN of a
// case (lifecycle.IsCaseGTIN); it returns the container's ID.
func parentOf(p *pb.Epc, ref time.Time) (string, error) {
	if p.GetPack() != nil && !lifecycle.IsCaseGTIN(p.GetPack().GetGtin()) {
		return "", Invalid(".pack.gtin", "a parent is a container: an SSCC, or the SGTIN of a case (GTIN-14 with packaging indicator 1–8), got GTIN %q", p.GetPack().GetGtin())
	}
	e, err := toEpc(p, ref)
	if err != nil {
		return "", err
	}
	return e.SSCC, nil
}

// toEpc converts one object; field errors name the field from the object
// (".pack.gtin"). The SGTIN of a case (lifecycle.IsCaseGTIN) is a
// container, named by its lifecycle.CaseID.
func toEpc(e *pb.Epc, ref time.Time) (lifecycle.Epc, error) {
	switch id := e.GetId().(type) {
	case *pb.Epc_Sscc:
		if !gs1.ValidSSCC(id.Sscc) {
			return lifecycle.Epc{}, Invalid(".sscc", "must be 18 digits with a valid GS1 check digit, got %q", id.Sscc)
		}
		return lifecycle.Epc{SSCC: id.Sscc}, nil
	case *pb.Epc_Pack:
		p := id.Pack
		if err := CheckGTIN(".pack.gtin", p.GetGtin()); err != nil {
			return lifecycle.Epc{}, err
		}
		if s := p.GetSerial(); !gs1.ValidSerial(s) {
			return lifecycle.Epc{}, Invalid(".pack.serial", "must be 1–20 characters of GS1 character set 82, got %d characters %q", len(s), s)
		}
		if p.GetLot() != "" {
			if err := CheckLot(".pack.lot", p.GetLot()); err != nil {
				return lifecycle.Epc{}, err
			}
		}
		if p.GetExpiry() != "" {
			if err := CheckExpiry(".pack.expiry", p.GetExpiry(), ref); err != nil {
				return lifecycle.Epc{}, err
			}
		}
		if lifecycle.IsCaseGTIN(p.GetGtin()) {
			return lifecycle.Epc{SSCC: lifecycle.CaseID(p.GetGtin(), p.GetSerial())}, nil
		}
		return lifecycle.Epc{Pack: lifecycle.PackCode{GTIN: p.GetGtin(), Serial: p.GetSerial(), Lot: p.GetLot(), Expiry: p.GetExpiry()}}, nil
	}
	return lifecycle.Epc{}, Invalid("", "must name a pack or an SSCC")
}

// CheckGTIN checks a GTIN-14.
func CheckGTIN(field, s string) error {
	if !gs1.ValidGTIN(s) {
		return Invalid(field, "must be a GTIN-14: 14 digits with a valid GS1 check digit, got %q", s)
	}
	return nil
}

// CheckLot checks a lot: 1–20 characters of GS1 character set 82.
func CheckLot(field, s string) error {
	if !gs1.ValidLot(s) {
		return Invalid(field, "must be 1–20 characters of GS1 character set 82, got %q", s)
	}
	return nil
}

// CheckExpiry checks a GS1 date YYMMDD (DD may be 00); ref resolves the
// century.
func CheckExpiry(field, s string, ref time.Time) error {
	if _, err := gs1.ExpiryDate(s, ref); err != nil {
		return Invalid(field, "must be a date YYMMDD (DD may be 00), got %q", s)
	}
	return nil
}

func checkSourceDest(field string, list []*pb.SourceDest) error {
	if len(list) > maxSourcesOrDests {
		return Invalid(field, "at most %d, got %d", maxSourcesOrDests, len(list))
	}
	for i, sd := range list {
		if sd.GetType() == pb.SourceDestType_SOURCE_DEST_TYPE_UNSPECIFIED {
			return Invalid(fmt.Sprintf("%s[%d].type", field, i), "required")
		}
		if !gs1.ValidGLN(sd.GetGln()) {
			return Invalid(fmt.Sprintf("%s[%d].gln", field, i), "must be a GLN: 13 digits with a valid GS1 check digit, got %q", sd.GetGln())
		}
	}
	return nil
}
