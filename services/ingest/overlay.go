package ingest

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/state"
)

// overlay is the rules' view of the state during one consumed batch: the
// committed state with the batch's own writes on top, so that the events of
// a batch see each other's effects exactly as if each had been committed on
// its own. Master data (parties, products, batches) is also cached across
// batches, since it is read by almost every event and changes rarely.
type overlay struct {
	store *state.Store
	err   error // first read error; the batch is abandoned when set

	packs      map[packID]lifecycle.Pack
	packOrder  []packID
	containers map[string]lifecycle.Container
	contOrder  []string
	batches    map[packID]*pb.Batch // key: GTIN, lot
	batchOrder []packID
	products   map[string]*pb.Product
	prodOrder  []string
	parties    map[string]*pb.Party
	partyOrder []string

	cred *credOverlay // keys, tokens and alerts; nil until written

	cache *masterCache
}

type packID struct{ a, b string }

// masterCache keeps committed master data between batches. Entries are
// replaced when a batch that changed them commits.
type masterCache struct {
	products map[string]*pb.Product
	batches  map[packID]*pb.Batch
	parties  map[string]*pb.Party
}

func newMasterCache() *masterCache {
	return &masterCache{products: map[string]*pb.Product{}, batches: map[packID]*pb.Batch{}, parties: map[string]*pb.Party{}}
}

// maxCached bounds each master-data cache; past it the cache is dropped and
// refilled from Pebble.
const maxCached = 1 << 16

func newOverlay(store *state.Store, cache *masterCache) *overlay {
	return &overlay{
		store:      store,
		packs:      map[packID]lifecycle.Pack{},
		containers: map[string]lifecycle.Container{},
		batches:    map[packID]*pb.Batch{},
		products:   map[string]*pb.Product{},
		parties:    map[string]*pb.Party{},
		cache:      cache,
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
	if p, ok := o.packs[packID{gtin, serial}]; ok {
		return p, true
	}
	p, ok, err := o.store.Pack(gtin, serial)
	if err != nil {
		o.fail(err)
	}
	return p, ok
}

// Container implements lifecycle.View.
func (o *overlay) Container(sscc string) (lifecycle.Container, bool) {
	if c, ok := o.containers[sscc]; ok {
		return c, true
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
	return lifecycle.Batch{GTIN: b.GetGtin(), Lot: b.GetLot(), Expiry: b.GetExpiry(), Recalled: b.GetRecalled(), Withdrawn: b.GetWithdrawn()}, true
}

func (o *overlay) batchRecord(gtin, lot string) *pb.Batch {
	id := packID{gtin, lot}
	if b, ok := o.batches[id]; ok {
		return b
	}
	if b, ok := o.cache.batches[id]; ok {
		return b
	}
	b, err := o.store.Batch(gtin, lot)
	if err != nil {
		if !isNotFound(err) {
			o.fail(err)
		}
		return nil
	}
	o.cache.batches[id] = b
	return b
}

// Product implements lifecycle.View.
func (o *overlay) Product(gtin string) (lifecycle.Product, bool) {
	p := o.product(gtin)
	if p == nil {
		return lifecycle.Product{}, false
	}
	return lifecycle.Product{GTIN: p.GetGtin(), Manufacturer: p.GetManufacturerGln()}, true
}

func (o *overlay) product(gtin string) *pb.Product {
	if p, ok := o.products[gtin]; ok {
		return p
	}
	if p, ok := o.cache.products[gtin]; ok {
		return p
	}
	p, err := o.store.Product(gtin)
	if err != nil {
		if !isNotFound(err) {
			o.fail(err)
		}
		return nil
	}
	o.cache.products[gtin] = p
	return p
}

// Party implements lifecycle.View.
func (o *overlay) Party(gln string) (lifecycle.Party, bool) {
	p := o.party(gln)
	if p == nil {
		return lifecycle.Party{}, false
	}
	return lifecycle.Party{GLN: p.GetGln(), Role: lifecycle.Role(p.GetRole())}, true
}

func (o *overlay) party(gln string) *pb.Party {
	if p, ok := o.parties[gln]; ok {
		return p
	}
	if p, ok := o.cache.parties[gln]; ok {
		return p
	}
	p, err := o.store.Party(gln)
	if err != nil {
		if !isNotFound(err) {
			o.fail(err)
		}
		return nil
	}
	o.cache.parties[gln] = p
	return p
}

// put* record the batch's writes, in first-write order.

func (o *overlay) putPack(p lifecycle.Pack) {
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
	for _, p := range r.PutPacks {
		o.putPack(p)
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
	for _, id := range o.packOrder {
		p := o.packs[id]
		if buf, err = state.PutPack(b, &p, buf); err != nil {
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

// committed moves the batch's master data into the cache once its batch is
// durable.
func (o *overlay) committed() {
	c := o.cache
	if len(c.products) > maxCached || len(c.batches) > maxCached || len(c.parties) > maxCached {
		*c = *newMasterCache()
	}
	for _, id := range o.batchOrder {
		c.batches[id] = o.batches[id]
	}
	for _, gtin := range o.prodOrder {
		c.products[gtin] = o.products[gtin]
	}
	for _, gln := range o.partyOrder {
		c.parties[gln] = o.parties[gln]
	}
}

func cloneBatch(b *pb.Batch) *pb.Batch {
	return &pb.Batch{
		Gtin: b.GetGtin(), Lot: b.GetLot(), Expiry: b.GetExpiry(), ManufacturingDate: b.GetManufacturingDate(),
		Recalled: b.GetRecalled(), Withdrawn: b.GetWithdrawn(), Commissioned: b.GetCommissioned(),
	}
}
