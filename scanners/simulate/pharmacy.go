package simulate

import (
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// pharmacyDay recalls one lot, then runs the pharmacies' day: verify and
// dispense, saleable returns, expired and recalled packs refused and sent
// to destruction, and the injected trouble.
//
// There is no undo of a mistaken dispense: the ledger measures the 10-day
// undo window from the dispense's event time to the undo's record time (the
// node's clock), so with the simulated clock in the past every undo would
// be refused (see doc.go).
func (p *plan) pharmacyDay() {
	recall := p.newPhase("recall of one lot")
	recall.chains = [][]*step{{p.at(&step{op: opRecall, actor: p.recalled.prod.mfr, batch: p.recalled})}}
	// Same day, once the recall is on the ledger.
	ph := &phase{name: "pharmacies: verify, dispense, return, destroy"}
	p.phases = append(p.phases, ph)

	var normal []holding
	var groups []*recallGroup
	index := map[recallKey]int{} // lookups only: groups keep the order of the shelves
	for _, h := range p.shelves {
		switch h.p.b.kind {
		case batchExpiring:
			ph.chains = append(ph.chains, []*step{p.refusal(h.pharmacy, h.p, troubleExpired),
				p.capture(h.pharmacy, pb.BizStep_BIZ_STEP_DESTROYING, packObjs([]*pack{h.p}))})
		case batchRecalled:
			k := recallKey{kase: h.kase, at: h.pharmacy, from: h.from}
			i, ok := index[k]
			if !ok {
				i = len(groups)
				index[k] = i
				groups = append(groups, &recallGroup{recallKey: k})
			}
			groups[i].packs = append(groups[i].packs, h.p)
		default:
			normal = append(normal, h)
		}
	}
	for _, g := range groups {
		ph.chains = append(ph.chains, p.returnRecalled(g))
	}
	for _, w := range p.whss {
		for _, kind := range []batchKind{batchExpiring, batchRecalled} {
			var doomed []*pack
			for _, pk := range p.stock[w] {
				if pk.b.kind == kind {
					doomed = append(doomed, pk)
				}
			}
			if len(doomed) > 0 {
				ph.chains = append(ph.chains, []*step{p.capture(w, pb.BizStep_BIZ_STEP_DESTROYING, packObjs(doomed))})
			}
		}
	}
	p.shelfTrouble(ph, normal)
	p.counterfeits(ph)
}

// recallKey groups a pharmacy's recalled packs by how they go back: in the
// case they came in, or loose to the wholesaler that shipped them.
type recallKey struct {
	kase     *container
	at, from *party
}

type recallGroup struct {
	recallKey
	packs []*pack
}

// returnRecalled offers each recalled pack for dispensing (refused), then
// ships them back to the wholesaler, which takes them back and destroys them.
func (p *plan) returnRecalled(g *recallGroup) []*step {
	var chain []*step
	for _, pk := range g.packs {
		chain = append(chain, p.refusal(g.at, pk, troubleRecalled))
	}
	objs := packObjs(g.packs)
	if g.kase != nil {
		objs = g.kase.objects()
	}
	return append(chain,
		p.ship(g.at, g.from, objs),
		p.capture(g.from, pb.BizStep_BIZ_STEP_RETURNING, objs),
		p.capture(g.from, pb.BizStep_BIZ_STEP_DESTROYING, packObjs(g.packs)))
}

// refusal is a pharmacy offering a pack it may not supply: half the time it
// verifies first, half the time it goes straight to dispensing.
func (p *plan) refusal(at *party, pk *pack, t trouble) *step {
	o := opVerify
	if len(p.injections)%2 == 1 {
		o = opDispense
	}
	s := p.scan(o, at, scanCode{pack: pk})
	p.inject(t, s)
	return s
}

// alternate is opVerify or opDispense, taking turns.
func (p *plan) alternate(i int) op {
	if i%2 == 0 {
		return opVerify
	}
	return opDispense
}

// sale is a pharmacy verifying a pack, then dispensing it.
func (p *plan) sale(at *party, pk *pack) []*step {
	return []*step{p.scan(opVerify, at, scanCode{pack: pk}), p.scan(opDispense, at, scanCode{pack: pk})}
}

// shelfTrouble injects clones, forged labels and diverted packs among the
// packs on the pharmacies' shelves, and runs the legitimate flows of the
// others.
func (p *plan) shelfTrouble(ph *phase, shelf []holding) {
	p.rng.Shuffle(len(shelf), func(i, j int) { shelf[i], shelf[j] = shelf[j], shelf[i] })
	take := func(n int) []holding {
		n = min(n, len(shelf))
		out := shelf[:n]
		shelf = shelf[n:]
		return out
	}
	for i, h := range take(p.count(2, 400)) {
		clone := p.scan(p.alternate(i), p.other(p.phas, h.pharmacy), scanCode{pack: h.p})
		p.inject(troubleCloneInStock, clone)
		ph.chains = append(ph.chains, append([]*step{clone}, p.sale(h.pharmacy, h.p)...))
	}
	for i, h := range take(p.count(2, 400)) {
		chain := p.sale(h.pharmacy, h.p)
		clone := p.scan(p.alternate(i), p.other(p.phas, h.pharmacy), scanCode{pack: h.p})
		p.inject(troubleCloneDispensed, clone)
		ph.chains = append(ph.chains, append(chain, clone))
	}
	for i, h := range take(p.count(2, 500)) {
		s := p.scan(p.alternate(i), h.pharmacy, scanCode{pack: h.p, lot: otherLot(h.p.b)})
		p.inject(troubleBatchMismatch, s)
		ph.chains = append(ph.chains, []*step{s})
	}
	for i, h := range take(p.count(2, 500)) {
		s := p.scan(p.alternate(i), h.pharmacy, scanCode{pack: h.p, expiry: h.p.b.mismatch})
		p.inject(troubleExpiryMismatch, s)
		ph.chains = append(ph.chains, []*step{s})
	}
	var rest []holding
	for _, h := range shelf {
		if p.diverted[divertShelf] == 0 || h.kase != nil {
			rest = append(rest, h)
			continue
		}
		p.diverted[divertShelf]--
		s := p.ship(p.whss[p.rng.IntN(len(p.whss))], p.other(p.phas, h.pharmacy), packObjs([]*pack{h.p}))
		p.inject(troubleDiverted, s)
		ph.chains = append(ph.chains, append([]*step{s}, p.sale(h.pharmacy, h.p)...))
	}
	for _, h := range rest {
		switch r := p.rng.Float64(); {
		case h.kase == nil && r < pReturn:
			ph.chains = append(ph.chains, p.saleableReturn(h))
		case r < pReturn+pStock:
			if p.samples.genuine == nil {
				p.samples.genuine, p.samples.genuineHolder = &scanCode{pack: h.p}, h.pharmacy
			}
		default:
			ph.chains = append(ph.chains, p.sale(h.pharmacy, h.p))
		}
	}
}

// otherLot is another lot of the pack's product, as a forged label says.
func otherLot(b *batch) string {
	for _, o := range b.prod.batches {
		if o.lot != b.lot {
			return o.lot
		}
	}
	return b.lot + "X"
}

// saleableReturn: a pharmacy sends a pack back to its wholesaler, which
// takes it back (returning) and ships it to another pharmacy, which sells
// it.
func (p *plan) saleableReturn(h holding) []*step {
	objs := packObjs([]*pack{h.p})
	next := p.other(p.phas, h.pharmacy)
	return append([]*step{
		p.ship(h.pharmacy, h.from, objs),
		p.capture(h.from, pb.BizStep_BIZ_STEP_RETURNING, objs),
		p.ship(h.from, next, objs),
		p.capture(next, pb.BizStep_BIZ_STEP_RECEIVING, objs),
	}, p.sale(next, h.p)...)
}

// counterfeits are packs with a registered product, lot and expiry but a
// serial nobody commissioned, offered at pharmacies.
func (p *plan) counterfeits(ph *phase) {
	var lots []*batch
	for _, b := range p.batches {
		if b.kind == batchNormal && len(b.packs) > 0 {
			lots = append(lots, b)
		}
	}
	for i := range p.count(3, 200) {
		b := lots[p.rng.IntN(len(lots))]
		code := scanCode{pack: b.packs[0], serial: counterfeitSerial(p.rng)}
		s := p.scan(p.alternate(i), p.phas[p.rng.IntN(len(p.phas))], code)
		p.inject(troubleCounterfeit, s)
		ph.chains = append(ph.chains, []*step{s})
		if p.samples.counterfeit == nil {
			p.samples.counterfeit = &scanCode{pack: b.packs[0], serial: code.serial}
		}
	}
}
