package envelope

import (
	"fmt"
	"strings"
	"time"

	"github.com/pedigree-project/pedigree/epcis"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// CBV 2.0 vocabulary and GS1 Digital Link forms used in the translation.
const (
	cbvBizStep     = "https://ref.gs1.org/cbv/BizStep-"
	cbvDisp        = "https://ref.gs1.org/cbv/Disp-"
	cbvSDT         = "https://ref.gs1.org/cbv/SDT-"
	cbvBTT         = "https://ref.gs1.org/cbv/BTT-"
	dlStem         = "https://id.gs1.org/"
	cbvMDA         = "urn:epcglobal:cbv:mda:"
	pedigreeStep   = "urn:pedigree:bizstep:"
	pedigreeDispNS = "urn:pedigree:disp:"
)

// EPCIS translates a scan event into the EPCIS 2.0 model, with identifiers
// in canonical GS1 Digital Link form and vocabulary as full CBV IRIs. actor
// is the submitting party's GLN: it stands in for an empty readPoint, so
// that the same scan by two parties never shares an event ID.
//
// All five event types are exported: epcs is the epcList of object and
// transaction events and the childEPCs of aggregation and association
// events; parent is the parentID of all but object and transformation
// events; a transformation has inputEPCList and outputEPCList and no
// action. FromEPCIS is the reverse.
//
// Every enum is checked before it is used: a value outside its enum (an
// open proto3 enum decodes any number) is an error naming the field.
func EPCIS(ev *pb.ScanEvent, actor string) (*epcis.Event, error) {
	if err := CheckEnums(ev); err != nil {
		return nil, err
	}
	out := &epcis.Event{
		EventID:             ev.GetEventId(),
		EventTimeZoneOffset: ev.GetEventTimeZoneOffset(),
		BizStep:             bizStepIRI(ev.GetBizStep()),
		Disposition:         dispositionIRI(ev.GetDisposition()),
	}
	switch ev.GetType() {
	case pb.EventType_EVENT_TYPE_OBJECT:
		out.Type = epcis.ObjectEvent
	case pb.EventType_EVENT_TYPE_AGGREGATION:
		out.Type = epcis.AggregationEvent
	case pb.EventType_EVENT_TYPE_TRANSACTION:
		out.Type = epcis.TransactionEvent
	case pb.EventType_EVENT_TYPE_TRANSFORMATION:
		out.Type = epcis.TransformationEvent
	case pb.EventType_EVENT_TYPE_ASSOCIATION:
		out.Type = epcis.AssociationEvent
	default:
		return nil, &FieldError{Field: "type", Msg: fmt.Sprintf("must be one of the EventType values 1–%d, got %d", len(pb.EventType_name)-1, ev.GetType())}
	}
	switch ev.GetAction() {
	case pb.Action_ACTION_ADD:
		out.Action = "ADD"
	case pb.Action_ACTION_OBSERVE:
		out.Action = "OBSERVE"
	case pb.Action_ACTION_DELETE:
		out.Action = "DELETE"
	default:
		return nil, &FieldError{Field: "action", Msg: fmt.Sprintf("must be ACTION_ADD, ACTION_OBSERVE or ACTION_DELETE, got %d", ev.GetAction())}
	}
	if ev.GetEventTime() == nil {
		return nil, &FieldError{Field: "eventTime", Msg: "required"}
	}
	out.EventTime = ev.GetEventTime().AsTime().UTC().Format(time.RFC3339Nano)
	if out.EventTimeZoneOffset == "" {
		out.EventTimeZoneOffset = "+00:00"
	}
	epcs := make([]string, 0, len(ev.GetEpcs()))
	for _, e := range ev.GetEpcs() {
		epcs = append(epcs, epcIRI(e))
	}
	var classes []epcis.QuantityElement
	for _, b := range ev.GetBatches() {
		classes = append(classes, epcis.QuantityElement{EPCClass: dlStem + "01/" + b.GetGtin() + "/10/" + b.GetLot()})
	}
	switch out.Type {
	case epcis.AggregationEvent:
		// Batches of an aggregation are exported as quantityList, as
		// they always were: event IDs already recorded depend on it.
		out.ChildEPCs, out.QuantityList = epcs, classes
	case epcis.AssociationEvent:
		out.ChildEPCs, out.ChildQuantityList = epcs, classes
	case epcis.TransformationEvent:
		// A transformation has no action, and its objects are its inputs
		// and outputs.
		out.Action = ""
		for _, e := range ev.GetInputs() {
			out.InputEPCList = append(out.InputEPCList, epcIRI(e))
		}
		for _, e := range ev.GetOutputs() {
			out.OutputEPCList = append(out.OutputEPCList, epcIRI(e))
		}
	default:
		out.EPCList, out.QuantityList = epcs, classes
	}
	if ev.GetParent() != nil && out.Type != epcis.ObjectEvent && out.Type != epcis.TransformationEvent {
		out.ParentID = epcIRI(ev.GetParent())
	}
	readPoint := ev.GetReadPoint()
	if readPoint == "" {
		readPoint = actor
	}
	out.ReadPoint = &epcis.Location{ID: dlStem + "414/" + readPoint}
	if ev.GetBizLocation() != "" {
		out.BizLocation = &epcis.Location{ID: dlStem + "414/" + ev.GetBizLocation()}
	}
	for _, t := range ev.GetBizTransactions() {
		out.BizTransactionList = append(out.BizTransactionList, epcis.BizTransaction{Type: cbvBTT + t.GetType(), Value: t.GetId()})
	}
	for _, s := range ev.GetSources() {
		out.SourceList = append(out.SourceList, sourceDest(s))
	}
	for _, d := range ev.GetDestinations() {
		out.DestinationList = append(out.DestinationList, sourceDest(d))
	}
	if ilmd := ev.GetIlmd(); ilmd != nil {
		if ilmd.GetLot() != "" {
			out.ILMD = append(out.ILMD, epcis.Field{Name: epcis.Name{Space: cbvMDA, Local: "lotNumber"}, Value: ilmd.GetLot()})
		}
		if ilmd.GetExpiry() != "" {
			out.ILMD = append(out.ILMD, epcis.Field{Name: epcis.Name{Space: cbvMDA, Local: "itemExpirationDate"}, Value: ilmd.GetExpiry()})
		}
	}
	return out, nil
}

// EventID returns the CBV 2.0 event hash of ev as submitted by actor.
func EventID(ev *pb.ScanEvent, actor string) (string, error) {
	e, err := EPCIS(ev, actor)
	if err != nil {
		return "", err
	}
	e.EventID = ""
	id, err := epcis.Hash(e)
	if err != nil {
		return "", fmt.Errorf("envelope: event hash: %w", err)
	}
	return id, nil
}

func epcIRI(e *pb.Epc) string {
	if s := e.GetSscc(); s != "" {
		return dlStem + "00/" + s
	}
	p := e.GetPack()
	return dlStem + "01/" + p.GetGtin() + "/21/" + p.GetSerial()
}

func sourceDest(s *pb.SourceDest) epcis.SourceDest {
	typ := "location"
	id := dlStem + "414/" + s.GetGln()
	switch s.GetType() {
	case pb.SourceDestType_SOURCE_DEST_TYPE_OWNING_PARTY:
		typ, id = "owning_party", dlStem+"417/"+s.GetGln()
	case pb.SourceDestType_SOURCE_DEST_TYPE_POSSESSING_PARTY:
		typ, id = "possessing_party", dlStem+"417/"+s.GetGln()
	}
	return epcis.SourceDest{Type: cbvSDT + typ, ID: id}
}

func bizStepIRI(s pb.BizStep) string {
	switch s {
	case pb.BizStep_BIZ_STEP_UNSPECIFIED:
		return ""
	case pb.BizStep_BIZ_STEP_UNDO_DECOMMISSION:
		return pedigreeStep + "undo_decommission"
	case pb.BizStep_BIZ_STEP_RETURNING:
		return cbvBizStep + "receiving"
	}
	return cbvBizStep + enumWord(s.String(), "BIZ_STEP_")
}

func dispositionIRI(d pb.Disposition) string {
	switch d {
	case pb.Disposition_DISPOSITION_UNSPECIFIED:
		return ""
	case pb.Disposition_DISPOSITION_WITHDRAWN, pb.Disposition_DISPOSITION_EXPORTED, pb.Disposition_DISPOSITION_CHECKED_OUT,
		pb.Disposition_DISPOSITION_SAMPLE, pb.Disposition_DISPOSITION_FREE_SAMPLE, pb.Disposition_DISPOSITION_LOCKED:
		return pedigreeDispNS + enumWord(d.String(), "DISPOSITION_")
	}
	return cbvDisp + enumWord(d.String(), "DISPOSITION_")
}

// enumWord turns BIZ_STEP_SHIPPING into "shipping". A name without the
// prefix (which CheckEnums keeps from getting here) is only lowered.
func enumWord(name, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(name, prefix))
}

// FieldError is a field of a scan event that breaks a rule. Field is the
// path from the event, in the API's JSON names ("sources[1].type").
type FieldError struct {
	// Field is the path of the field.
	Field string
	// Msg names the rule.
	Msg string
}

func (e *FieldError) Error() string { return "envelope: " + e.Field + ": " + e.Msg }

// CheckEnums reports the first enum field of ev whose value is not one of
// its enum's values: type, action, bizStep, disposition and the types of
// sources and destinations. Unspecified (0) passes: whether a field is
// required is for the caller to say.
func CheckEnums(ev *pb.ScanEvent) error {
	if _, ok := pb.EventType_name[int32(ev.GetType())]; !ok {
		return &FieldError{Field: "type", Msg: fmt.Sprintf("unknown value %d: must be one of the EventType values 1–%d", ev.GetType(), len(pb.EventType_name)-1)}
	}
	if _, ok := pb.Action_name[int32(ev.GetAction())]; !ok {
		return &FieldError{Field: "action", Msg: fmt.Sprintf("unknown value %d: must be ACTION_ADD, ACTION_OBSERVE or ACTION_DELETE", ev.GetAction())}
	}
	if _, ok := pb.BizStep_name[int32(ev.GetBizStep())]; !ok {
		return &FieldError{Field: "bizStep", Msg: fmt.Sprintf("unknown value %d: must be one of the BizStep values 1–%d", ev.GetBizStep(), len(pb.BizStep_name)-1)}
	}
	if _, ok := pb.Disposition_name[int32(ev.GetDisposition())]; !ok {
		return &FieldError{Field: "disposition", Msg: fmt.Sprintf("unknown value %d: must be one of the Disposition values 0–%d", ev.GetDisposition(), len(pb.Disposition_name)-1)}
	}
	for _, l := range []struct {
		name string
		list []*pb.SourceDest
	}{{"sources", ev.GetSources()}, {"destinations", ev.GetDestinations()}} {
		for i, sd := range l.list {
			if _, ok := pb.SourceDestType_name[int32(sd.GetType())]; !ok {
				return &FieldError{Field: fmt.Sprintf("%s[%d].type", l.name, i),
					Msg: fmt.Sprintf("unknown value %d: must be OWNING_PARTY, POSSESSING_PARTY or LOCATION", sd.GetType())}
			}
		}
	}
	return nil
}
