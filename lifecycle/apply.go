package lifecycle

import "fmt"

// maxDepth bounds how far the rules walk up container Parent pointers (a
// pack in a case in a pallet is depth 2). Deeper or cyclic chains stop
// there; packing refuses to create a cycle.
const maxDepth = 8

// UndoWindow is how long after a decommission it may be undone, in
// milliseconds: 10 days (EU 2016/161 art. 13), measured between the times the
// repository received the decommission and the undo (Event.Reported), so
// that neither end can be backdated and both are on one clock. An undo
// exactly UndoWindow after the decommission is still allowed.
const UndoWindow = 10 * 24 * 60 * 60 * 1000

// Apply checks event ev against the state v and returns the outcome: whether
// it applies, the alerts it raises, and the records it writes. It is pure
// and deterministic: it reads only v and ev, never the clock, and writes
// nothing itself. The caller applies events in stream order and stores each
// Result's writes before applying the next event, so that v reflects them.
//
// Events are checked first as a whole (type, step, the actor's role, the
// fields the step needs; failures refuse the whole event), then object by
// object. Commissioning and aggregation events are atomic, like an EPCIS
// document: if any object fails, the whole event is refused and writes
// nothing, with alerts for each failing object. Other events apply object
// by object: objects that pass are written, those that fail are refused
// with their alerts, and Applied is false if any failed (Refused says how
// many). An event naming the same object twice is refused as malformed.
//
// How each step is handled:
//   - ObjectEvent: the business step decides; the action is not checked
//     (EPCIS consistency is the epcis package's business). Packs may be
//     commissioned, shipped, received, returned, dispensed, decommissioned,
//     destroyed, inspected (see Verify) and reactivated
//     (StepUndoDecommission); containers (SSCC) may be shipped, received
//     and returned, which writes only the container: the packs inside
//     follow by inference. StepHolding with disposition recalled or
//     withdrawn recalls or withdraws the batches in ev.Batches.
//   - AggregationEvent: ADD packs the children into ev.Parent, DELETE
//     unpacks them, whatever the business step says. Unpacking needs the
//     children listed: "unpack everything" is for the caller to resolve
//     into a child list first. OBSERVE is refused as unsupported.
//   - TransactionEvent and AssociationEvent: observations, whatever the
//     action and business step (see observe): recorded, nothing written.
//   - TransformationEvent: the packs in ev.Epcs (the inputs) are consumed,
//     destroyed as by a destroying step, by their custodian; ev.Outputs
//     are commissioned as by a commissioning step (see transform).
func Apply(v View, ev *Event) Result {
	if ev == nil {
		return Result{Reason: "no event", Code: OutcomeInvalid}
	}
	if ev.NotApplied != "" {
		return Result{Applied: true, Reason: NotAppliedReason + ev.NotApplied}
	}
	r := run{v: v, ev: ev, step: ev.Step, at: ev.Time(), where: ev.Location()}
	r.apply()
	return r.finish()
}

// Verify answers "is this pack genuine, may I hand it out?" without changing
// anything: it is Apply of ev as an inspecting ObjectEvent, whatever ev's
// type and step. Result.Status is the effective status, Dispensable the
// answer, Reason why not, Alerts what the scan raised; there are no writes.
// Applied is true unless the event itself was refused (an unregistered
// actor, no objects).
func Verify(v View, ev *Event) Result {
	if ev == nil {
		return Result{Reason: "no event", Code: OutcomeInvalid}
	}
	r := run{v: v, ev: ev, step: StepInspecting, verify: true, at: ev.Time(), where: ev.Location()}
	r.apply()
	return r.finish()
}

// NotAppliedReason begins the reason of an event recorded without the
// rules (Event.NotApplied).
const NotAppliedReason = "recorded without the pack rules: "

// run is the state of one Apply or Verify call.
type run struct {
	v    View
	ev   *Event
	step Step
	// verify makes the event an inspecting ObjectEvent whatever its type
	// and step say (Verify).
	verify bool
	at     int64  // the event's time
	where  string // the event's location
	role   Role

	atomic      bool   // commissioning, aggregation: all objects or none
	total       int    // objects named
	eventReason string // set when the whole event is refused
	eventCode   OutcomeCode
	firstReason string // first object refusal, or first reason not to dispense
	firstCode   OutcomeCode
	undispense  int // verified objects that may not be dispensed
	res         Result

	// One-entry caches: events name one product and one batch, mostly.
	prodKey  string
	prod     Product
	prodOK   bool
	batchKey BatchRef
	batch    Batch
	batchOK  bool
	cached   uint8 // bit 0: product cached, bit 1: batch cached

	// contIdx indexes res.PutContainers by SSCC once there are many, so
	// later objects of the event see containers written by earlier ones.
	contIdx map[string]int
	// fresh counts the packs this event commissions per batch, for
	// batches whose product has a fixed-length serial format.
	fresh map[BatchRef]uint64
}

func (r *run) apply() {
	ev := r.ev
	r.total = len(ev.Epcs)
	if r.step == StepHolding {
		r.total = len(ev.Batches)
	}
	switch {
	case r.verify:
	case ev.Type == TypeObject:
		if r.step == StepPacking || r.step == StepUnpacking {
			r.refuseEvent(OutcomeInvalid, "packing and unpacking are aggregation events, not object events")
			return
		}
	case ev.Type == TypeAggregation:
		switch ev.Action {
		case ActionAdd:
			r.step = StepPacking
		case ActionDelete:
			r.step = StepUnpacking
		default:
			r.refuseEvent(OutcomeInvalid, "aggregation action "+ev.Action.String()+" is not supported: ADD packs, DELETE unpacks")
			return
		}
	case ev.Type == TypeTransaction || ev.Type == TypeAssociation:
		r.observe()
		return
	case ev.Type == TypeTransformation:
		r.transform()
		return
	default:
		r.refuseEvent(OutcomeInvalid, "event type "+ev.Type.String()+" is not supported")
		return
	}
	if r.step <= StepUnspecified || r.step > StepUndoDecommission {
		r.refuseEvent(OutcomeInvalid, "business step "+r.step.String()+" is not supported")
		return
	}
	if ev.Actor == "" {
		r.refuseEvent(OutcomeInvalid, "the event names no acting party")
		return
	}
	if !r.authorized() || !r.wellFormed() {
		return
	}
	if n := len(ev.Epcs); n > 1 && r.step != StepInspecting {
		r.res.PutPacks = make([]Pack, 0, n)
	}
	switch r.step {
	case StepCommissioning:
		r.atomic = true
		for i := range ev.Epcs {
			r.commission(&ev.Epcs[i])
		}
	case StepPacking:
		r.atomic = true
		r.packing()
	case StepUnpacking:
		r.atomic = true
		r.unpacking()
	case StepHolding:
		for _, b := range ev.Batches {
			r.hold(b)
		}
	default:
		for i := range ev.Epcs {
			if e := &ev.Epcs[i]; e.IsContainer() {
				r.containerObject(e.SSCC)
			} else {
				r.packObject(e.Pack)
			}
		}
	}
}

// wellFormed checks the fields the step needs, refusing the event when
// one is missing.
func (r *run) wellFormed() bool {
	ev := r.ev
	switch r.step {
	case StepHolding:
		if ev.Disposition != DispRecalled && ev.Disposition != DispWithdrawn {
			r.refuseEvent(OutcomeInvalid, "holding is supported only with disposition RECALLED or WITHDRAWN")
			return false
		}
		if len(ev.Epcs) > 0 {
			r.refuseEvent(OutcomeInvalid, "recall and withdrawal name batches, not packs or containers")
			return false
		}
		if len(ev.Batches) == 0 {
			r.refuseEvent(OutcomeInvalid, "the event names no batch to "+stepNoun(r.step, ev.Disposition))
			return false
		}
	case StepDecommissioning:
		if _, ok := ev.Disposition.decommissionStatus(); !ok {
			r.refuseEvent(OutcomeInvalid, "decommissioning needs a disposition: DESTROYED, STOLEN, SAMPLE, FREE_SAMPLE, EXPORTED, LOCKED or CHECKED_OUT")
			return false
		}
	case StepShipping:
		if ev.Destination == "" {
			r.refuseEvent(OutcomeInvalid, "shipping needs a destination party")
			return false
		}
	case StepPacking, StepUnpacking:
		if ev.Parent == "" {
			r.refuseEvent(OutcomeInvalid, stepNoun(r.step, 0)+" needs a parent container (SSCC)")
			return false
		}
		if len(ev.Epcs) == 0 && r.step == StepUnpacking {
			r.refuseEvent(OutcomeInvalid, "unpacking needs the list of children to take out of "+ev.Parent)
			return false
		}
	}
	if r.step != StepHolding && len(ev.Epcs) == 0 {
		r.refuseEvent(OutcomeInvalid, "the event names no objects")
		return false
	}
	if what := duplicate(ev); what != "" {
		r.refuseEvent(OutcomeInvalid, what+" is listed more than once in the event")
		return false
	}
	return true
}

// duplicate names an object an event lists twice, or returns "".
func duplicate(ev *Event) string {
	if len(ev.Epcs) < 2 && len(ev.Batches) < 2 {
		return ""
	}
	type key struct {
		a, b string
		kind byte // 'p'ack, 'c'ontainer or 'b'atch
	}
	seen := make(map[key]struct{}, len(ev.Epcs)+len(ev.Batches))
	for _, e := range ev.Epcs {
		k := key{a: e.Pack.GTIN, b: e.Pack.Serial, kind: 'p'}
		if e.IsContainer() {
			k = key{a: e.SSCC, kind: 'c'}
		}
		if _, dup := seen[k]; dup {
			return e.String()
		}
		seen[k] = struct{}{}
	}
	for _, b := range ev.Batches {
		k := key{a: b.GTIN, b: b.Lot, kind: 'b'}
		if _, dup := seen[k]; dup {
			return "batch " + b.GTIN + "/" + b.Lot
		}
		seen[k] = struct{}{}
	}
	return ""
}

// authorized resolves the actor's role and checks that it may perform the
// step, raising UNAUTHORIZED_STEP and refusing the event when not.
func (r *run) authorized() bool {
	ev := r.ev
	r.role = ev.ActorRole
	registered := true
	if r.role == RoleUnspecified {
		var p Party
		p, registered = r.v.Party(ev.Actor)
		r.role = p.Role
	}
	if stepAllowed(r.step, ev.Disposition, r.role) {
		return true
	}
	what := stepNoun(r.step, ev.Disposition)
	if r.step == StepDecommissioning || r.step == StepDestroying {
		what += " with disposition " + ev.Disposition.String()
	}
	msg := ev.Actor + " is " + roleNoun(r.role) + " and may not perform " + what
	if !registered {
		msg = ev.Actor + " is not a registered party and may not perform " + what
	}
	evidence := []KV{{"actor_gln", ev.Actor}, {"role", r.role.String()}, {"step", r.step.String()}}
	if r.step == StepDecommissioning || r.step == StepDestroying || r.step == StepHolding {
		evidence = append(evidence, KV{"disposition", ev.Disposition.String()})
	}
	r.alert(CodeUnauthorizedStep, Epc{}, msg, evidence...)
	r.refuseEvent(OutcomeNotAuthorized, msg)
	return false
}

// stepAllowed reports whether role may perform step with disposition d.
// Product-specific rights (a manufacturer commissions and recalls only its
// own products) are checked per object.
func stepAllowed(step Step, d Disposition, role Role) bool {
	switch step {
	case StepCommissioning:
		return role == RoleManufacturer || role == RoleParallelImporter
	case StepPacking, StepUnpacking, StepShipping, StepReceiving, StepReturning, StepUndoDecommission:
		return role.Trading()
	case StepDispensing:
		return role.Dispenser()
	case StepDecommissioning, StepDestroying:
		if d == DispExported || d == DispFreeSample {
			return role == RoleManufacturer || role == RoleWholesaler || role == RoleParallelImporter
		}
		return role.Trading()
	case StepInspecting:
		return role.Trading() || role.Authority()
	case StepHolding:
		return role == RoleManufacturer || role == RoleParallelImporter || role.Authority()
	}
	return false
}

// alert records an alert and returns its message, which doubles as the
// reason when the alert refuses the object.
func (r *run) alert(code Code, epc Epc, msg string, evidence ...KV) string {
	r.res.Alerts = append(r.res.Alerts, Alert{Code: code, Epc: epc, Message: msg, Evidence: evidence})
	return msg
}

// refuse refuses one object of the event, for a reason of kind code.
func (r *run) refuse(code OutcomeCode, reason string) {
	r.res.Refused++
	if r.firstReason == "" {
		r.firstReason, r.firstCode = reason, code
	}
}

// refuseEvent refuses the whole event before any object is considered.
func (r *run) refuseEvent(code OutcomeCode, reason string) {
	if r.eventReason == "" {
		r.eventReason, r.eventCode = reason, code
	}
}

// identifyCode classifies a pack identify could not resolve (fatal set:
// unknown) or found in contradiction with the registry.
func identifyCode(fatal string) OutcomeCode {
	if fatal != "" {
		return OutcomeNotFound
	}
	return OutcomeInvalid
}

// notDispensable records why a verified pack may not be dispensed.
func (r *run) notDispensable(reason string) {
	r.undispense++
	if r.firstReason == "" {
		r.firstReason = reason
	}
}

// putPack writes a pack and counts it as affected.
func (r *run) putPack(p Pack) {
	r.res.PutPacks = append(r.res.PutPacks, p)
	r.res.Affected++
}

// finish turns the run into the Result.
func (r *run) finish() Result {
	res := r.res
	if r.total != 1 {
		res.Status = StatusUnspecified
	}
	switch {
	case r.eventReason != "":
		res.Applied, res.Reason, res.Code, res.Refused, res.Status = false, r.eventReason, r.eventCode, r.total, StatusUnspecified
		res.Affected, res.PutPacks, res.PutContainers, res.PutBatches = 0, nil, nil, nil
	case r.step == StepInspecting:
		res.Applied = true
		res.Dispensable = r.undispense == 0
		res.Reason = r.firstReason
		if r.undispense > 0 && r.total > 1 {
			res.Reason = fmt.Sprintf("%d of %d objects may not be dispensed; first: %s", r.undispense, r.total, r.firstReason)
		}
	case res.Refused > 0:
		res.Reason, res.Code = r.firstReason, r.firstCode
		if r.atomic {
			res.Affected, res.PutPacks, res.PutContainers, res.PutBatches = 0, nil, nil, nil
			if r.total > 1 {
				res.Reason = fmt.Sprintf("%d of %d objects failed, so the whole event was refused; first: %s", res.Refused, r.total, r.firstReason)
			}
		} else if r.total > 1 {
			res.Reason = fmt.Sprintf("%d of %d objects refused; first: %s", res.Refused, r.total, r.firstReason)
		}
	default:
		res.Applied = true
	}
	return res
}

// product reads a product through a one-entry cache.
func (r *run) product(gtin string) (Product, bool) {
	if r.cached&1 == 0 || r.prodKey != gtin {
		r.prod, r.prodOK = r.v.Product(gtin)
		r.prodKey = gtin
		r.cached |= 1
	}
	return r.prod, r.prodOK
}

// batchOf reads a batch through a one-entry cache.
func (r *run) batchOf(gtin, lot string) (Batch, bool) {
	k := BatchRef{GTIN: gtin, Lot: lot}
	if r.cached&2 == 0 || r.batchKey != k {
		r.batch, r.batchOK = r.v.Batch(gtin, lot)
		r.batchKey = k
		r.cached |= 2
	}
	return r.batch, r.batchOK
}
