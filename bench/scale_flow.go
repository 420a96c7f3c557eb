package bench

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/gs1"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/sdk"
	"github.com/pedigree-project/pedigree/subjects"
)

// The market a scale run grows, per pallet of palletPacks packs: the
// manufacturer commissions them (CommissionSerials), packs them onto a
// pallet (one aggregation event) and ships the pallet to the wholesaler
// (one event: the packs follow by inference); the wholesaler receives the
// pallet, unpacks it, and ships the packs to the pharmacies in orders of
// orderPacks; each pharmacy receives its orders, verifies every pack and
// dispenses all but one in shelfEvery, which stay on the shelf (active,
// in the pharmacy's custody) for the step's verify and dispense figures.
const (
	palletPacks = 100
	orderPacks  = 10
	shelfEvery  = 5
	// lotPacks packs make a lot (a batch registered on its own): the
	// batch trace of a step reads a lot of this size, whatever the node
	// holds.
	lotPacks = 50_000
	// blockPacks is how many packs are grown at once: commissioned,
	// then their captures signed and published, party by party. It
	// bounds the envelopes held in memory.
	blockPacks = 50_000
	// captureObjects bounds the objects (EPCs) in one capture, with
	// CaptureSize bounding its events.
	captureObjects = 1000
)

// EventsPerPallet is how many EPCIS events one pallet of the market
// costs: a commissioning event per pack, pack and ship, receive and
// unpack, an order shipped and received per orderPacks packs, a
// verification per pack and a dispense for all but the shelf's.
const EventsPerPallet = palletPacks + 2 + 2 + 2*palletPacks/orderPacks + palletPacks + palletPacks - palletPacks/shelfEvery

// PackEventsPerPallet counts the same one per pack an event names
// (directly or as a pallet's content).
const PackEventsPerPallet = 7*palletPacks + 2*palletPacks - palletPacks/shelfEvery

// market is a scale run's parties beyond the world's: the manufacturer's
// and a wholesaler's signing keys, and the lots registered so far.
type market struct {
	*world
	mfrKey  ed25519.PrivateKey
	whGLN   string
	whToken string
	whKey   ed25519.PrivateKey
	lotsMu  sync.RWMutex // a soak registers lots while others read them
	lots    []string
}

// newMarket registers a wholesaler with a key and a key for the world's
// manufacturer.
func newMarket(ctx context.Context, conn *grpc.ClientConn, w *world, adminToken string) (*market, error) {
	m := &market{world: w}
	reg := pb.NewRegistryServiceClient(conn)
	admin := withToken(ctx, adminToken)
	pub, priv, err := envelope.GenerateKey()
	if err != nil {
		return nil, err
	}
	if _, err := reg.AddPartyKey(admin, &pb.AddPartyKeyRequest{Gln: w.mfrGLN, PublicKey: pub}); err != nil {
		return nil, fmt.Errorf("bench: the manufacturer's key: %w", err)
	}
	m.mfrKey = priv
	if m.whGLN, err = demoKey("", 13); err != nil {
		return nil, err
	}
	pub, priv, err = envelope.GenerateKey()
	if err != nil {
		return nil, err
	}
	resp, err := reg.CreateParty(admin, &pb.CreatePartyRequest{Party: &pb.Party{
		Gln: m.whGLN, Name: "Bench wholesaler " + w.run, Role: pb.Role_ROLE_WHOLESALER, PublicKeys: [][]byte{pub}}})
	if err != nil {
		return nil, fmt.Errorf("bench: register the wholesaler: %w", err)
	}
	m.whToken, m.whKey = resp.GetToken(), priv
	m.lots = []string{w.lot}
	return m, nil
}

// lotOf returns the lot of pack i.
func (m *market) lotOf(i int) string {
	m.lotsMu.RLock()
	defer m.lotsMu.RUnlock()
	return m.lots[i/lotPacks]
}

// lotCount returns how many lots are registered.
func (m *market) lotCount() int {
	m.lotsMu.RLock()
	defer m.lotsMu.RUnlock()
	return len(m.lots)
}

// ensureLots registers the batches packs up to n belong to.
func (m *market) ensureLots(ctx context.Context, conn *grpc.ClientConn, n int) error {
	reg := pb.NewRegistryServiceClient(conn)
	mctx := withToken(ctx, m.mfrToken)
	for m.lotCount()*lotPacks < n {
		lot := fmt.Sprintf("%s-%d", m.lot, m.lotCount())
		if _, err := reg.CreateBatch(mctx, &pb.CreateBatchRequest{Gtin: m.gtin, Batch: &pb.Batch{Lot: lot, Expiry: m.expiry}}); err != nil {
			return fmt.Errorf("bench: register lot %s: %w", lot, err)
		}
		m.lotsMu.Lock()
		m.lots = append(m.lots, lot)
		m.lotsMu.Unlock()
	}
	return nil
}

// epc returns pack i.
func (m *market) epc(i int) *pb.Epc { return sdk.PackOf(m.gtin, m.serial(i), m.lotOf(i), m.expiry) }

// packBarcode returns pack i's DataMatrix element string.
func (m *market) packBarcode(i int) string {
	return "]d201" + m.gtin + "17" + m.expiry + "10" + m.lotOf(i) + "\x1d21" + m.serial(i)
}

// sscc returns the SSCC of pallet p.
func (m *market) sscc(p int) string {
	body := fmt.Sprintf("0952%s%07d", m.run, p)
	return body + string(gs1.CheckDigit(body))
}

// onShelf reports whether pack i stays on its pharmacy's shelf.
func onShelf(i int) bool { return i%shelfEvery == 0 }

// pharmacyOf returns the pharmacy pack i is shipped to.
func pharmacyOf(i int) int { return (i / orderPacks) % pharmacies }

// commissionRange commissions packs [from, to) in requests of
// CommissionChunk that do not cross a lot, two at a time.
func (m *market) commissionRange(ctx context.Context, conn *grpc.ClientConn, from, to int) error {
	if err := m.ensureLots(ctx, conn, to); err != nil {
		return err
	}
	reg := pb.NewRegistryServiceClient(conn)
	mctx := withToken(ctx, m.mfrToken)
	var chunks []packRange
	for at := from; at < to; {
		end := min(to, at+CommissionChunk, (at/lotPacks+1)*lotPacks)
		chunks = append(chunks, packRange{at, end})
		at = end
	}
	errs := make([]error, len(chunks))
	var wg sync.WaitGroup
	sem := make(chan struct{}, commissionInFlight)
	for k, r := range chunks {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			serials := make([]string, 0, r.len())
			for i := r.from; i < r.to; i++ {
				serials = append(serials, m.serial(i))
			}
			resp, err := reg.CommissionSerials(mctx, &pb.CommissionSerialsRequest{Gtin: m.gtin, Lot: m.lotOf(r.from), Serials: serials})
			if err == nil && resp.GetCommissioned() != uint64(r.len()) {
				err = fmt.Errorf("%d of %d serials commissioned", resp.GetCommissioned(), r.len())
			}
			if err != nil {
				errs[k] = fmt.Errorf("bench: commission serials %d–%d: %w", r.from, r.to-1, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// partyEvents are one party's events of a block, in order.
type partyEvents struct {
	gln    string
	key    ed25519.PrivateKey
	events []*pb.ScanEvent
}

// blockEvents builds the events of pallets [p0, p1) party by party, in
// the three waves that must reach the stream in order: the manufacturer's,
// the wholesaler's, the pharmacies'.
func (m *market) blockEvents(p0, p1 int) ([3][]partyEvents, error) {
	var waves [3][]partyEvents
	now := time.Now()
	at := func() time.Time { return now }
	mb, err := sdk.NewBuilder(m.mfrGLN, "", at)
	if err != nil {
		return waves, err
	}
	wb, err := sdk.NewBuilder(m.whGLN, "", at)
	if err != nil {
		return waves, err
	}
	var pbs [pharmacies]*sdk.Builder
	for k := range pbs {
		if pbs[k], err = sdk.NewBuilder(m.pharm[k].gln, "", at); err != nil {
			return waves, err
		}
	}
	mfr := partyEvents{gln: m.mfrGLN, key: m.mfrKey}
	var ships []*pb.ScanEvent
	wh := partyEvents{gln: m.whGLN, key: m.whKey}
	var whShips []*pb.ScanEvent
	var ph [pharmacies]partyEvents
	for k := range ph {
		ph[k] = partyEvents{gln: m.pharm[k].gln, key: m.pharm[k].key}
	}
	add := func(dst *[]*pb.ScanEvent, ev *pb.ScanEvent, err error) error {
		if err != nil {
			return fmt.Errorf("bench: market event: %w", err)
		}
		*dst = append(*dst, ev)
		return nil
	}
	for p := p0; p < p1; p++ {
		sscc := m.sscc(p)
		packs := make([]*pb.Epc, palletPacks)
		for j := range packs {
			packs[j] = m.epc(p*palletPacks + j)
		}
		pallet := sdk.ContainerOf(sscc)
		ev, err := mb.Pack(sscc, packs...)
		if err := add(&mfr.events, ev, err); err != nil {
			return waves, err
		}
		ev, err = mb.Ship(m.whGLN, pallet)
		if err := add(&ships, ev, err); err != nil {
			return waves, err
		}
		ev, err = wb.Receive(pallet)
		if err := add(&wh.events, ev, err); err != nil {
			return waves, err
		}
		ev, err = wb.Unpack(sscc, packs...)
		if err := add(&wh.events, ev, err); err != nil {
			return waves, err
		}
		for o := 0; o < palletPacks; o += orderPacks {
			first := p*palletPacks + o
			k := pharmacyOf(first)
			order := packs[o : o+orderPacks]
			ev, err = wb.Ship(m.pharm[k].gln, order...)
			if err := add(&whShips, ev, err); err != nil {
				return waves, err
			}
			ev, err = pbs[k].Receive(order...)
			if err := add(&ph[k].events, ev, err); err != nil {
				return waves, err
			}
			for j, pk := range order {
				ev, err = pbs[k].Verify(pk)
				if err := add(&ph[k].events, ev, err); err != nil {
					return waves, err
				}
				if !onShelf(first + j) {
					ev, err = pbs[k].Dispense(pk)
					if err := add(&ph[k].events, ev, err); err != nil {
						return waves, err
					}
				}
			}
		}
	}
	// Every pallet is packed before any is shipped, every pallet received
	// and unpacked before any order goes out: a party's captures are
	// applied in the order it published them.
	mfr.events = append(mfr.events, ships...)
	wh.events = append(wh.events, whShips...)
	waves[0] = []partyEvents{mfr}
	waves[1] = []partyEvents{wh}
	waves[2] = ph[:]
	return waves, nil
}

// seal signs a wave's events into captures of at most CaptureSize events
// and captureObjects objects, on every core.
func seal(ctx context.Context, wave []partyEvents) ([]message, error) {
	type job struct {
		p      partyEvents
		events []*pb.ScanEvent
	}
	var jobs []job
	for _, p := range wave {
		var cur []*pb.ScanEvent
		objs := 0
		for _, ev := range p.events {
			n := len(ev.GetEpcs())
			if len(cur) > 0 && (len(cur) == CaptureSize || objs+n > captureObjects) {
				jobs = append(jobs, job{p, cur})
				cur, objs = nil, 0
			}
			cur = append(cur, ev)
			objs += n
		}
		if len(cur) > 0 {
			jobs = append(jobs, job{p, cur})
		}
	}
	// Interleave the parties' captures, as their scanners would publish.
	out := make([]message, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for k := range workers {
		wg.Go(func() {
			for i := k; i < len(jobs) && ctx.Err() == nil; i += workers {
				out[i], errs[i] = sealCapture(jobs[i].p.gln, jobs[i].p.key, jobs[i].events)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, ctx.Err()
}

// sealCapture signs events as one capture of party gln.
func sealCapture(gln string, key ed25519.PrivateKey, events []*pb.ScanEvent) (message, error) {
	for _, ev := range events {
		var err error
		if ev.EventId, err = envelope.EventID(ev, gln); err != nil {
			return message{}, fmt.Errorf("bench: event ID: %w", err)
		}
	}
	env := &pb.Envelope{PartyGln: gln, Body: &pb.Envelope_Capture{Capture: &pb.Capture{Events: events}}}
	body, err := envelope.Marshal(env)
	if err != nil {
		return message{}, err
	}
	wire, err := envelope.Seal(env, gln, key)
	if err != nil {
		return message{}, err
	}
	return message{party: gln, subject: subjects.ScanSubject(gln), msgID: envelope.MsgID(env, body), data: wire, events: len(events)}, nil
}

// connectParties adds the manufacturer's and the wholesaler's NATS
// connections, each logged in with its key, to the bus.
func (m *market) connectParties(url string, b *bus) error {
	for _, p := range []struct {
		gln string
		key ed25519.PrivateKey
	}{{m.mfrGLN, m.mfrKey}, {m.whGLN, m.whKey}} {
		auth, wipe, err := sdk.AuthOptions(p.gln, p.key)
		if err != nil {
			return err
		}
		b.wipe = append(b.wipe, wipe)
		nc, err := nats.Connect(url, append([]nats.Option{nats.Name("pedigree bench " + p.gln)}, auth...)...)
		if err != nil {
			return fmt.Errorf("bench: NATS %s as %s: %w", url, p.gln, err)
		}
		b.party[p.gln] = nc
	}
	return nil
}
