package lifecycle

// observe records a TransactionEvent or AssociationEvent. Such an event
// links objects to business transactions or to a parent; it moves
// nothing and changes no status, so it is applied as an observation:
//   - the actor must be registered with a role that may verify (a
//     trading party or an authority), else UNAUTHORIZED_STEP refuses it;
//   - every pack is identified as a verification identifies it, raising
//     the same identity alerts (UNKNOWN_PRODUCT, UNKNOWN_SERIAL,
//     UNKNOWN_BATCH, BATCH_MISMATCH, EXPIRY_MISMATCH); batches named in
//     the quantity list raise UNKNOWN_BATCH when not registered;
//   - custody is not checked and no custody alert is raised: a
//     transaction is paperwork (an invoice may name goods its sender
//     shipped long ago), not a sighting of the packs, and an association
//     (a sensor or a returnable asset tied to a pallet) says nothing about
//     who holds them;
//   - the event is applied (Applied true) even when alerts are raised,
//     so that the ledger keeps what the party declared; it writes nothing.
func (r *run) observe() {
	ev := r.ev
	if !r.named(len(ev.Epcs) > 0 || len(ev.Batches) > 0 || ev.Parent != "", "the event names no objects") {
		return
	}
	r.step = StepInspecting
	ok := r.authorized()
	r.step = StepUnspecified
	if !ok {
		return
	}
	for _, e := range ev.Epcs {
		if !e.IsContainer() {
			r.identify(e.Pack)
		}
	}
	for _, b := range ev.Batches {
		if _, ok := r.batchOf(b.GTIN, b.Lot); !ok {
			r.alertUnknownBatch(Epc{}, b.GTIN, b.Lot)
		}
	}
	r.res.Status = StatusUnspecified
}

// transform applies a TransformationEvent. Its inputs (ev.Epcs) are
// consumed: a pack that goes into a transformation (repackaged, compounded
// into a preparation, reworked) no longer exists as a saleable pack, so it
// is decommissioned into DESTROYED, the EU status that is final and never
// undone (Delegated Regulation 2016/161 art. 13 allows no undo of
// destroyed) and that keeps a consumed serial from ever being supplied or
// reactivated. It is held to the rules of a destroying step: the actor
// must be a trading party and, for a tracked pack, its custodian (else
// CLONE_SUSPECTED); an inactive pack raises ALREADY_INACTIVE. Containers
// cannot be consumed (unpack them first).
//
// Its outputs (ev.Outputs) are commissioned as by a commissioning step:
// only by the manufacturer (or parallel importer) of their GTIN, in the
// lot the ILMD names, which must be registered. A transformation with
// outputs is atomic: the packs it consumes and those it produces change
// together or not at all. Without outputs, the inputs apply pack by pack,
// as a destroying event does.
func (r *run) transform() {
	ev := r.ev
	if !r.named(len(ev.Epcs) > 0 || len(ev.Outputs) > 0, "the transformation names no inputs and no outputs") {
		return
	}
	if what := duplicateOutput(ev); what != "" {
		r.refuseEvent(OutcomeInvalid, what+" is listed more than once in the event")
		return
	}
	r.total = len(ev.Epcs) + len(ev.Outputs)
	if len(ev.Epcs) > 0 {
		if r.step = StepDestroying; !r.authorized() {
			return
		}
	}
	if len(ev.Outputs) > 0 {
		if r.step = StepCommissioning; !r.authorized() {
			return
		}
		r.atomic = true
	}
	if r.total > 1 {
		r.res.PutPacks = make([]Pack, 0, r.total)
	}
	r.step = StepDestroying
	for i := range ev.Epcs {
		if e := &ev.Epcs[i]; e.IsContainer() {
			r.refuse(OutcomeInvalid, "a transformation consumes packs, not containers: unpack SSCC "+e.SSCC+" first")
		} else {
			r.packObject(e.Pack)
		}
	}
	r.step = StepCommissioning
	for i := range ev.Outputs {
		r.commission(&ev.Outputs[i])
	}
}

// duplicateOutput names an output listed twice or also an input, or
// returns "".
func duplicateOutput(ev *Event) string {
	if len(ev.Outputs) == 0 {
		return ""
	}
	seen := make(map[Epc]struct{}, len(ev.Epcs)+len(ev.Outputs))
	for _, list := range [][]Epc{ev.Epcs, ev.Outputs} {
		for _, e := range list {
			k := Epc{SSCC: e.SSCC}
			if !e.IsContainer() {
				k.Pack = PackCode{GTIN: e.Pack.GTIN, Serial: e.Pack.Serial}
			}
			if _, dup := seen[k]; dup {
				return e.String()
			}
			seen[k] = struct{}{}
		}
	}
	return ""
}

// named checks what every observation and transformation needs: an actor,
// something named (some, else the event is refused with none), no object
// listed twice.
func (r *run) named(some bool, none string) bool {
	switch {
	case r.ev.Actor == "":
		r.refuseEvent(OutcomeInvalid, "the event names no acting party")
	case !some:
		r.refuseEvent(OutcomeInvalid, none)
	default:
		if what := duplicate(r.ev); what != "" {
			r.refuseEvent(OutcomeInvalid, what+" is listed more than once in the event")
			return false
		}
		return true
	}
	return false
}
