package envelope

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pedigree-project/pedigree/epcis"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Limits FromEPCIS holds an event to, those of a native scan event.
const (
	maxProjectedEpcs    = 10000
	maxProjectedBatches = 100
	maxProjectedBizTx   = 20
	maxProjectedSD      = 10
	maxProjectedIDLen   = 128
	maxProjectedTxIDLen = 256
)

// FromEPCIS projects an EPCIS event onto the scan event the rules apply:
// the reverse of EPCIS. actor is the capturing party's GLN; a readPoint
// naming it projects to an empty read_point, as EPCIS fills an empty one
// with it. The Epcis bytes of the result are left empty: the caller sets
// them to the event as captured.
//
// Identifiers may be EPC URNs or GS1 Digital Links (any host): SGTIN →
// Epc.pack (GTIN-14 and serial; a lot or CPV qualifier in the link is not
// kept; the SGTIN of a case GTIN, lifecycle.IsCaseGTIN, may be a parentID
// too), SSCC → Epc.sscc, LGTIN in quantityList → batches (quantities are
// not kept), SGLN, PGLN and their links (414, 417) → GLN in readPoint,
// bizLocation, sources and destinations (a location extension, AI 254, is
// dropped: the rules work on GLNs).
//
// An event that is valid EPCIS but names what the rules do not track is
// recorded without them: any other identifier (GIAI, GRAI, GSRN, a URI of
// the sender's own) in a list the rules read or as parentID, a parent that
// is neither an SSCC nor a case SGTIN, a class that is not an LGTIN, quantities of a
// transformation, an ObjectEvent or AggregationEvent whose step is absent
// or one the node does not apply (sensor_reporting), a non-CBV business
// transaction, source or destination type, a readPoint or bizLocation that
// is not a GLN. Its projection is the event's header (event_id, type,
// action, event_time, event_time_zone_offset) with not_applied naming the
// first such member and why; the rules record it and change nothing. A
// member of a tracked kind that is malformed (a bad check digit, a serial
// outside set 82, too many objects) is refused with a *FieldError
// naming it ("epcList[2]"), since recording it would hide a broken scan.
//
// Vocabulary, per field:
//   - bizStep: the CBV steps the node knows (and
//     urn:pedigree:bizstep:undo_decommission), as Web URI, CBV URN or bare
//     word. An ObjectEvent or AggregationEvent whose step is absent or
//     unknown is recorded without the rules (they need the step of both);
//     for the other three types it maps to BIZ_STEP_UNSPECIFIED, since
//     their rules do not read it.
//   - disposition: the CBV dispositions the node knows and the
//     urn:pedigree:disp: ones; any other maps to DISPOSITION_UNSPECIFIED
//     (the step's usual disposition), and the rules refuse the events that
//     need a disposition they did not get (decommissioning, holding).
//   - bizTransaction type: a CBV type (Web URI, URN or bare word) becomes
//     its short name; with an absent or non-CBV type the event is recorded
//     without the rules.
//   - source/destination type: owning_party, possessing_party, location;
//     with any other the event is recorded without the rules.
//
// ILMD cbvmda:lotNumber and cbvmda:itemExpirationDate become ilmd.lot and
// ilmd.expiry; the expiry is written YYMMDD whether it was given as YYMMDD
// or as an xsd:date (2028-12-31). Members the rules do not read
// (certificationInfo, sensor data, error declaration, persistent
// disposition, transformationID, extensions, other ILMD fields) are not
// projected: the captured bytes keep them.
//
// When ev carries no eventID, the projection's event_id is the CBV 2.0
// hash of ev, the ID the captured event has, so that an event whose
// projection drops members keeps its own ID.
func FromEPCIS(ev *epcis.Event, actor string) (*pb.ScanEvent, error) {
	if ev == nil {
		return nil, &FieldError{Field: "", Msg: "no event"}
	}
	out := &pb.ScanEvent{EventId: ev.EventID, EventTimeZoneOffset: ev.EventTimeZoneOffset}
	if len(out.EventId) > maxProjectedIDLen {
		return nil, &FieldError{Field: "eventID", Msg: fmt.Sprintf("at most %d characters, got %d", maxProjectedIDLen, len(out.EventId))}
	}
	if out.EventId == "" {
		id, err := epcis.Hash(ev)
		if err != nil {
			return nil, fmt.Errorf("envelope: event hash: %w", err)
		}
		out.EventId = id
	}
	var err error
	if out.Type, err = eventTypeOf(ev.Type); err != nil {
		return nil, err
	}
	switch ev.Action {
	case "ADD":
		out.Action = pb.Action_ACTION_ADD
	case "OBSERVE":
		out.Action = pb.Action_ACTION_OBSERVE
	case "DELETE":
		out.Action = pb.Action_ACTION_DELETE
	case "":
		if ev.Type != epcis.TransformationEvent {
			return nil, &FieldError{Field: "action", Msg: "required"}
		}
		// A TransformationEvent has no action; the node records it as ADD.
		out.Action = pb.Action_ACTION_ADD
	default:
		return nil, &FieldError{Field: "action", Msg: fmt.Sprintf("must be ADD, OBSERVE or DELETE, got %q", ev.Action)}
	}
	t, err := time.Parse(time.RFC3339Nano, ev.EventTime)
	if err != nil {
		return nil, &FieldError{Field: "eventTime", Msg: "must be an RFC 3339 date-time, got " + fmt.Sprintf("%q", ev.EventTime)}
	}
	out.EventTime = timestamppb.New(t)
	err = projectRules(ev, out, actor)
	var u *untracked
	if errors.As(err, &u) {
		// Recorded, not applied: only the event's header is projected.
		return &pb.ScanEvent{EventId: out.EventId, Type: out.Type, Action: out.Action, EventTime: out.EventTime,
			EventTimeZoneOffset: out.EventTimeZoneOffset, NotApplied: u.Error()}, nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MaxNotAppliedLen bounds ScanEvent.not_applied.
const MaxNotAppliedLen = 512

// untracked reports a member that is valid EPCIS but names what the pack
// rules do not track: the event is recorded without them (not_applied).
type untracked struct{ field, msg string }

func (u *untracked) Error() string {
	s := u.field + ": " + u.msg
	if len(s) > MaxNotAppliedLen {
		// Cut on a rune boundary: the message quotes the sender's value.
		s = strings.ToValidUTF8(s[:MaxNotAppliedLen-3], "") + "..."
	}
	return s
}

// notTracked is an error of an identifier reader: the value is not of a
// kind the rules track (as opposed to one of that kind that is malformed).
type notTracked struct{ msg string }

func (e *notTracked) Error() string { return e.msg }

// fieldErr names field in err: an untracked member when err is a
// notTracked, a refusal otherwise.
func fieldErr(field string, err error) error {
	var nt *notTracked
	if errors.As(err, &nt) {
		return &untracked{field: field, msg: nt.msg}
	}
	return &FieldError{Field: field, Msg: err.Error()}
}

// projectRules fills the members the rules read; an *untracked error
// names the first member they cannot apply.
func projectRules(ev *epcis.Event, out *pb.ScanEvent, actor string) error {
	var err error
	if out.BizStep, err = bizStepOf(ev); err != nil {
		return err
	}
	out.Disposition = dispositionOf(ev.Disposition)
	if err := projectObjects(ev, out); err != nil {
		return err
	}
	if err := projectWhere(ev, out, actor); err != nil {
		return err
	}
	return projectILMD(ev, out)
}

func eventTypeOf(t epcis.EventType) (pb.EventType, error) {
	switch t {
	case epcis.ObjectEvent:
		return pb.EventType_EVENT_TYPE_OBJECT, nil
	case epcis.AggregationEvent:
		return pb.EventType_EVENT_TYPE_AGGREGATION, nil
	case epcis.TransactionEvent:
		return pb.EventType_EVENT_TYPE_TRANSACTION, nil
	case epcis.TransformationEvent:
		return pb.EventType_EVENT_TYPE_TRANSFORMATION, nil
	case epcis.AssociationEvent:
		return pb.EventType_EVENT_TYPE_ASSOCIATION, nil
	}
	return 0, &FieldError{Field: "type", Msg: fmt.Sprintf("unknown event type %q", t)}
}

// vocabWord returns the term of a CBV value given as Web URI (prefix web),
// CBV URN (prefix urn) or bare word.
func vocabWord(v, web, urn string) string {
	if w, ok := strings.CutPrefix(v, web); ok {
		return w
	}
	if w, ok := strings.CutPrefix(v, urn); ok {
		return w
	}
	if strings.ContainsAny(v, ":/") {
		return ""
	}
	return v
}

func bizStepOf(ev *epcis.Event) (pb.BizStep, error) {
	step := pb.BizStep_BIZ_STEP_UNSPECIFIED
	if ev.BizStep == pedigreeStep+"undo_decommission" {
		step = pb.BizStep_BIZ_STEP_UNDO_DECOMMISSION
	} else if w := vocabWord(ev.BizStep, cbvBizStep, "urn:epcglobal:cbv:bizstep:"); w != "" && w != "undo_decommission" && w != "returning" {
		if v, ok := pb.BizStep_value["BIZ_STEP_"+strings.ToUpper(w)]; ok && strings.ToLower(w) == w {
			step = pb.BizStep(v)
		}
	}
	if step == pb.BizStep_BIZ_STEP_UNSPECIFIED && (ev.Type == epcis.ObjectEvent || ev.Type == epcis.AggregationEvent) {
		if ev.BizStep == "" {
			return 0, &untracked{field: "bizStep", msg: "absent: the rules need the step of an " + string(ev.Type)}
		}
		return 0, &untracked{field: "bizStep", msg: fmt.Sprintf("%q is not a business step the node applies", ev.BizStep)}
	}
	return step, nil
}

func dispositionOf(d string) pb.Disposition {
	// Each disposition has one spelling: the EU ones under
	// urn:pedigree:disp:, the others in CBV; a word is looked up and
	// accepted when its node spelling is the one given.
	w, eu := strings.CutPrefix(d, pedigreeDispNS)
	if !eu {
		w = vocabWord(d, cbvDisp, "urn:epcglobal:cbv:disp:")
	}
	if w == "" || strings.ToLower(w) != w {
		return pb.Disposition_DISPOSITION_UNSPECIFIED
	}
	v, known := pb.Disposition_value["DISPOSITION_"+strings.ToUpper(w)]
	if !known {
		return pb.Disposition_DISPOSITION_UNSPECIFIED
	}
	if out := pb.Disposition(v); strings.HasPrefix(dispositionIRI(out), pedigreeDispNS) == eu {
		return out
	}
	return pb.Disposition_DISPOSITION_UNSPECIFIED
}

// epcList projects a list of instance identifiers.
func epcList(field string, list []string) ([]*pb.Epc, error) {
	if len(list) > maxProjectedEpcs {
		return nil, &FieldError{Field: field, Msg: fmt.Sprintf("at most %d objects, got %d", maxProjectedEpcs, len(list))}
	}
	var out []*pb.Epc
	for i, s := range list {
		e, err := epcOf(s)
		if err != nil {
			return nil, fieldErr(fmt.Sprintf("%s[%d]", field, i), err)
		}
		out = append(out, e)
	}
	return out, nil
}

func quantities(field string, list []epcis.QuantityElement) ([]*pb.BatchRef, error) {
	if len(list) > maxProjectedBatches {
		return nil, &FieldError{Field: field, Msg: fmt.Sprintf("at most %d, got %d", maxProjectedBatches, len(list))}
	}
	var out []*pb.BatchRef
	for i, q := range list {
		b, err := batchOf(q.EPCClass)
		if err != nil {
			return nil, fieldErr(fmt.Sprintf("%s[%d].epcClass", field, i), err)
		}
		out = append(out, b)
	}
	return out, nil
}

// projectObjects fills epcs, parent, batches, inputs and outputs.
func projectObjects(ev *epcis.Event, out *pb.ScanEvent) error {
	var err error
	switch ev.Type {
	case epcis.ObjectEvent, epcis.TransactionEvent:
		if out.Epcs, err = epcList("epcList", ev.EPCList); err != nil {
			return err
		}
		if out.Batches, err = quantities("quantityList", ev.QuantityList); err != nil {
			return err
		}
	case epcis.AggregationEvent, epcis.AssociationEvent:
		if out.Epcs, err = epcList("childEPCs", ev.ChildEPCs); err != nil {
			return err
		}
		if out.Batches, err = quantities("childQuantityList", ev.ChildQuantityList); err != nil {
			return err
		}
		// EPCIS exports the batches of an aggregation as quantityList.
		more, err := quantities("quantityList", ev.QuantityList)
		if err != nil {
			return err
		}
		if out.Batches = append(out.Batches, more...); len(out.Batches) > maxProjectedBatches {
			return &FieldError{Field: "childQuantityList", Msg: fmt.Sprintf("at most %d, got %d", maxProjectedBatches, len(out.Batches))}
		}
	case epcis.TransformationEvent:
		if out.Inputs, err = epcList("inputEPCList", ev.InputEPCList); err != nil {
			return err
		}
		if out.Outputs, err = epcList("outputEPCList", ev.OutputEPCList); err != nil {
			return err
		}
		if len(ev.InputQuantityList) > 0 {
			return &untracked{field: "inputQuantityList", msg: "the rules track packs, not quantities of a class"}
		}
		if len(ev.OutputQuantityList) > 0 {
			return &untracked{field: "outputQuantityList", msg: "the rules track packs, not quantities of a class"}
		}
	}
	if ev.ParentID == "" && ev.Type == epcis.AggregationEvent {
		return &untracked{field: "parentID", msg: "absent: the rules pack into and unpack from a container"}
	}
	if ev.ParentID != "" {
		p, err := epcOf(ev.ParentID)
		if err != nil {
			return fieldErr("parentID", err)
		}
		if p.GetSscc() == "" && !lifecycle.IsCaseGTIN(p.GetPack().GetGtin()) {
			return &untracked{field: "parentID", msg: fmt.Sprintf("%q: the rules track containers by SSCC, or cases by the SGTIN of a case GTIN (packaging indicator 1–8)", ev.ParentID)}
		}
		out.Parent = p
	}
	return nil
}

// projectWhere fills read_point, biz_location, biz_transactions, sources
// and destinations.
func projectWhere(ev *epcis.Event, out *pb.ScanEvent, actor string) error {
	if ev.ReadPoint != nil {
		g, err := glnOf(ev.ReadPoint.ID)
		if err != nil {
			return fieldErr("readPoint.id", err)
		}
		if g != actor {
			out.ReadPoint = g
		}
	}
	if ev.BizLocation != nil {
		g, err := glnOf(ev.BizLocation.ID)
		if err != nil {
			return fieldErr("bizLocation.id", err)
		}
		out.BizLocation = g
	}
	if len(ev.BizTransactionList) > maxProjectedBizTx {
		return &FieldError{Field: "bizTransactionList", Msg: fmt.Sprintf("at most %d, got %d", maxProjectedBizTx, len(ev.BizTransactionList))}
	}
	for i, t := range ev.BizTransactionList {
		f := fmt.Sprintf("bizTransactionList[%d]", i)
		w := vocabWord(t.Type, cbvBTT, "urn:epcglobal:cbv:btt:")
		if w == "" || len(w) > 32 {
			return &untracked{field: f + ".type", msg: fmt.Sprintf("%q is not a CBV business transaction type", t.Type)}
		}
		if t.Value == "" || len(t.Value) > maxProjectedTxIDLen {
			return &FieldError{Field: f + ".bizTransaction", Msg: fmt.Sprintf("1–%d characters", maxProjectedTxIDLen)}
		}
		out.BizTransactions = append(out.BizTransactions, &pb.BizTransaction{Type: w, Id: t.Value})
	}
	var err error
	if out.Sources, err = sourceDests("sourceList", ev.SourceList); err != nil {
		return err
	}
	out.Destinations, err = sourceDests("destinationList", ev.DestinationList)
	return err
}

func sourceDests(field string, list []epcis.SourceDest) ([]*pb.SourceDest, error) {
	if len(list) > maxProjectedSD {
		return nil, &FieldError{Field: field, Msg: fmt.Sprintf("at most %d, got %d", maxProjectedSD, len(list))}
	}
	var out []*pb.SourceDest
	for i, sd := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		var typ pb.SourceDestType
		switch vocabWord(sd.Type, cbvSDT, "urn:epcglobal:cbv:sdt:") {
		case "owning_party":
			typ = pb.SourceDestType_SOURCE_DEST_TYPE_OWNING_PARTY
		case "possessing_party":
			typ = pb.SourceDestType_SOURCE_DEST_TYPE_POSSESSING_PARTY
		case "location":
			typ = pb.SourceDestType_SOURCE_DEST_TYPE_LOCATION
		default:
			return nil, &untracked{field: f + ".type", msg: fmt.Sprintf("%q is not owning_party, possessing_party or location", sd.Type)}
		}
		g, err := glnOf(sd.ID)
		if err != nil {
			return nil, fieldErr(f, err)
		}
		out = append(out, &pb.SourceDest{Type: typ, Gln: g})
	}
	return out, nil
}

// projectILMD reads the lot and expiry of the ILMD.
func projectILMD(ev *epcis.Event, out *pb.ScanEvent) error {
	var il pb.Ilmd
	for _, f := range ev.ILMD {
		// The CBV master-data namespace: JSON-LD's cbvmda prefix, and the
		// spellings XML documents declare (EPCIS 1.2 and 2.0 examples).
		if f.Name.Space != cbvMDA && f.Name.Space != "urn:epcglobal:cbv:mda#" && f.Name.Space != "urn:epcglobal:cbv:mda" {
			continue
		}
		switch f.Name.Local {
		case "lotNumber":
			if f.Kind != epcis.KindString || f.Value == "" || len(f.Value) > 20 {
				return &FieldError{Field: "ilmd.cbvmda:lotNumber", Msg: "must be 1–20 characters"}
			}
			il.Lot = f.Value
		case "itemExpirationDate":
			exp, ok := yymmdd(f.Value)
			if f.Kind != epcis.KindString || !ok {
				return &FieldError{Field: "ilmd.cbvmda:itemExpirationDate", Msg: fmt.Sprintf("must be YYMMDD or an xsd:date YYYY-MM-DD, got %q", f.Value)}
			}
			il.Expiry = exp
		}
	}
	if il.Lot != "" || il.Expiry != "" {
		out.Ilmd = &il
	}
	return nil
}

// yymmdd turns an expiry given as YYMMDD (kept as is, DD may be 00) or as
// an xsd:date (YYYY-MM-DD, optionally with a time zone) into YYMMDD.
func yymmdd(s string) (string, bool) {
	digits := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return true
	}
	if len(s) == 6 && digits(s) {
		return s, true
	}
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return "", false
	}
	if _, err := time.Parse(time.DateOnly, s[:10]); err != nil {
		return "", false
	}
	if tz := s[10:]; tz != "" && tz != "Z" && !epcis.ValidTimeZoneOffset(tz) {
		return "", false
	}
	return s[2:4] + s[5:7] + s[8:10], true
}
