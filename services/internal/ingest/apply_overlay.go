package ingest

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/convert"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// overlay is the rules' view of the state during one consumed batch: the
// committed state with the batch's own writes on top, so that the events of
// a batch see each other's effects exactly as if each had been committed on
// its own. It holds no cache of its own: committed master data and
// credentials are read through the Store's exact read cache
// (services/internal/state, cache.go), which the pipeline invalidates after
// each commit that changed them.
type overlay struct {
	store *state.Store
	err   error // first read error; the batch is abandoned when set

	// prev holds the writes of the previous batch while its commit is in
	// flight (it is neither in the DB for sure nor in the cache yet); nil
	// once it has committed. Reads look at the batch's own writes, then
	// prev's, then the cache and the DB.
	prev *overlay
	// hint holds the committed records of the packs of the message being
	// handled, read ahead on all cores (prepare.go); hintIdx indexes it
	// when it is long.
	hint    []prePack
	hintIdx map[packID]int

	packs      map[packID]*lifecycle.Pack // into the rules' results, which are not reused
	packOrder  []packID
	containers map[string]lifecycle.Container
	contOrder  []string
	batches    map[packID]*pb.Batch // key: GTIN, lot
	batchOrder []packID
	products   map[string]*pb.Product
	prodOrder  []string
	parties    map[string]*pb.Party
	partyOrder []string
	// lotPacks are the packs commissioned in the batch (GTIN, lot,
	// serial), for the lot index.
	lotPacks []lotPack

	cred *credOverlay // keys, tokens and alerts; nil until written
}

type packID struct{ a, b string }

// lotPack names a commissioned pack under its batch.
type lotPack struct{ gtin, lot, serial string }

func newOverlay(store *state.Store) *overlay {
	return &overlay{
		store:      store,
		packs:      map[packID]*lifecycle.Pack{},
		containers: map[string]lifecycle.Container{},
		batches:    map[packID]*pb.Batch{},
		products:   map[string]*pb.Product{},
		parties:    map[string]*pb.Party{},
	}
}

func (o *overlay) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

var _ lifecycle.View = (*overlay)(nil)

// Pack implements lifecycle.View.
func (o *overlay) Pack(gtin, serial string) (lifecycle.Pack, bool) {
	id := packID{gtin, serial}
	if p, ok := o.packs[id]; ok {
		return *p, true
	}
	if o.prev != nil {
		if p, ok := o.prev.packs[id]; ok {
			return *p, true
		}
	}
	if h := o.hinted(id); h != nil {
		return h.pack, h.found
	}
	p, ok, err := o.store.Pack(gtin, serial)
	if err != nil {
		o.fail(err)
	}
	return p, ok
}

// hinted returns the pack read ahead for the message being handled.
func (o *overlay) hinted(id packID) *prePack {
	if o.hintIdx != nil {
		if i, ok := o.hintIdx[id]; ok {
			return &o.hint[i]
		}
		return nil
	}
	for i := range o.hint {
		if h := &o.hint[i]; h.gtin == id.a && h.serial == id.b {
			return h
		}
	}
	return nil
}

// Container implements lifecycle.View.
func (o *overlay) Container(sscc string) (lifecycle.Container, bool) {
	if c, ok := o.containers[sscc]; ok {
		return c, true
	}
	if o.prev != nil {
		if c, ok := o.prev.containers[sscc]; ok {
			return c, true
		}
	}
	c, ok, err := o.store.Container(sscc)
	if err != nil {
		o.fail(err)
	}
	return c, ok
}

// Batch implements lifecycle.View.
func (o *overlay) Batch(gtin, lot string) (lifecycle.Batch, bool) {
	b := o.batchRecord(gtin, lot)
	if b == nil {
		return lifecycle.Batch{}, false
	}
	return convert.Batch(b), true
}

func (o *overlay) batchRecord(gtin, lot string) *pb.Batch {
	return layered(o, func(o *overlay) map[packID]*pb.Batch { return o.batches }, packID{gtin, lot},
		func(id packID) (*pb.Batch, error) { return o.store.Batch(id.a, id.b) })
}

// Product implements lifecycle.View.
func (o *overlay) Product(gtin string) (lifecycle.Product, bool) {
	p := o.product(gtin)
	if p == nil {
		return lifecycle.Product{}, false
	}
	return convert.Product(p), true
}

func (o *overlay) product(gtin string) *pb.Product {
	return layered(o, func(o *overlay) map[string]*pb.Product { return o.products }, gtin, o.store.Product)
}

// Party implements lifecycle.View.
func (o *overlay) Party(gln string) (lifecycle.Party, bool) {
	p := o.party(gln)
	if p == nil {
		return lifecycle.Party{}, false
	}
	return convert.Party(p), true
}

func (o *overlay) party(gln string) *pb.Party {
	return layered(o, func(o *overlay) map[string]*pb.Party { return o.parties }, gln, o.store.Party)
}

// layered reads the record k of one table as the batch sees it: the
// batch's own writes, then the previous batch's (not yet durable), then
// the Store; nil when it exists in none. A storage error fails the batch.
func layered[K comparable, V any](o *overlay, table func(*overlay) map[K]*V, k K, read func(K) (*V, error)) *V {
	if v, ok := table(o)[k]; ok {
		return v
	}
	if o.prev != nil {
		if v, ok := table(o.prev)[k]; ok {
			return v
		}
	}
	v, err := read(k)
	if err != nil {
		if !isNotFound(err) {
			o.fail(err)
		}
		return nil
	}
	return v
}

// put* record the batch's writes, in first-write order.

func (o *overlay) putPack(p *lifecycle.Pack) {
	id := packID{p.GTIN, p.Serial}
	if _, ok := o.packs[id]; !ok {
		o.packOrder = append(o.packOrder, id)
	}
	o.packs[id] = p
}

func (o *overlay) putContainer(c lifecycle.Container) {
	if _, ok := o.containers[c.SSCC]; !ok {
		o.contOrder = append(o.contOrder, c.SSCC)
	}
	o.containers[c.SSCC] = c
}

func (o *overlay) putBatch(b *pb.Batch) {
	id := packID{b.GetGtin(), b.GetLot()}
	if _, ok := o.batches[id]; !ok {
		o.batchOrder = append(o.batchOrder, id)
	}
	o.batches[id] = b
}

func (o *overlay) putProduct(p *pb.Product) {
	if _, ok := o.products[p.GetGtin()]; !ok {
		o.prodOrder = append(o.prodOrder, p.GetGtin())
	}
	o.products[p.GetGtin()] = p
}

func (o *overlay) putParty(p *pb.Party) {
	if _, ok := o.parties[p.GetGln()]; !ok {
		o.partyOrder = append(o.partyOrder, p.GetGln())
	}
	o.parties[p.GetGln()] = p
}

// applyResult records the rules' writes.
func (o *overlay) applyResult(r *lifecycle.Result) {
	for i := range r.PutPacks {
		o.putPack(&r.PutPacks[i])
	}
	for _, c := range r.PutContainers {
		o.putContainer(c)
	}
	for _, b := range r.PutBatches {
		cur := o.batchRecord(b.GTIN, b.Lot)
		if cur == nil {
			o.fail(fmt.Errorf("ingest: rules changed unknown batch %s/%s", b.GTIN, b.Lot))
			continue
		}
		next := cloneBatch(cur)
		next.Recalled, next.Withdrawn = b.Recalled, b.Withdrawn
		o.putBatch(next)
	}
}

// flush writes the batch's state changes into b.
func (o *overlay) flush(b *pebble.Batch) error {
	var buf []byte
	var err error
	// In key order, as writeIndexes explains.
	slices.SortFunc(o.packOrder, func(a, b packID) int { return state.ComparePacks(a.a, a.b, b.a, b.b) })
	for _, id := range o.packOrder {
		if buf, err = state.PutPack(b, o.packs[id], buf); err != nil {
			return err
		}
	}
	slices.SortFunc(o.lotPacks, func(a, b lotPack) int {
		return cmp.Or(cmp.Compare(a.gtin, b.gtin), cmp.Compare(len(a.lot), len(b.lot)), cmp.Compare(a.lot, b.lot),
			cmp.Compare(len(a.serial), len(b.serial)), cmp.Compare(a.serial, b.serial))
	})
	for _, lp := range o.lotPacks {
		if buf, err = state.PutLotPack(b, lp.gtin, lp.lot, lp.serial, buf); err != nil {
			return err
		}
	}
	for _, sscc := range o.contOrder {
		c := o.containers[sscc]
		if err := state.PutContainer(b, &c); err != nil {
			return err
		}
	}
	for _, id := range o.batchOrder {
		if err := state.PutBatch(b, o.batches[id]); err != nil {
			return err
		}
	}
	for _, gtin := range o.prodOrder {
		if err := state.PutProduct(b, o.products[gtin]); err != nil {
			return err
		}
	}
	for _, gln := range o.partyOrder {
		if err := state.PutParty(b, o.parties[gln]); err != nil {
			return err
		}
	}
	return o.flushCreds(b)
}

func cloneBatch(b *pb.Batch) *pb.Batch {
	return &pb.Batch{
		Gtin: b.GetGtin(), Lot: b.GetLot(), Expiry: b.GetExpiry(), ManufacturingDate: b.GetManufacturingDate(),
		Recalled: b.GetRecalled(), Withdrawn: b.GetWithdrawn(), Commissioned: b.GetCommissioned(),
	}
}
