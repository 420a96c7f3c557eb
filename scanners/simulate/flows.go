package simulate

import (
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// unpackAtWholesalers breaks every pallet into cases; a quarter of the cases
// stay whole, to be shipped on to a pharmacy, the others are broken into
// loose packs for picking.
func (p *plan) unpackAtWholesalers() {
	ph := p.newPhase("unpacking at wholesalers")
	for _, t := range p.trips {
		w := t.to
		chain := []*step{p.aggregate(w, pb.BizStep_BIZ_STEP_UNPACKING, t.pallet.sscc, caseObjs(t.pallet.cases))}
		for _, c := range t.pallet.cases {
			if p.rng.Float64() < pIntactCase {
				p.intact[w] = append(p.intact[w], c)
				continue
			}
			chain = append(chain, p.aggregate(w, pb.BizStep_BIZ_STEP_UNPACKING, c.sscc, packObjs(c.packs)))
			p.stock[w] = append(p.stock[w], c.packs...)
		}
		ph.chains = append(ph.chains, chain)
	}
}

// distribute has every wholesaler ship its whole cases, destroy the odd
// damaged pack, keep some stock, and pick the rest into pharmacy orders that
// travel in a tote (packed, then shipped as one SSCC) or loose (one shipping
// event naming every pack).
func (p *plan) distribute() {
	ph := p.newPhase("shipping to pharmacies")
	for _, w := range p.whss {
		for _, c := range p.intact[w] {
			to := p.phas[p.rng.IntN(len(p.phas))]
			p.shipments = append(p.shipments, &shipment{from: w, to: to, objs: c.objects(), kase: c, packs: c.packs})
			ph.chains = append(ph.chains, []*step{p.ship(w, to, c.objects())})
		}
		stock := p.stock[w]
		p.rng.Shuffle(len(stock), func(i, j int) { stock[i], stock[j] = stock[j], stock[i] })
		var kept, picked []*pack
		for _, pk := range stock {
			switch r := p.rng.Float64(); {
			case pk.b.kind == batchNormal && r < pDamaged:
				ph.chains = append(ph.chains, []*step{p.capture(w, pb.BizStep_BIZ_STEP_DESTROYING, packObjs([]*pack{pk}))})
			case r < pDamaged+pUnsold:
				kept = append(kept, pk)
			default:
				picked = append(picked, pk)
			}
		}
		p.stock[w] = kept
		for len(picked) > 0 {
			n := min(1+p.rng.IntN(maxOrder), len(picked))
			p.deliver(ph, w, p.phas[p.rng.IntN(len(p.phas))], picked[:n])
			picked = picked[n:]
		}
	}
}

func (p *plan) deliver(ph *phase, w, to *party, packs []*pack) {
	sh := &shipment{from: w, to: to, packs: packs, objs: packObjs(packs)}
	if p.rng.Float64() < pTote {
		sh.tote = p.newContainer(ssccTote)
		sh.tote.packs = packs
		sh.objs = sh.tote.objects()
		ph.chains = append(ph.chains, []*step{
			p.aggregate(w, pb.BizStep_BIZ_STEP_PACKING, sh.tote.sscc, packObjs(packs)),
			p.ship(w, to, sh.objs),
		})
	} else {
		ph.chains = append(ph.chains, []*step{p.ship(w, to, sh.objs)})
	}
	p.shipments = append(p.shipments, sh)
}

// receiveAtPharmacies has every pharmacy receive its deliveries (and unpack
// totes), once in a while after another pharmacy tried to receive them.
func (p *plan) receiveAtPharmacies() {
	ph := p.newPhase("receiving at pharmacies")
	diverted := make([]bool, len(p.shipments))
	for _, i := range p.pick(len(p.shipments), p.diverted[divertDelivery]) {
		diverted[i] = true
	}
	for i, sh := range p.shipments {
		var chain []*step
		if diverted[i] {
			s := p.capture(p.other(p.phas, sh.to), pb.BizStep_BIZ_STEP_RECEIVING, sh.objs)
			p.inject(troubleDiverted, s)
			chain = append(chain, s)
		}
		chain = append(chain, p.capture(sh.to, pb.BizStep_BIZ_STEP_RECEIVING, sh.objs))
		if sh.tote != nil {
			chain = append(chain, p.aggregate(sh.to, pb.BizStep_BIZ_STEP_UNPACKING, sh.tote.sscc, packObjs(sh.packs)))
		}
		ph.chains = append(ph.chains, chain)
		for _, pk := range sh.packs {
			p.shelves = append(p.shelves, holding{p: pk, pharmacy: sh.to, from: sh.from, kase: sh.kase})
		}
	}
}
