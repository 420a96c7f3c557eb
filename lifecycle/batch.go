package lifecycle

// commissionContainer brings an empty container (a pallet's SSCC, a case's
// SGTIN) into being in the actor's custody, as packing its first child
// would; one that exists already is refused.
func (r *run) commissionContainer(id string) {
	if _, ok := r.container(id); ok {
		r.refuse(OutcomeAlreadyExists, ContainerName(id)+" is already commissioned or packed")
		return
	}
	r.putContainer(Container{SSCC: id, Custody: Custody{Custodian: r.ev.Actor, Location: r.where},
		CreatedBy: r.ev.Actor, LastEvent: r.at})
}

// commission creates one pack. The lot and expiry come from the
// event's ILMD, or from the EPC when the ILMD leaves them out; the pack
// takes the batch's lot and expiry strings.
func (r *run) commission(e *Epc) {
	if e.IsContainer() {
		r.commissionContainer(e.SSCC)
		return
	}
	code, ilmd, actor := e.Pack, r.ev.ILMD, r.ev.Actor
	epc := Epc{Pack: code}
	prod, ok := r.product(code.GTIN)
	if !ok {
		r.refuse(OutcomeNotFound, r.alert(CodeUnknownProduct, epc, "GTIN "+code.GTIN+" is not a registered product",
			KV{"gtin", code.GTIN}))
		return
	}
	if prod.Manufacturer != actor {
		r.refuse(OutcomeNotAuthorized, r.notManufacturer(epc, prod))
		return
	}
	if !MatchesSerialFormat(prod.SerialFormat, prod.SerialLength, code.Serial) {
		r.refuse(OutcomeInvalid, "serial "+code.Serial+" of GTIN "+code.GTIN+" is not of the product's serial format, "+
			SerialFormatWords(prod.SerialFormat, prod.SerialLength))
		return
	}
	lot, exp := ilmd.Lot, ilmd.Expiry
	if lot == "" {
		lot = code.Lot
	} else if code.Lot != "" && code.Lot != lot {
		r.refuse(OutcomeInvalid, r.alert(CodeBatchMismatch, epc,
			"lot "+code.Lot+" in the pack's code differs from lot "+lot+" being commissioned",
			KV{"scanned_lot", code.Lot}, KV{"commissioned_lot", lot}))
		return
	}
	if exp == "" {
		exp = code.Expiry
	}
	if lot == "" {
		r.refuse(OutcomeInvalid, "commissioning of "+epc.String()+" names no lot")
		return
	}
	b, ok := r.batchOf(code.GTIN, lot)
	if !ok {
		r.refuse(OutcomeNotFound, r.alertUnknownBatch(epc, code.GTIN, lot))
		return
	}
	if exp != "" && exp != b.Expiry {
		r.refuse(OutcomeInvalid, r.alert(CodeExpiryMismatch, epc,
			"expiry "+exp+" in the commissioning event differs from expiry "+b.Expiry+" registered for lot "+lot,
			KV{"ilmd_expiry", exp}, KV{"registered_expiry", b.Expiry}))
		return
	}
	if old, exists := r.v.Pack(code.GTIN, code.Serial); exists {
		r.refuse(OutcomeConflict, r.alert(CodeInvalidTransition, epc,
			"serial "+code.Serial+" of GTIN "+code.GTIN+" is already commissioned, in lot "+old.Lot,
			KV{"existing_lot", old.Lot}, KV{"status", old.Status.String()}, KV{"step", r.step.String()}))
		return
	}
	if prod.SerialFormat != SerialDefault && !r.withinGuessOdds(prod, b) {
		return
	}
	r.putPack(Pack{
		GTIN: code.GTIN, Serial: code.Serial, Lot: b.Lot, Expiry: b.Expiry,
		Status:    StatusActive,
		Custody:   Custody{Custodian: actor, Location: r.where},
		LastEvent: r.at,
	})
	r.res.Status = StatusActive
}

// withinGuessOdds counts one more pack of a fixed-length serial format
// into batch b, refusing it when the batch would reach the guessing bound
// (CheckGuessOdds): the packs already commissioned plus those of this
// event so far.
func (r *run) withinGuessOdds(prod Product, b Batch) bool {
	ref := BatchRef{GTIN: b.GTIN, Lot: b.Lot}
	if r.fresh == nil {
		r.fresh = make(map[BatchRef]uint64, 1)
	}
	if err := CheckGuessOdds(prod.SerialFormat, prod.SerialLength, b.Commissioned+r.fresh[ref]+1); err != nil {
		r.refuse(OutcomeConflict, "batch "+b.Lot+" of GTIN "+b.GTIN+" (serials of "+
			SerialFormatWords(prod.SerialFormat, prod.SerialLength)+"): "+err.Error())
		return false
	}
	r.fresh[ref]++
	return true
}

// notManufacturer raises UNAUTHORIZED_STEP for a step only the product's
// own manufacturer may perform.
func (r *run) notManufacturer(epc Epc, prod Product) string {
	return r.alert(CodeUnauthorizedStep, epc,
		r.ev.Actor+" is not the manufacturer of GTIN "+prod.GTIN+" ("+orNone(prod.Manufacturer)+
			") and may not perform "+stepNoun(r.step, r.ev.Disposition),
		KV{"actor_gln", r.ev.Actor}, KV{"role", r.role.String()}, KV{"step", r.step.String()},
		KV{"manufacturer_gln", prod.Manufacturer})
}

// hold recalls or withdraws one batch (docs/design.md, "Pack lifecycle
// and custody"): only its product's manufacturer, a regulator or the admin
// may. The flag is never cleared; setting it again changes nothing.
func (r *run) hold(ref BatchRef) {
	prod, ok := r.product(ref.GTIN)
	if !ok {
		r.refuse(OutcomeNotFound, r.alert(CodeUnknownProduct, Epc{}, "GTIN "+ref.GTIN+" is not a registered product",
			KV{"gtin", ref.GTIN}, KV{"lot", ref.Lot}))
		return
	}
	if !r.role.Authority() && prod.Manufacturer != r.ev.Actor {
		prod.GTIN = ref.GTIN
		r.refuse(OutcomeNotAuthorized, r.notManufacturer(Epc{}, prod))
		return
	}
	b, ok := r.batchOf(ref.GTIN, ref.Lot)
	if !ok {
		r.refuse(OutcomeNotFound, r.alertUnknownBatch(Epc{}, ref.GTIN, ref.Lot))
		return
	}
	b.GTIN, b.Lot = ref.GTIN, ref.Lot
	if r.ev.Disposition == DispRecalled {
		if b.Recalled {
			return
		}
		b.Recalled = true
	} else {
		if b.Withdrawn {
			return
		}
		b.Withdrawn = true
	}
	r.res.PutBatches = append(r.res.PutBatches, b)
	r.res.Affected++
}
