package sdk

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/gs1"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// MaxObjectsPerEvent bounds the packs and containers of one event, as the
// ledger does.
const MaxObjectsPerEvent = 10000

// PackOf returns the object for a serialized pack. lot and expiry (YYMMDD,
// exactly as encoded) may be empty.
func PackOf(gtin, serial, lot, expiry string) *pb.Epc {
	return &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: gtin, Serial: serial, Lot: lot, Expiry: expiry}}}
}

// ContainerOf returns the object for a logistic unit (case, pallet).
func ContainerOf(sscc string) *pb.Epc {
	return &pb.Epc{Id: &pb.Epc_Sscc{Sscc: sscc}}
}

// ObjectFromScan returns the object a parsed barcode identifies: a pack when
// it carries a GTIN (01) and a serial (21), with the lot (10) and expiry (17)
// as encoded, or a container when it carries an SSCC (00).
func ObjectFromScan(r *gs1.Result) (*pb.Epc, error) {
	switch {
	case r.SSCC != "":
		return ContainerOf(r.SSCC), nil
	case r.GTIN != "" && r.Serial != "":
		return PackOf(r.GTIN, r.Serial, r.Lot, r.Expiry), nil
	case r.GTIN != "":
		return nil, errors.New("sdk: barcode has a GTIN (01) but no serial (21): not a serialized pack")
	}
	return nil, errors.New("sdk: barcode carries neither a GTIN (01) with a serial (21) nor an SSCC (00)")
}

// ParseObject parses a scan in any of the three GS1 forms (raw element
// string, bracketed text, Digital Link) and returns its object. Errors from
// the parser are *gs1.Error and name the AI and the rule at fault.
func ParseObject(scan string) (*pb.Epc, error) {
	r, err := gs1.Parse(scan)
	if err != nil {
		return nil, err
	}
	return ObjectFromScan(r)
}

// Details are the step-specific fields of an event.
type Details struct {
	// Disposition after the event; unspecified means the step's usual one
	// (see Builder.Event). Decommissioning requires one of DESTROYED,
	// STOLEN, SAMPLE, FREE_SAMPLE, EXPORTED, LOCKED or CHECKED_OUT.
	Disposition pb.Disposition
	// Parent is the SSCC of the container for packing and unpacking.
	Parent string
	// To is the GLN of the consignee for shipping.
	To string
}

// Builder makes the scan events of one party. Its zero value is not
// usable; get one from NewBuilder or Client.Builder. A Builder is immutable
// and safe for concurrent use.
type Builder struct {
	party     string
	readPoint string
	now       func() time.Time
}

// NewBuilder returns a Builder for partyGLN whose events are timed by now
// (nil means time.Now) and read at readPoint (a GLN; empty means partyGLN).
func NewBuilder(partyGLN, readPoint string, now func() time.Time) (*Builder, error) {
	if !gs1.ValidGLN(partyGLN) {
		return nil, fmt.Errorf("sdk: party GLN %q: want 13 digits with a valid check digit", partyGLN)
	}
	if readPoint == "" {
		readPoint = partyGLN
	}
	if !gs1.ValidGLN(readPoint) {
		return nil, fmt.Errorf("sdk: read point GLN %q: want 13 digits with a valid check digit", readPoint)
	}
	if now == nil {
		now = time.Now
	}
	return &Builder{party: partyGLN, readPoint: readPoint, now: now}, nil
}

// shape is a step's EPCIS event type, action and usual disposition; ok is
// false for steps that are not scans of objects.
type shape struct {
	typ    pb.EventType
	action pb.Action
	disp   pb.Disposition
}

func shapeOf(step pb.BizStep) (shape, bool) {
	const (
		object, aggregation = pb.EventType_EVENT_TYPE_OBJECT, pb.EventType_EVENT_TYPE_AGGREGATION
		add, observe, del   = pb.Action_ACTION_ADD, pb.Action_ACTION_OBSERVE, pb.Action_ACTION_DELETE
	)
	switch step {
	case pb.BizStep_BIZ_STEP_COMMISSIONING:
		return shape{object, add, pb.Disposition_DISPOSITION_ACTIVE}, true
	case pb.BizStep_BIZ_STEP_PACKING:
		return shape{aggregation, add, 0}, true
	case pb.BizStep_BIZ_STEP_UNPACKING:
		return shape{aggregation, del, 0}, true
	case pb.BizStep_BIZ_STEP_SHIPPING:
		return shape{object, observe, pb.Disposition_DISPOSITION_IN_TRANSIT}, true
	case pb.BizStep_BIZ_STEP_RECEIVING:
		return shape{object, observe, pb.Disposition_DISPOSITION_SELLABLE_NOT_ACCESSIBLE}, true
	case pb.BizStep_BIZ_STEP_DISPENSING:
		return shape{object, observe, pb.Disposition_DISPOSITION_DISPENSED}, true
	case pb.BizStep_BIZ_STEP_DECOMMISSIONING:
		return shape{object, del, 0}, true
	case pb.BizStep_BIZ_STEP_DESTROYING:
		return shape{object, del, pb.Disposition_DISPOSITION_DESTROYED}, true
	case pb.BizStep_BIZ_STEP_INSPECTING, pb.BizStep_BIZ_STEP_RETURNING:
		return shape{object, observe, 0}, true
	case pb.BizStep_BIZ_STEP_UNDO_DECOMMISSION:
		return shape{object, observe, pb.Disposition_DISPOSITION_ACTIVE}, true
	}
	return shape{}, false
}

// decommissionReason reports whether a pack may be decommissioned with
// disposition d (EU Delegated Regulation 2016/161 art. 22 and 23).
func decommissionReason(d pb.Disposition) bool {
	switch d {
	case pb.Disposition_DISPOSITION_DESTROYED, pb.Disposition_DISPOSITION_STOLEN, pb.Disposition_DISPOSITION_SAMPLE,
		pb.Disposition_DISPOSITION_FREE_SAMPLE, pb.Disposition_DISPOSITION_EXPORTED, pb.Disposition_DISPOSITION_LOCKED,
		pb.Disposition_DISPOSITION_CHECKED_OUT:
		return true
	}
	return false
}

// Event builds an event of step about objs (packs or containers; for
// packing and unpacking, the children of d.Parent). The event is an EPCIS
// ObjectEvent, or an AggregationEvent for packing (ADD) and unpacking
// (DELETE); commissioning is ADD, decommissioning and destroying DELETE,
// every other step OBSERVE. Its time is the Builder's clock, its readPoint
// and bizLocation the Builder's read point. Commissioning carries the lot
// and expiry of its packs as ILMD, so all its packs must share them.
// Shipping names the party as source and d.To as destination (CBV
// owning_party). The event ID is left empty: Client.Send computes it.
func (b *Builder) Event(step pb.BizStep, d Details, objs ...*pb.Epc) (*pb.ScanEvent, error) {
	u, ok := shapeOf(step)
	if !ok {
		return nil, fmt.Errorf("sdk: business step %v is not a scan step", step)
	}
	if len(objs) == 0 {
		return nil, errors.New("sdk: an event needs at least one pack or container")
	}
	if len(objs) > MaxObjectsPerEvent {
		return nil, fmt.Errorf("sdk: %d objects in one event, at most %d", len(objs), MaxObjectsPerEvent)
	}
	t := b.now()
	for i, o := range objs {
		if err := checkObject(o, t); err != nil {
			return nil, fmt.Errorf("sdk: object %d: %w", i+1, err)
		}
	}
	ev := &pb.ScanEvent{
		Type:                u.typ,
		Action:              u.action,
		BizStep:             step,
		Disposition:         u.disp,
		EventTime:           timestamppb.New(t),
		EventTimeZoneOffset: t.Format("-07:00"),
		Epcs:                objs,
		ReadPoint:           b.readPoint,
		BizLocation:         b.readPoint,
	}
	if d.Disposition != pb.Disposition_DISPOSITION_UNSPECIFIED {
		if _, known := pb.Disposition_name[int32(d.Disposition)]; !known {
			return nil, fmt.Errorf("sdk: disposition %d is not a disposition", d.Disposition)
		}
		ev.Disposition = d.Disposition
	}
	if (d.Parent != "") != (u.typ == pb.EventType_EVENT_TYPE_AGGREGATION) {
		if d.Parent == "" {
			return nil, fmt.Errorf("sdk: %s needs the parent container's SSCC", StepName(step))
		}
		return nil, fmt.Errorf("sdk: a parent container applies to packing and unpacking, not to %s", StepName(step))
	}
	if (d.To != "") != (step == pb.BizStep_BIZ_STEP_SHIPPING) {
		if d.To == "" {
			return nil, errors.New("sdk: shipping needs the destination party's GLN")
		}
		return nil, fmt.Errorf("sdk: a destination applies to shipping, not to %s", StepName(step))
	}
	switch step {
	case pb.BizStep_BIZ_STEP_PACKING, pb.BizStep_BIZ_STEP_UNPACKING:
		if !gs1.ValidSSCC(d.Parent) {
			return nil, fmt.Errorf("sdk: parent SSCC %q: want 18 digits with a valid check digit", d.Parent)
		}
		ev.Parent = ContainerOf(d.Parent)
	case pb.BizStep_BIZ_STEP_SHIPPING:
		if !gs1.ValidGLN(d.To) {
			return nil, fmt.Errorf("sdk: destination GLN %q: want 13 digits with a valid check digit", d.To)
		}
		ev.Sources = []*pb.SourceDest{{Type: pb.SourceDestType_SOURCE_DEST_TYPE_OWNING_PARTY, Gln: b.party}}
		ev.Destinations = []*pb.SourceDest{{Type: pb.SourceDestType_SOURCE_DEST_TYPE_OWNING_PARTY, Gln: d.To}}
		ev.BizLocation = ""
	case pb.BizStep_BIZ_STEP_DECOMMISSIONING:
		if !decommissionReason(ev.Disposition) {
			return nil, errors.New("sdk: decommissioning needs a reason: destroyed, stolen, sample, free_sample, exported, locked or checked_out")
		}
	case pb.BizStep_BIZ_STEP_COMMISSIONING:
		ilmd, err := commissionILMD(objs)
		if err != nil {
			return nil, err
		}
		ev.Ilmd = ilmd
	}
	return ev, nil
}

// commissionILMD returns the lot and expiry shared by the packs commissioned.
func commissionILMD(objs []*pb.Epc) (*pb.Ilmd, error) {
	first := objs[0].GetPack()
	if first == nil {
		return nil, errors.New("sdk: commissioning applies to packs, not to containers")
	}
	if first.GetLot() == "" {
		return nil, errors.New("sdk: commissioning needs the lot (10) of the packs")
	}
	for _, o := range objs[1:] {
		p := o.GetPack()
		if p == nil {
			return nil, errors.New("sdk: commissioning applies to packs, not to containers")
		}
		if p.GetLot() != first.GetLot() || p.GetExpiry() != first.GetExpiry() {
			return nil, fmt.Errorf("sdk: commissioning: pack %s/%s is of lot %q expiry %q, not %q %q: one event per batch",
				p.GetGtin(), p.GetSerial(), p.GetLot(), p.GetExpiry(), first.GetLot(), first.GetExpiry())
		}
	}
	return &pb.Ilmd{Lot: first.GetLot(), Expiry: first.GetExpiry()}, nil
}

// checkObject checks the identifiers of one object as the node will,
// the expiry against the event's time at.
func checkObject(o *pb.Epc, at time.Time) error {
	if s := o.GetSscc(); s != "" {
		if !gs1.ValidSSCC(s) {
			return fmt.Errorf("SSCC %q: want 18 digits with a valid check digit", s)
		}
		return nil
	}
	p := o.GetPack()
	switch {
	case p == nil:
		return errors.New("neither a pack nor a container")
	case !gs1.ValidGTIN(p.GetGtin()) || len(p.GetGtin()) != 14:
		return fmt.Errorf("GTIN %q: want 14 digits with a valid check digit", p.GetGtin())
	case !gs1.ValidSerial(p.GetSerial()):
		return fmt.Errorf("serial %q: want 1–20 characters of GS1 set 82", p.GetSerial())
	case p.GetLot() != "" && !gs1.ValidLot(p.GetLot()):
		return fmt.Errorf("lot %q: want 1–20 characters of GS1 set 82", p.GetLot())
	case p.GetExpiry() != "":
		if _, err := gs1.ExpiryDate(p.GetExpiry(), at); err != nil {
			return fmt.Errorf("expiry: want YYMMDD (DD may be 00): %w", err)
		}
	}
	return nil
}

// Commission builds a commissioning event for packs of one batch.
func (b *Builder) Commission(packs ...*pb.Epc) (*pb.ScanEvent, error) {
	return b.Event(pb.BizStep_BIZ_STEP_COMMISSIONING, Details{}, packs...)
}

// Pack builds a packing event: children go into the container parentSSCC.
func (b *Builder) Pack(parentSSCC string, children ...*pb.Epc) (*pb.ScanEvent, error) {
	return b.Event(pb.BizStep_BIZ_STEP_PACKING, Details{Parent: parentSSCC}, children...)
}

// Unpack builds an unpacking event: children come out of parentSSCC.
func (b *Builder) Unpack(parentSSCC string, children ...*pb.Epc) (*pb.ScanEvent, error) {
	return b.Event(pb.BizStep_BIZ_STEP_UNPACKING, Details{Parent: parentSSCC}, children...)
}

// Ship builds a shipping event to the party toGLN.
func (b *Builder) Ship(toGLN string, objs ...*pb.Epc) (*pb.ScanEvent, error) {
	return b.Event(pb.BizStep_BIZ_STEP_SHIPPING, Details{To: toGLN}, objs...)
}

// Receive builds a receiving event.
func (b *Builder) Receive(objs ...*pb.Epc) (*pb.ScanEvent, error) {
	return b.Event(pb.BizStep_BIZ_STEP_RECEIVING, Details{}, objs...)
}

// Return builds the receiving of a saleable return.
func (b *Builder) Return(objs ...*pb.Epc) (*pb.ScanEvent, error) {
	return b.Event(pb.BizStep_BIZ_STEP_RETURNING, Details{}, objs...)
}

// Dispense builds a dispensing event: supplied to the public.
func (b *Builder) Dispense(objs ...*pb.Epc) (*pb.ScanEvent, error) {
	return b.Event(pb.BizStep_BIZ_STEP_DISPENSING, Details{}, objs...)
}

// Decommission builds a decommissioning event for the reason given as a
// disposition (DESTROYED, STOLEN, SAMPLE, FREE_SAMPLE, EXPORTED, LOCKED or
// CHECKED_OUT).
func (b *Builder) Decommission(reason pb.Disposition, objs ...*pb.Epc) (*pb.ScanEvent, error) {
	return b.Event(pb.BizStep_BIZ_STEP_DECOMMISSIONING, Details{Disposition: reason}, objs...)
}

// Destroy builds a destroying event.
func (b *Builder) Destroy(objs ...*pb.Epc) (*pb.ScanEvent, error) {
	return b.Event(pb.BizStep_BIZ_STEP_DESTROYING, Details{}, objs...)
}

// Verify builds an inspecting event: a verification scan that changes no
// state.
func (b *Builder) Verify(objs ...*pb.Epc) (*pb.ScanEvent, error) {
	return b.Event(pb.BizStep_BIZ_STEP_INSPECTING, Details{}, objs...)
}

// Undo builds the undo of a decommission (EU Delegated Regulation 2016/161
// art. 13).
func (b *Builder) Undo(objs ...*pb.Epc) (*pb.ScanEvent, error) {
	return b.Event(pb.BizStep_BIZ_STEP_UNDO_DECOMMISSION, Details{}, objs...)
}

// StepName returns the word ParseStep reads for step ("dispensing",
// "undo", ...).
func StepName(step pb.BizStep) string {
	if step == pb.BizStep_BIZ_STEP_UNDO_DECOMMISSION {
		return "undo"
	}
	return strings.ToLower(strings.TrimPrefix(step.String(), "BIZ_STEP_"))
}

// ParseStep reads a business step word: commissioning, packing, unpacking,
// shipping, receiving, dispensing, decommissioning, destroying, inspecting,
// returning or undo. Case and "-" for "_" do not matter.
func ParseStep(word string) (pb.BizStep, error) {
	w := normWord(word)
	if w == "UNDO" {
		return pb.BizStep_BIZ_STEP_UNDO_DECOMMISSION, nil
	}
	if v, ok := pb.BizStep_value["BIZ_STEP_"+w]; ok {
		if _, scan := shapeOf(pb.BizStep(v)); scan {
			return pb.BizStep(v), nil
		}
	}
	return 0, fmt.Errorf("sdk: unknown step %q: want commissioning, packing, unpacking, shipping, receiving, "+
		"dispensing, decommissioning, destroying, inspecting, returning or undo", word)
}

// ParseDisposition reads a CBV disposition word: active, in_transit,
// dispensed, destroyed, stolen, sample, free_sample, exported, locked,
// checked_out, ... Case and "-" for "_" do not matter.
func ParseDisposition(word string) (pb.Disposition, error) {
	if v, ok := pb.Disposition_value["DISPOSITION_"+normWord(word)]; ok && v != 0 {
		return pb.Disposition(v), nil
	}
	return 0, fmt.Errorf("sdk: unknown disposition %q", word)
}

func normWord(s string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "_"))
}
