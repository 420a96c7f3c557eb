package simulate

import (
	"fmt"
	"math/rand/v2"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// Shape of the market.
const (
	productsPerManufacturer = 2
	lotsPerProduct          = 2  // normal lots; the expiring and recalled lots come on top
	caseSize                = 10 // packs per case
	palletSize              = 8  // cases per pallet
	commissionChunk         = 1000
	maxOrder                = 12 // packs per pharmacy order
	// Probabilities of the legitimate flows.
	pIntactCase = 0.25 // a wholesaler ships a whole case to a pharmacy
	pDamaged    = 0.01 // a wholesaler destroys a damaged pack
	pUnsold     = 0.10 // a pack stays in the wholesaler's stock
	pTote       = 0.5  // an order travels in a tote (SSCC) rather than loose
	pReturn     = 0.04 // a pharmacy returns a pack to its wholesaler
	pStock      = 0.10 // a pack stays on the pharmacy's shelf
)

// phase is one day of the market: chains of steps that touch disjoint
// objects, so that they may run in any order and at once. Steps of a chain
// run in order, each after the previous one's outcome.
type phase struct {
	name   string
	chains [][]*step
}

// holding is a pack on a pharmacy's shelf: loose, or still in the case it
// was shipped in.
type holding struct {
	p        *pack
	pharmacy *party
	from     *party     // the wholesaler that shipped it
	kase     *container // non-nil while in its case
}

// shipment is a wholesaler's delivery to a pharmacy.
type shipment struct {
	from, to *party
	objs     []obj      // what the shipping event named
	tote     *container // a tote to unpack on receipt
	kase     *container // a whole case
	packs    []*pack
}

// plan is the whole simulated market, decided before anything is sent:
// identifiers, flows, trouble, and the time of every scan.
type plan struct {
	cfg  Config
	ns   string
	rng  *rand.Rand
	clk  clock
	mfrs []*party
	whss []*party
	phas []*party

	products []*product
	batches  []*batch
	pallets  [][]*container // per manufacturer
	nSSCC    [3]int         // containers made, per SSCC extension digit

	trips      []palletTrip
	intact     map[*party][]*container // whole cases a wholesaler will ship on
	phases     []*phase
	injections []*injection
	diverted   [divertedForms]int // diverted cases still to place, per form
	stock      map[*party][]*pack
	shipments  []*shipment
	shelves    []holding
	expiring   *batch
	recalled   *batch
	samples    samples
}

// samples are identifiers a newcomer can try after the run.
type samples struct {
	genuine, counterfeit *scanCode
	genuineHolder        *party
}

// newPlan decides the market for cfg with identifiers in namespace ns. It
// draws from one PCG seeded with cfg.Seed, in a fixed order, so the same
// seed always gives the same plan.
func newPlan(cfg Config, ns string) *plan {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9ed16ee5))
	p := &plan{cfg: cfg, ns: ns, rng: rng, clk: clock{t: Start(), rng: rng},
		stock: map[*party][]*pack{}, intact: map[*party][]*container{}}
	p.parties()
	p.catalogue()
	p.placeDiverted()
	p.commissioning()
	p.packing()
	p.shipToWholesalers()
	p.unpackAtWholesalers()
	p.distribute()
	p.receiveAtPharmacies()
	// The expiring lot expires at the end of the day its last pack reached a
	// pharmacy: every scan so far was before that, every one from the next
	// morning on is after.
	p.expiring.expiry = yymmdd(p.clk.t)
	p.pharmacyDay()
	if p.samples.genuine == nil {
		p.sampleFromWholesalers()
	}
	return p
}

// sampleFromWholesalers picks the genuine sample among the wholesalers'
// unsold stock, for markets where no pharmacy kept a pack on its shelf.
func (p *plan) sampleFromWholesalers() {
	for _, w := range p.whss {
		for _, pk := range p.stock[w] {
			if pk.b.kind == batchNormal {
				p.samples.genuine, p.samples.genuineHolder = &scanCode{pack: pk}, w
				return
			}
		}
	}
}

// newPhase starts a phase the next morning (the first one at Start).
func (p *plan) newPhase(name string) *phase {
	if len(p.phases) > 0 {
		p.clk.nextDay()
	}
	ph := &phase{name: name}
	p.phases = append(p.phases, ph)
	return ph
}

// at times a step with the next tick of the clock. Steps of a chain are
// built in order, so their times ascend.
func (p *plan) at(s *step) *step {
	s.at = p.clk.tick()
	return s
}

func (p *plan) capture(actor *party, biz pb.BizStep, objs []obj) *step {
	return p.at(&step{op: opCapture, actor: actor, biz: biz, objs: objs})
}

func (p *plan) ship(actor, to *party, objs []obj) *step {
	return p.at(&step{op: opCapture, actor: actor, biz: pb.BizStep_BIZ_STEP_SHIPPING, to: to, objs: objs})
}

func (p *plan) aggregate(actor *party, biz pb.BizStep, parent string, objs []obj) *step {
	return p.at(&step{op: opCapture, actor: actor, biz: biz, parent: parent, objs: objs})
}

func (p *plan) scan(o op, actor *party, code scanCode) *step {
	return p.at(&step{op: o, actor: actor, code: code})
}

// inject marks steps as one injected case of kind t.
func (p *plan) inject(t trouble, steps ...*step) {
	in := &injection{kind: t}
	p.injections = append(p.injections, in)
	for _, s := range steps {
		s.inj = in
	}
}

func (p *plan) newContainer(ext int) *container {
	p.nSSCC[ext]++
	return &container{sscc: ssccOf(p.ns, ext, p.nSSCC[ext])}
}

// other returns a party of ps other than not.
func (p *plan) other(ps []*party, not *party) *party {
	for {
		if q := ps[p.rng.IntN(len(ps))]; q != not {
			return q
		}
	}
}

// count scales an injected trouble with the market: at least least, one in
// per packs.
func (p *plan) count(least, per int) int { return max(least, p.cfg.Packs/per) }

func (p *plan) parties() {
	mk := func(n, digit int, role pb.Role, noun string) []*party {
		out := make([]*party, n)
		for i := range out {
			out[i] = &party{gln: glnOf(p.ns, digit, i+1), role: role,
				name: fmt.Sprintf("Simulated %s %d (seed %d)", noun, i+1, p.cfg.Seed)}
		}
		return out
	}
	p.mfrs = mk(p.cfg.Manufacturers, roleDigitManufacturer, pb.Role_ROLE_MANUFACTURER, "manufacturer")
	p.whss = mk(p.cfg.Wholesalers, roleDigitWholesaler, pb.Role_ROLE_WHOLESALER, "wholesaler")
	p.phas = mk(p.cfg.Pharmacies, roleDigitPharmacy, pb.Role_ROLE_PHARMACY, "pharmacy")
}

// catalogue registers products and lots and commissions serials: the
// expiring and the recalled lot get a few cases' worth each, the normal
// lots share the rest.
func (p *plan) catalogue() {
	names := [...]string{"Paracetamol 500 mg", "Amoxicillin 250 mg", "Ibuprofen 400 mg", "Metformin 850 mg",
		"Atorvastatin 20 mg", "Omeprazole 20 mg", "Salbutamol 100 µg", "Levothyroxine 50 µg"}
	for _, m := range p.mfrs {
		for range productsPerManufacturer {
			n := len(p.products)
			pr := &product{gtin: gtinOf(p.ns, n+1), mfr: m, name: fmt.Sprintf("%s (simulated %d)", names[n%len(names)], n+1)}
			p.products = append(p.products, pr)
			for j := range lotsPerProduct {
				p.addBatch(pr, fmt.Sprintf("%c%05d", 'A'+j, p.rng.IntN(100000)), batchNormal)
			}
		}
	}
	p.expiring = p.addBatch(p.products[0], fmt.Sprintf("E%05d", p.rng.IntN(100000)), batchExpiring)
	p.recalled = p.addBatch(p.products[len(p.products)-1], fmt.Sprintf("R%05d", p.rng.IntN(100000)), batchRecalled)

	special := max(4, p.cfg.Packs/40)
	normal := p.cfg.Packs - 2*special
	nNormal := len(p.batches) - 2
	seen := map[string]struct{}{} // GTIN/serial pairs drawn so far
	for i, b := range p.batches {
		n := special
		if b.kind == batchNormal {
			n = normal / nNormal
			if i < normal%nNormal {
				n++
			}
		}
		for len(b.packs) < n {
			sn := randomSerial(p.rng)
			if _, dup := seen[b.prod.gtin+sn]; dup {
				continue
			}
			seen[b.prod.gtin+sn] = struct{}{}
			b.packs = append(b.packs, &pack{b: b, serial: sn})
		}
	}
}

func (p *plan) addBatch(pr *product, lot string, kind batchKind) *batch {
	exact, dd00 := lastDayExpiry(28+p.rng.IntN(2), 1+p.rng.IntN(12))
	b := &batch{prod: pr, lot: lot, expiry: exact, mismatch: dd00, kind: kind}
	pr.batches = append(pr.batches, b)
	p.batches = append(p.batches, b)
	return b
}

// Diverted packs come in three forms: a pallet received by a wholesaler it
// was not shipped to, a pharmacy delivery received by another pharmacy, and
// a pack on a pharmacy's shelf shipped on by a wholesaler that never had it.
const (
	divertPallet = iota
	divertDelivery
	divertShelf
	divertedForms
)

func (p *plan) placeDiverted() {
	forms := []int{divertDelivery, divertShelf}
	if len(p.whss) > 1 {
		forms = append(forms, divertPallet)
	}
	for i := range p.count(3, 300) {
		p.diverted[forms[i%len(forms)]]++
	}
}

// pick chooses k of n items at random, in a random order.
func (p *plan) pick(n, k int) []int {
	perm := p.rng.Perm(n)
	return perm[:min(k, n)]
}

func (p *plan) commissioning() {
	ph := p.newPhase("commissioning")
	for _, b := range p.batches {
		for from := 0; from < len(b.packs); from += commissionChunk {
			chunk := b.packs[from:min(from+commissionChunk, len(b.packs))]
			ph.chains = append(ph.chains, []*step{p.at(&step{op: opCommission, actor: b.prod.mfr, batch: b, objs: packObjs(chunk)})})
		}
	}
}

// packing puts each lot's packs in cases and each manufacturer's cases,
// shuffled, on pallets.
func (p *plan) packing() {
	ph := p.newPhase("packing into cases and pallets")
	for _, m := range p.mfrs {
		var cases []*container
		for _, b := range p.batches {
			if b.prod.mfr != m {
				continue
			}
			for from := 0; from < len(b.packs); from += caseSize {
				c := p.newContainer(ssccCase)
				c.packs = b.packs[from:min(from+caseSize, len(b.packs))]
				cases = append(cases, c)
			}
		}
		p.rng.Shuffle(len(cases), func(i, j int) { cases[i], cases[j] = cases[j], cases[i] })
		var pallets []*container
		for from := 0; from < len(cases); from += palletSize {
			pl := p.newContainer(ssccPallet)
			pl.cases = cases[from:min(from+palletSize, len(cases))]
			chain := make([]*step, 0, len(pl.cases)+1)
			for _, c := range pl.cases {
				chain = append(chain, p.aggregate(m, pb.BizStep_BIZ_STEP_PACKING, c.sscc, packObjs(c.packs)))
			}
			chain = append(chain, p.aggregate(m, pb.BizStep_BIZ_STEP_PACKING, pl.sscc, caseObjs(pl.cases)))
			ph.chains = append(ph.chains, chain)
			pallets = append(pallets, pl)
		}
		p.pallets = append(p.pallets, pallets)
	}
}

// palletTrip is a pallet on its way to a wholesaler.
type palletTrip struct {
	from, to *party
	pallet   *container
}

// shipToWholesalers ships every pallet to a wholesaler (one shipping event
// per pallet: the packs follow by inference), and the wholesalers receive
// them the next day, once in a while after another wholesaler tried to.
func (p *plan) shipToWholesalers() {
	ship := p.newPhase("shipping pallets to wholesalers")
	var trips []palletTrip
	for i, m := range p.mfrs {
		for _, pl := range p.pallets[i] {
			w := p.whss[p.rng.IntN(len(p.whss))]
			trips = append(trips, palletTrip{from: m, to: w, pallet: pl})
			ship.chains = append(ship.chains, []*step{p.ship(m, w, pl.objects())})
		}
	}
	recv := p.newPhase("receiving pallets at wholesalers")
	diverted := make([]bool, len(trips))
	for _, i := range p.pick(len(trips), p.diverted[divertPallet]) {
		diverted[i] = true
	}
	for i, t := range trips {
		var chain []*step
		if diverted[i] {
			s := p.capture(p.other(p.whss, t.to), pb.BizStep_BIZ_STEP_RECEIVING, t.pallet.objects())
			p.inject(troubleDiverted, s)
			chain = append(chain, s)
		}
		chain = append(chain, p.capture(t.to, pb.BizStep_BIZ_STEP_RECEIVING, t.pallet.objects()))
		recv.chains = append(recv.chains, chain)
	}
	p.trips = trips
}
