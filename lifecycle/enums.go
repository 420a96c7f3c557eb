package lifecycle

import "strconv"

// The enums below mirror the pedigree.v1 protobuf enums number for number,
// so that converting between them is a cast in either direction, e.g.
// lifecycle.Status(pb.PackStatus_PACK_STATUS_SUPPLIED) or
// pb.AlertCode(lifecycle.CodeCloneSuspected). The numbers are part of the
// API: do not renumber. String gives the proto name without its prefix.

// Status is the status of one pack (pedigree.v1.PackStatus).
type Status int32

// Pack statuses, in the terms of EU Delegated Regulation 2016/161.
const (
	StatusUnspecified Status = 0  // not set, or the pack is unknown
	StatusActive      Status = 1  // commissioned and in the supply chain
	StatusSupplied    Status = 2  // dispensed to the public
	StatusExported    Status = 3  // exported out of the market
	StatusCheckedOut  Status = 4  // checked out
	StatusSample      Status = 5  // taken as a sample
	StatusFreeSample  Status = 6  // handed out as a free sample
	StatusLocked      Status = 7  // locked pending investigation
	StatusDestroyed   Status = 8  // destroyed; never reversible
	StatusStolen      Status = 9  // reported stolen; never reversible
	StatusRecalled    Status = 10 // its batch was recalled; never reversible
	StatusWithdrawn   Status = 11 // its batch was withdrawn; never reversible
	StatusExpired     Status = 12 // past its expiry date; never reversible
)

// Active reports whether s is StatusActive, the only status in which a pack
// may be supplied to the public.
func (s Status) Active() bool { return s == StatusActive }

// BatchLevel reports whether s comes from the pack's batch rather than from
// the pack itself: recalled, withdrawn or expired. Such packs are refused
// with that status and without a falsification alert.
func (s Status) BatchLevel() bool {
	return s == StatusRecalled || s == StatusWithdrawn || s == StatusExpired
}

// String returns the proto name without prefix, e.g. "SUPPLIED".
func (s Status) String() string {
	switch s {
	case StatusUnspecified:
		return "UNSPECIFIED"
	case StatusActive:
		return "ACTIVE"
	case StatusSupplied:
		return "SUPPLIED"
	case StatusExported:
		return "EXPORTED"
	case StatusCheckedOut:
		return "CHECKED_OUT"
	case StatusSample:
		return "SAMPLE"
	case StatusFreeSample:
		return "FREE_SAMPLE"
	case StatusLocked:
		return "LOCKED"
	case StatusDestroyed:
		return "DESTROYED"
	case StatusStolen:
		return "STOLEN"
	case StatusRecalled:
		return "RECALLED"
	case StatusWithdrawn:
		return "WITHDRAWN"
	case StatusExpired:
		return "EXPIRED"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// Role is what a party does in the supply chain (pedigree.v1.Role).
type Role int32

// Roles.
const (
	RoleUnspecified      Role = 0
	RoleManufacturer     Role = 1
	RoleWholesaler       Role = 2
	RolePharmacy         Role = 3
	RoleHospitalPharmacy Role = 4
	RoleDispensingDoctor Role = 5
	RoleParallelImporter Role = 6
	RoleRegulator        Role = 7
	RoleAdmin            Role = 8
)

// Trading reports whether r takes part in the supply chain: manufacturer,
// wholesaler, pharmacy, hospital pharmacy, dispensing doctor or parallel
// importer.
func (r Role) Trading() bool { return r >= RoleManufacturer && r <= RoleParallelImporter }

// Dispenser reports whether r may supply packs to the public: pharmacy,
// hospital pharmacy or dispensing doctor.
func (r Role) Dispenser() bool { return r >= RolePharmacy && r <= RoleDispensingDoctor }

// Authority reports whether r is a regulator or the node's admin.
func (r Role) Authority() bool { return r == RoleRegulator || r == RoleAdmin }

// String returns the proto name without prefix, e.g. "HOSPITAL_PHARMACY".
func (r Role) String() string {
	switch r {
	case RoleUnspecified:
		return "UNSPECIFIED"
	case RoleManufacturer:
		return "MANUFACTURER"
	case RoleWholesaler:
		return "WHOLESALER"
	case RolePharmacy:
		return "PHARMACY"
	case RoleHospitalPharmacy:
		return "HOSPITAL_PHARMACY"
	case RoleDispensingDoctor:
		return "DISPENSING_DOCTOR"
	case RoleParallelImporter:
		return "PARALLEL_IMPORTER"
	case RoleRegulator:
		return "REGULATOR"
	case RoleAdmin:
		return "ADMIN"
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// Step is the CBV business step of an event (pedigree.v1.BizStep).
type Step int32

// Business steps.
const (
	StepUnspecified      Step = 0
	StepCommissioning    Step = 1
	StepPacking          Step = 2
	StepUnpacking        Step = 3
	StepShipping         Step = 4
	StepReceiving        Step = 5
	StepDispensing       Step = 6
	StepDecommissioning  Step = 7
	StepDestroying       Step = 8
	StepInspecting       Step = 9
	StepReturning        Step = 10
	StepHolding          Step = 11
	StepUndoDecommission Step = 12
)

// String returns the proto name without prefix, e.g. "UNDO_DECOMMISSION".
func (s Step) String() string {
	switch s {
	case StepUnspecified:
		return "UNSPECIFIED"
	case StepCommissioning:
		return "COMMISSIONING"
	case StepPacking:
		return "PACKING"
	case StepUnpacking:
		return "UNPACKING"
	case StepShipping:
		return "SHIPPING"
	case StepReceiving:
		return "RECEIVING"
	case StepDispensing:
		return "DISPENSING"
	case StepDecommissioning:
		return "DECOMMISSIONING"
	case StepDestroying:
		return "DESTROYING"
	case StepInspecting:
		return "INSPECTING"
	case StepReturning:
		return "RETURNING"
	case StepHolding:
		return "HOLDING"
	case StepUndoDecommission:
		return "UNDO_DECOMMISSION"
	}
	return "Step(" + strconv.Itoa(int(s)) + ")"
}

// Disposition is the CBV disposition after an event (pedigree.v1.Disposition).
type Disposition int32

// Dispositions.
const (
	DispUnspecified           Disposition = 0
	DispActive                Disposition = 1
	DispInTransit             Disposition = 2
	DispDispensed             Disposition = 3
	DispDestroyed             Disposition = 4
	DispStolen                Disposition = 5
	DispRecalled              Disposition = 6
	DispExpired               Disposition = 7
	DispReturned              Disposition = 8
	DispSellableNotAccessible Disposition = 9
	DispWithdrawn             Disposition = 10
	DispExported              Disposition = 11
	DispCheckedOut            Disposition = 12
	DispSample                Disposition = 13
	DispFreeSample            Disposition = 14
	DispLocked                Disposition = 15
)

// String returns the proto name without prefix, e.g. "FREE_SAMPLE".
func (d Disposition) String() string {
	switch d {
	case DispUnspecified:
		return "UNSPECIFIED"
	case DispActive:
		return "ACTIVE"
	case DispInTransit:
		return "IN_TRANSIT"
	case DispDispensed:
		return "DISPENSED"
	case DispDestroyed:
		return "DESTROYED"
	case DispStolen:
		return "STOLEN"
	case DispRecalled:
		return "RECALLED"
	case DispExpired:
		return "EXPIRED"
	case DispReturned:
		return "RETURNED"
	case DispSellableNotAccessible:
		return "SELLABLE_NOT_ACCESSIBLE"
	case DispWithdrawn:
		return "WITHDRAWN"
	case DispExported:
		return "EXPORTED"
	case DispCheckedOut:
		return "CHECKED_OUT"
	case DispSample:
		return "SAMPLE"
	case DispFreeSample:
		return "FREE_SAMPLE"
	case DispLocked:
		return "LOCKED"
	}
	return "Disposition(" + strconv.Itoa(int(d)) + ")"
}

// decommissionStatus is the pack status a decommissioning event with
// disposition d sets, and false for a disposition decommissioning cannot
// set.
func (d Disposition) decommissionStatus() (Status, bool) {
	switch d {
	case DispDestroyed:
		return StatusDestroyed, true
	case DispStolen:
		return StatusStolen, true
	case DispSample:
		return StatusSample, true
	case DispFreeSample:
		return StatusFreeSample, true
	case DispExported:
		return StatusExported, true
	case DispLocked:
		return StatusLocked, true
	case DispCheckedOut:
		return StatusCheckedOut, true
	}
	return StatusUnspecified, false
}

// Action is the EPCIS action of an event (pedigree.v1.Action).
type Action int32

// Actions.
const (
	ActionUnspecified Action = 0
	ActionAdd         Action = 1
	ActionObserve     Action = 2
	ActionDelete      Action = 3
)

// String returns the proto name without prefix, e.g. "ADD".
func (a Action) String() string {
	switch a {
	case ActionUnspecified:
		return "UNSPECIFIED"
	case ActionAdd:
		return "ADD"
	case ActionObserve:
		return "OBSERVE"
	case ActionDelete:
		return "DELETE"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// EventType is the EPCIS event type (pedigree.v1.EventType).
type EventType int32

// Event types.
const (
	TypeUnspecified EventType = 0
	TypeObject      EventType = 1 // EPCIS ObjectEvent
	TypeAggregation EventType = 2 // EPCIS AggregationEvent
)

// String returns the proto name without prefix, e.g. "AGGREGATION".
func (t EventType) String() string {
	switch t {
	case TypeUnspecified:
		return "UNSPECIFIED"
	case TypeObject:
		return "OBJECT"
	case TypeAggregation:
		return "AGGREGATION"
	}
	return "EventType(" + strconv.Itoa(int(t)) + ")"
}

// Code is what a scan revealed (pedigree.v1.AlertCode). String gives the
// name used on the alert stream (pedigree.alert.<CODE>).
type Code int32

// Alert codes; the alert table of docs/design.md says when each is
// raised.
const (
	CodeUnspecified         Code = 0
	CodeUnknownProduct      Code = 1
	CodeUnknownBatch        Code = 2
	CodeUnknownSerial       Code = 3
	CodeBatchMismatch       Code = 4
	CodeExpiryMismatch      Code = 5
	CodeAlreadyInactive     Code = 6
	CodeCloneSuspected      Code = 7
	CodeCustodyMismatch     Code = 8
	CodeInvalidTransition   Code = 9
	CodeAggregationConflict Code = 10
	CodeUndoNotAllowed      Code = 11
	CodeUnauthorizedStep    Code = 12
)

// String returns the bare alert name, e.g. "UNKNOWN_PRODUCT".
func (c Code) String() string {
	switch c {
	case CodeUnspecified:
		return "UNSPECIFIED"
	case CodeUnknownProduct:
		return "UNKNOWN_PRODUCT"
	case CodeUnknownBatch:
		return "UNKNOWN_BATCH"
	case CodeUnknownSerial:
		return "UNKNOWN_SERIAL"
	case CodeBatchMismatch:
		return "BATCH_MISMATCH"
	case CodeExpiryMismatch:
		return "EXPIRY_MISMATCH"
	case CodeAlreadyInactive:
		return "ALREADY_INACTIVE"
	case CodeCloneSuspected:
		return "CLONE_SUSPECTED"
	case CodeCustodyMismatch:
		return "CUSTODY_MISMATCH"
	case CodeInvalidTransition:
		return "INVALID_TRANSITION"
	case CodeAggregationConflict:
		return "AGGREGATION_CONFLICT"
	case CodeUndoNotAllowed:
		return "UNDO_NOT_ALLOWED"
	case CodeUnauthorizedStep:
		return "UNAUTHORIZED_STEP"
	}
	return "Code(" + strconv.Itoa(int(c)) + ")"
}
