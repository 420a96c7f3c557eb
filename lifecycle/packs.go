package lifecycle

import "fmt"

// packCtx is a scanned pack resolved against the View.
type packCtx struct {
	epc   Epc
	pack  Pack
	batch Batch   // the pack's batch; zero when not registered
	eff   Status  // effective status at the event's time
	cust  Custody // effective custody: the root container's when packed
	root  string  // SSCC whose custody applies; empty when the pack is loose
}

// identify resolves a scanned pack (UNKNOWN_PRODUCT, UNKNOWN_SERIAL,
// BATCH_MISMATCH and EXPIRY_MISMATCH in docs/design.md). fatal is
// set when the pack cannot be resolved (unknown product or serial);
// mismatch when the scanned lot or expiry disagree with the registry. The
// alerts for both are recorded; the caller decides whether they refuse.
func (r *run) identify(code PackCode) (pc packCtx, fatal, mismatch string) {
	pc.epc = Epc{Pack: code}
	if _, ok := r.product(code.GTIN); !ok {
		fatal = r.alert(CodeUnknownProduct, pc.epc, "GTIN "+code.GTIN+" is not a registered product",
			KV{"gtin", code.GTIN})
		return pc, fatal, ""
	}
	p, ok := r.v.Pack(code.GTIN, code.Serial)
	if !ok {
		fatal = r.alert(CodeUnknownSerial, pc.epc,
			"serial "+code.Serial+" was never commissioned for GTIN "+code.GTIN,
			KV{"gtin", code.GTIN}, KV{"serial", code.Serial})
		if code.Lot != "" {
			if _, ok := r.batchOf(code.GTIN, code.Lot); !ok {
				r.alertUnknownBatch(pc.epc, code.GTIN, code.Lot)
			}
		}
		return pc, fatal, ""
	}
	p.GTIN, p.Serial = code.GTIN, code.Serial // the key it was read under
	pc.pack = p
	pc.batch, _ = r.batchOf(p.GTIN, p.Lot)
	if code.Lot != "" && code.Lot != p.Lot {
		mismatch = r.alert(CodeBatchMismatch, pc.epc,
			"scanned lot "+code.Lot+" differs from lot "+p.Lot+" the pack was commissioned in",
			KV{"scanned_lot", code.Lot}, KV{"commissioned_lot", p.Lot})
	}
	if exp := registeredExpiry(p, pc.batch); code.Expiry != "" && code.Expiry != exp {
		m := r.alert(CodeExpiryMismatch, pc.epc,
			"scanned expiry "+code.Expiry+" differs from expiry "+exp+" registered for lot "+p.Lot,
			KV{"scanned_expiry", code.Expiry}, KV{"registered_expiry", exp})
		if mismatch == "" {
			mismatch = m
		}
	}
	pc.eff = EffectiveStatus(p, pc.batch, r.at)
	pc.cust, pc.root = r.effectiveCustody(p.Custody, p.Parent)
	return pc, "", mismatch
}

// alertUnknownBatch raises UNKNOWN_BATCH and returns its message.
func (r *run) alertUnknownBatch(epc Epc, gtin, lot string) string {
	return r.alert(CodeUnknownBatch, epc, "lot "+lot+" was never registered for GTIN "+gtin,
		KV{"gtin", gtin}, KV{"lot", lot})
}

// packObject applies an ObjectEvent to one pack.
func (r *run) packObject(code PackCode) {
	if r.step == StepInspecting {
		r.inspect(code)
		return
	}
	pc, fatal, mismatch := r.identify(code)
	if fatal != "" {
		r.refuse(OutcomeNotFound, fatal)
		return
	}
	r.res.Status = pc.eff
	if mismatch != "" {
		r.refuse(OutcomeInvalid, mismatch)
		return
	}
	switch r.step {
	case StepDispensing, StepDecommissioning, StepDestroying:
		r.decommission(&pc)
	case StepShipping:
		r.ship(&pc)
	case StepReceiving, StepReturning:
		r.receive(&pc)
	case StepUndoDecommission:
		r.undo(&pc)
	default:
		r.refuse(OutcomeInvalid, stepNoun(r.step, r.ev.Disposition)+" does not apply to packs")
	}
}

// decommission dispenses, decommissions or destroys a pack (docs/design.md,
// "Pack lifecycle and custody"). A pack inside a container leaves it.
func (r *run) decommission(pc *packCtx) {
	to := StatusSupplied
	switch r.step {
	case StepDecommissioning:
		to, _ = r.ev.Disposition.decommissionStatus()
	case StepDestroying:
		to = StatusDestroyed
	}
	if pc.eff.BatchLevel() && to != StatusDestroyed {
		r.refuse(OutcomeConflict, pc.statusReason(r.at))
		return
	}
	if !pc.pack.Status.Active() {
		r.refuse(OutcomeConflict, r.alreadyInactive(pc))
		return
	}
	if c, actor := pc.cust, r.ev.Actor; c.Tracked {
		if to == StatusStolen {
			// A theft report is not a sighting: the custodian, or the
			// consignee of a shipment, may make it.
			if actor != c.Custodian && actor != c.Transit.To {
				r.refuse(OutcomeNotAuthorized, r.custodyMismatch(pc.epc, c, pc.root))
				return
			}
		} else if actor != c.Custodian || (r.step == StepDispensing && c.Transit.InTransit()) {
			// Seen where custody says it is not; a pack in transit is
			// nowhere anyone may dispense it.
			r.refuse(OutcomeNotAuthorized, r.cloneSuspected(pc.epc, c, pc.root))
			return
		}
	}
	p := pc.pack
	r.detach(&p, pc)
	p.Status = to
	p.Decommission = Decommission{Party: r.ev.Actor, Location: r.where, Time: r.ev.Reported(), Status: to}
	p.LastEvent = r.at
	r.putPack(p)
	if r.res.Status = to; pc.eff.BatchLevel() {
		r.res.Status = pc.eff // a recalled or expired pack destroyed
	}
}

// ship starts a shipment of a loose pack to ev.Destination.
func (r *run) ship(pc *packCtx) {
	if !r.movable(pc) || !r.holds(pc.epc, pc.pack.Custody) {
		return
	}
	p := pc.pack
	p.Custodian = r.ev.Actor
	p.Transit = Transit{From: r.ev.Actor, To: r.ev.Destination}
	p.Tracked = true
	p.LastEvent = r.at
	r.putPack(p)
}

// receive takes custody of a loose pack, for receiving and saleable returns.
func (r *run) receive(pc *packCtx) {
	if !r.movable(pc) || !r.mayReceive(pc.epc, pc.pack.Custody) {
		return
	}
	p := pc.pack
	p.Custody = Custody{Custodian: r.ev.Actor, Location: r.where, Tracked: true}
	p.LastEvent = r.at
	r.putPack(p)
}

// movable checks that a pack may travel on its own: it is active and not
// inside a container.
func (r *run) movable(pc *packCtx) bool {
	if p := pc.pack; !p.Status.Active() {
		r.refuse(OutcomeConflict, r.alert(CodeInvalidTransition, pc.epc,
			"pack is "+p.Status.String()+" and cannot take part in "+stepNoun(r.step, 0),
			KV{"status", p.Status.String()}, KV{"step", r.step.String()}))
		return false
	}
	if pc.pack.Parent != "" {
		r.refuse(OutcomeConflict, r.insideContainer(pc.epc, pc.pack.Parent))
		return false
	}
	return true
}

// insideContainer raises AGGREGATION_CONFLICT for an object shipped or
// received on its own while packed.
func (r *run) insideContainer(epc Epc, parent string) string {
	return r.alert(CodeAggregationConflict, epc,
		"inside container "+parent+": "+stepNoun(r.step, 0)+" applies to "+parent+", or unpack it first",
		KV{"parent_sscc", parent})
}

// undo reactivates a decommissioned pack (UNDO_NOT_ALLOWED in
// docs/design.md says when it may not).
func (r *run) undo(pc *packCtx) {
	if pc.eff.BatchLevel() {
		r.refuse(OutcomeConflict, pc.statusReason(r.at))
		return
	}
	p, actor := pc.pack, r.ev.Actor
	d := p.Decommission
	switch {
	case p.Status.Active():
		r.refuse(OutcomeConflict, r.alert(CodeInvalidTransition, pc.epc, "pack is ACTIVE: there is no decommission to undo",
			KV{"status", p.Status.String()}, KV{"step", r.step.String()}))
		return
	case p.Status == StatusStolen || p.Status == StatusDestroyed:
		r.refuse(OutcomeConflict, r.alert(CodeUndoNotAllowed, pc.epc,
			"a "+statusVerb(p.Status)+" pack can never be reactivated",
			KV{"status", p.Status.String()}))
		return
	case d.Party != actor || d.Location != r.where:
		r.refuse(OutcomeConflict, r.alert(CodeUndoNotAllowed, pc.epc,
			statusVerb(p.Status)+" by "+orNone(d.Party)+" at "+orNone(d.Location)+
				"; only that party at that location may undo it, not "+actor+" at "+r.where,
			KV{"decommission_party_gln", d.Party}, KV{"decommission_location_gln", d.Location},
			KV{"actor_gln", actor}, KV{"location_gln", r.where}))
		return
	case r.ev.Reported()-d.Time > UndoWindow:
		r.refuse(OutcomeConflict, r.alert(CodeUndoNotAllowed, pc.epc,
			statusVerb(p.Status)+" on "+day(d.Time)+"; the 10-day undo window ended "+stamp(d.Time+UndoWindow),
			KV{"decommission_time", stamp(d.Time)}, KV{"undo_deadline", stamp(d.Time + UndoWindow)},
			KV{"event_time", stamp(r.at)}))
		return
	}
	p.Status = StatusActive
	p.Decommission = Decommission{}
	p.Custodian, p.Location = actor, r.where
	p.LastEvent = r.at
	r.putPack(p)
	r.res.Status = StatusActive
}

// inspect verifies one pack: the answer a pharmacist needs before
// dispensing, with no writes. Checks that would refuse a dispense make the
// pack not dispensable; the alerts are the same a dispense would raise,
// except that the consignee (or shipper) of a pack in transit may verify it
// and regulators may verify anything without a custody alert.
func (r *run) inspect(code PackCode) {
	if reason := r.verdict(code); reason != "" {
		r.notDispensable(reason)
	}
}

// verdict raises a verification's alerts and says why the pack may not be
// dispensed, or returns "".
func (r *run) verdict(code PackCode) string {
	pc, fatal, mismatch := r.identify(code)
	if fatal != "" {
		return fatal
	}
	r.res.Status = pc.eff
	if pc.eff.BatchLevel() {
		return firstOf(mismatch, pc.statusReason(r.at))
	}
	if !pc.pack.Status.Active() {
		return firstOf(mismatch, r.alreadyInactive(&pc))
	}
	c, actor := pc.cust, r.ev.Actor
	switch {
	case !c.Tracked || r.role.Authority():
	case c.Transit.InTransit() && (actor == c.Transit.To || actor == c.Transit.From):
		return firstOf(mismatch, "pack is in transit from "+c.Transit.From+" to "+c.Transit.To+": receive it before dispensing")
	case c.Transit.InTransit() || actor != c.Custodian:
		return firstOf(mismatch, r.cloneSuspected(pc.epc, c, pc.root))
	}
	return mismatch
}

// firstOf returns a, or b when a is empty.
func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// alreadyInactive raises ALREADY_INACTIVE and returns its message.
func (r *run) alreadyInactive(pc *packCtx) string {
	p := pc.pack
	d := p.Decommission
	now := "now scanned for " + stepNoun(r.step, 0) + " at " + r.where
	msg := "already " + statusVerb(p.Status) + "; " + now
	if d.Party != "" {
		msg = fmt.Sprintf("%s at %s on %s; %s", statusVerb(p.Status), d.Location, day(d.Time), now)
	}
	return r.alert(CodeAlreadyInactive, pc.epc, msg,
		KV{"previous_status", p.Status.String()}, KV{"decommission_party_gln", d.Party},
		KV{"decommission_location_gln", d.Location}, KV{"decommission_time", stampOrEmpty(d)})
}

// stampOrEmpty is the decommission's time, or "" when there is no record.
func stampOrEmpty(d Decommission) string {
	if d.Party == "" && d.Time == 0 {
		return ""
	}
	return stamp(d.Time)
}

// cloneSuspected raises CLONE_SUSPECTED: the object is physically seen by a
// party custody says does not hold it.
func (r *run) cloneSuspected(epc Epc, c Custody, root string) string {
	actor := r.ev.Actor
	var msg string
	if c.Transit.InTransit() {
		msg = "in transit from " + c.Transit.From + " to " + c.Transit.To + "; now scanned for " +
			stepNoun(r.step, 0) + " by " + actor + " at " + r.where
	} else {
		msg = "in the custody of " + c.Custodian + " at " + orNone(c.Location) + "; now scanned for " +
			stepNoun(r.step, 0) + " by " + actor + " at " + r.where
	}
	ev := []KV{{"custodian_gln", c.Custodian}, {"actor_gln", actor}, {"location_gln", r.where},
		{"in_transit", boolString(c.Transit.InTransit())}}
	if c.Transit.InTransit() {
		ev = append(ev, KV{"consignee_gln", c.Transit.To})
	}
	if root != "" {
		ev = append(ev, KV{"container_sscc", root})
	}
	return r.alert(CodeCloneSuspected, epc, msg, ev...)
}

// custodyMismatch raises CUSTODY_MISMATCH: the actor acts on an object it
// does not hold.
func (r *run) custodyMismatch(epc Epc, c Custody, root string) string {
	actor := r.ev.Actor
	deed := stepDeed(r.step, r.ev.Disposition)
	if r.step == StepPacking && epc.SSCC == r.ev.Parent {
		deed = "pack into it"
	}
	msg := "held by " + c.Custodian + "; " + actor + " may not " + deed
	ev := []KV{{"custodian_gln", c.Custodian}, {"actor_gln", actor}, {"in_transit", boolString(c.Transit.InTransit())}}
	if c.Transit.InTransit() {
		ev = append(ev, KV{"consignee_gln", c.Transit.To})
	}
	if root != "" {
		ev = append(ev, KV{"container_sscc", root})
	}
	return r.alert(CodeCustodyMismatch, epc, msg, ev...)
}

// holds checks that the actor holds an object it ships, packs or unpacks:
// when custody is tracked, the actor must be the custodian and the object
// not in transit. It refuses the object and returns false when not.
func (r *run) holds(epc Epc, c Custody) bool {
	if !c.Tracked {
		return true
	}
	if r.ev.Actor != c.Custodian {
		r.refuse(OutcomeNotAuthorized, r.custodyMismatch(epc, c, ""))
		return false
	}
	if c.Transit.InTransit() {
		r.refuse(OutcomeConflict, r.alert(CodeInvalidTransition, epc,
			"already in transit from "+c.Transit.From+" to "+c.Transit.To+"; it must be received first",
			KV{"shipper_gln", c.Transit.From}, KV{"consignee_gln", c.Transit.To}, KV{"step", r.step.String()}))
		return false
	}
	return true
}

// mayReceive checks that the actor may receive an object: when
// custody is tracked, it must be in transit to the actor. An untracked
// object (never shipped) may be received by anyone, which starts tracking.
func (r *run) mayReceive(epc Epc, c Custody) bool {
	actor := r.ev.Actor
	switch {
	case !c.Tracked:
		return true
	case c.Transit.InTransit():
		if c.Transit.To == actor {
			return true
		}
		r.refuse(OutcomeNotAuthorized, r.alert(CodeCustodyMismatch, epc,
			"shipped by "+c.Transit.From+" to "+c.Transit.To+"; "+actor+" may not "+stepDeed(r.step, 0),
			KV{"consignee_gln", c.Transit.To}, KV{"shipper_gln", c.Transit.From}, KV{"actor_gln", actor}))
	case c.Custodian == actor:
		r.refuse(OutcomeConflict, r.alert(CodeInvalidTransition, epc,
			"not in transit: "+actor+" already holds it",
			KV{"custodian_gln", c.Custodian}, KV{"step", r.step.String()}))
	default:
		r.refuse(OutcomeNotAuthorized, r.alert(CodeCustodyMismatch, epc,
			"not in transit and held by "+c.Custodian+"; "+actor+" may not "+stepDeed(r.step, 0),
			KV{"custodian_gln", c.Custodian}, KV{"actor_gln", actor}, KV{"in_transit", "false"}))
	}
	return false
}
