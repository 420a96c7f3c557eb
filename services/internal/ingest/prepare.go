package ingest

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/convert"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// The parallel pass. Before a batch's messages go through the rules one by
// one, everything about each message that depends only on its own content
// and on the state as of the previous batch runs on all cores: decoding,
// the signature check, converting and validating the events, hashing their
// IDs, and reading ahead the committed records the sequential pass will
// ask for (the event table, for duplicates, and the packs the events
// name). The sequential pass (apply.go) uses these results where the
// batch itself has not changed the record since, and decides everything
// itself; the outcome is the same as without the read-ahead.
//
// It runs in three steps: each message on its own (prepareItems), then the
// pack records of the whole batch in key order (readPacks), then the
// signatures of the whole batch in batches (checkSignatures), since reads
// in key order and signatures checked together each cost a fraction of
// doing them one message at a time.

// prepared is what the parallel pass found out about one message.
type prepared struct {
	err error // a read error: the batch cannot go on

	msgID   string          // the ID a waiting writer knows the message by (envelope.MsgID)
	msgHash state.EventHash // its hash in the event table

	// Non-capture envelopes: the envelope ID, its hash and its committed
	// ledger index.
	envID    string
	envHash  state.EventHash
	envKnown lookup

	// Captures: the events converted for actor (the envelope's party, which
	// authentication binds to the sender), or the first field error.
	actor   string
	events  []evPrep
	convErr error
	packs   []prePack      // committed records of the packs the events name
	packIdx map[packID]int // indexes packs when there are many

	// Storage for the common capture of one event about one object.
	oneEvent [1]evPrep
	oneEpc   [1]lifecycle.Epc
	onePack  [1]prePack
}

// evPrep is one event of a capture.
type evPrep struct {
	ev     lifecycle.Event
	hash   state.EventHash // of ev.ID scoped to the actor (envelope.ScopedEventID)
	digest [32]byte        // of the event's content (EventDigest)
	known  lookup          // committed record of ev.ID, when looked
	looked bool
}

// lookup is a read of the event table.
type lookup struct {
	index     uint64
	found     bool
	digest    [32]byte // the content digest of the event recorded, when hasDigest
	hasDigest bool
}

// prePack is a read-ahead of a pack record.
type prePack struct {
	gtin, serial string
	pack         lifecycle.Pack
	found        bool
}

// hintIndexFrom is the number of read-ahead packs from which they are
// indexed by a map rather than searched.
const hintIndexFrom = 16

// prepareChunk is how many messages a worker takes at a time.
const prepareChunk = 16

// prepare runs the parallel pass over items. o is the batch's overlay,
// before any of the batch's writes: only its view of the previous batch
// and of the committed state is read.
//
// A panic while preparing one message marks it (it becomes a dead letter);
// one while reading packs ahead is an error; one while checking a run of
// signatures in a batch leaves them to be checked one by one.
func (p *Pipeline) prepare(items []item, o *overlay) error {
	p.prepareItems(items, o)
	if err := p.readPacks(items); err != nil {
		return err
	}
	p.checkSignatures(items)
	return nil
}

// prepareItems runs prepareItem over items on all cores.
func (p *Pipeline) prepareItems(items []item, o *overlay) {
	workers := runtime.GOMAXPROCS(0)
	if len(items) < 2*prepareChunk || workers == 1 {
		for i := range items {
			p.prepareItem(&items[i], o)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				end := int(next.Add(prepareChunk))
				start := end - prepareChunk
				if start >= len(items) {
					return
				}
				for i := start; i < min(end, len(items)); i++ {
					p.prepareItem(&items[i], o)
				}
			}
		}()
	}
	wg.Wait()
}

func (p *Pipeline) prepareItem(it *item, o *overlay) {
	if it.poison != "" {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			if e := recovered(r); e.storage {
				it.prep.err = e // a read error: the batch cannot go on
			} else {
				p.poisoned(it, e)
			}
		}
	}()
	if it.op == nil && it.openErr == nil {
		it.op, it.openErr = envelope.Open(it.data)
	}
	if it.openErr != nil {
		return
	}
	pr := &it.prep
	env, body := it.op.Envelope, it.op.Signed.GetEnvelope()
	p.verifyEarly(it, o)
	c := env.GetCapture()
	if c == nil {
		pr.envID = envelope.ID(body)
		pr.msgID = pr.envID
		pr.envHash = state.HashEventID(pr.envID)
		pr.msgHash = pr.envHash
		pr.envKnown, pr.err = p.committedEvent(pr.envHash)
		return
	}
	digest := envelope.Digest(body)
	pr.msgID = envelope.MsgIDOfDigest(env, digest)
	pr.msgHash = state.HashEventID(pr.msgID)
	pr.actor = env.GetPartyGln()
	check, raw := p.epcisCheck(body, digest)
	if pr.convert(c, pr.actor, it.record.UnixMilli(), check, raw); pr.convErr != nil {
		return
	}
	n := 0
	for i := range pr.events {
		e := &pr.events[i]
		if e.known, pr.err = p.committedEvent(e.hash); pr.err != nil {
			return
		}
		e.looked = true
		n += len(e.ev.Epcs)
	}
	pr.packs = pr.onePack[:0]
	if n > len(pr.onePack) {
		pr.packs = make([]prePack, 0, n)
	}
	for i := range pr.events {
		for _, epc := range pr.events[i].ev.Epcs {
			if !epc.IsContainer() {
				pr.packs = append(pr.packs, prePack{gtin: epc.Pack.GTIN, serial: epc.Pack.Serial}) // read by readPacks
			}
		}
	}
	if len(pr.packs) >= hintIndexFrom {
		pr.packIdx = make(map[packID]int, len(pr.packs))
		for i, h := range pr.packs {
			pr.packIdx[packID{h.gtin, h.serial}] = i
		}
	}
}

// verifyEarly finds the signer's key as of the previous batch, for
// checkSignatures. Genesis and keys registered within the batch are
// checked in the sequential pass.
func (p *Pipeline) verifyEarly(it *item, o *overlay) {
	if it.early != nil || it.op.Envelope.GetGenesis() != nil {
		return
	}
	id, ok := convert.ParseID(it.op.Signed.GetKeyId())
	if !ok {
		return
	}
	k, found, err := o.committedKey(strings.HasPrefix(it.op.Signed.GetSigner(), NodeSignerPrefix), id)
	if err == nil && found {
		it.early = &sigCheck{pub: k.pub, pending: true}
	}
}

// packReadMin is the fewest pack records a worker reads ahead.
const packReadMin = 64

// readPacks reads the committed records of the packs the batch's events
// name (prepared.packs) in key order, one contiguous run of keys and one
// iterator per core (state.PackReader). A read error is the error of the
// message that asked for the record.
func (p *Pipeline) readPacks(items []item) error {
	type want struct {
		pr *prepared
		pk *prePack
	}
	var wants []want
	for i := range items {
		if pr := &items[i].prep; items[i].openErr == nil && pr.err == nil {
			for j := range pr.packs {
				wants = append(wants, want{pr, &pr.packs[j]})
			}
		}
	}
	if len(wants) == 0 {
		return nil
	}
	slices.SortFunc(wants, func(a, b want) int { return state.ComparePacks(a.pk.gtin, a.pk.serial, b.pk.gtin, b.pk.serial) })
	failed := make([]error, runtime.GOMAXPROCS(0))
	at := make([]*prepared, len(failed))
	_, pe := inRuns(len(wants), packReadMin, func(k, lo, hi int) {
		r, err := p.cfg.Store.NewPackReader()
		if err != nil {
			failed[k], at[k] = err, wants[lo].pr
			return
		}
		defer r.Close()
		for _, w := range wants[lo:hi] {
			if w.pk.pack, w.pk.found, err = r.Pack(w.pk.gtin, w.pk.serial); err != nil {
				failed[k], at[k] = err, w.pr
				return
			}
		}
	})
	if pe != nil {
		p.log.Error("panic reading packs ahead", "panic", fmt.Sprint(pe.value), "stack", string(pe.stack))
		return pe
	}
	for k, err := range failed {
		if err != nil && at[k].err == nil {
			at[k].err = err
		}
	}
	return nil
}

// inRuns calls fn(k, lo, hi) for contiguous runs [lo, hi) that cover
// [0, n), one run per core (k is the run's number, below GOMAXPROCS) but
// none shorter than minRun unless there is only one, concurrently, and
// returns when all have. A panic in a run is caught: inRuns returns the
// panic of the lowest-numbered run that panicked, and that run's number.
func inRuns(n, minRun int, fn func(k, lo, hi int)) (int, *panicError) {
	workers := max(1, min(runtime.GOMAXPROCS(0), n/minRun))
	panics := make([]*panicError, workers)
	var wg sync.WaitGroup
	for k := range workers {
		wg.Go(func() {
			defer func() {
				if r := recover(); r != nil {
					panics[k] = recovered(r)
				}
			}()
			fn(k, k*n/workers, (k+1)*n/workers)
		})
	}
	wg.Wait()
	for k, pe := range panics {
		if pe != nil {
			return k, pe
		}
	}
	return 0, nil
}

// sigBatchMin is the fewest signatures a worker checks as one batch: the
// saving per signature grows with the batch (BENCHMARKS.md), so the work
// is split over the cores only in batches at least this large.
const sigBatchMin = 64

// checkSignatures checks the signatures whose keys the parallel pass
// found, in batches (envelope.Batch), one contiguous run of items per
// core. Signatures of a run that panicked are left to the sequential
// pass, which checks them one by one.
func (p *Pipeline) checkSignatures(items []item) {
	keys := &p.keys
	var todo []int
	for i := range items {
		if e := items[i].early; e != nil && e.pending {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return
	}
	_, pe := inRuns(len(todo), sigBatchMin, func(_, lo, hi int) {
		b := envelope.NewBatch(hi - lo)
		for _, i := range todo[lo:hi] {
			b.Add(items[i].op, items[i].early.pub, keys)
		}
		for j, ok := range b.Verify() {
			e := items[todo[lo+j]].early
			e.ok, e.pending = ok, false
		}
	})
	if pe != nil {
		p.log.Warn("panic in a batch signature check: checking those signatures one by one", "panic", fmt.Sprint(pe.value))
		for _, i := range todo {
			if items[i].early.pending {
				items[i].early = nil
			}
		}
	}
}

// committedEvent looks h up in the event table as of the previous batch.
func (p *Pipeline) committedEvent(h state.EventHash) (lookup, error) {
	if p.ids.absent(&h) {
		return lookup{}, nil
	}
	r, ok, err := p.cfg.Store.EventRecordOf(h)
	return lookup{index: r.Index, found: ok, digest: r.Digest, hasDigest: r.HasDigest}, err
}

// epcisCheck is the check of the captured EPCIS events of the envelope
// with bytes body (of envelope.Digest digest), made for the envelope's
// party: none when this node checked them before publishing it
// (CheckedEPCIS), in full otherwise (nil). For an envelope this node
// made, raw holds its events' deterministic encodings (capturedEvents),
// from which their digests are taken.
func (p *Pipeline) epcisCheck(body []byte, digest [32]byte) (check convert.EPCISCheck, raw [][]byte) {
	if p.cfg.CheckedEPCIS.Checked(digest) {
		raw, _ = capturedEvents(body)
		return checkedBefore, raw
	}
	return nil, nil
}

// checkedBefore is the check of an event CheckedEPCIS knows as checked.
func checkedBefore(*pb.ScanEvent, string) error { return nil }

// convert validates and converts the events of a capture submitted by
// actor, computing the event IDs the sender left out, into pr.events, or
// sets pr.convErr; check checks the captured EPCIS events (nil:
// envelope.CheckEPCISIn with the capture's epcis_head). raw, when it
// holds an encoding per event, holds their deterministic encodings, of
// which their digests are taken.
func (pr *prepared) convert(c *pb.Capture, actor string, record int64, check convert.EPCISCheck, raw [][]byte) {
	head := c.GetEpcisHead()
	if check == nil {
		check = checkIn(head)
	}
	pr.events, pr.convErr, pr.packs, pr.packIdx = nil, nil, nil, nil
	if err := CheckCapture(c); err != nil {
		pr.convErr = err
		return
	}
	n := len(c.GetEvents())
	events := pr.oneEvent[:]
	if n > 1 {
		events = make([]evPrep, n)
	}
	for i, ev := range c.GetEvents() {
		e := &events[i]
		*e = evPrep{}
		var epcs []lifecycle.Epc
		if n == 1 {
			epcs = pr.oneEpc[:]
		}
		if err := convert.EventChecked(i, &e.ev, epcs, ev, actor, record, check); err != nil {
			pr.convErr = err
			return
		}
		if e.ev.ID == "" {
			var err error
			if e.ev.ID, err = envelope.EventID(ev, actor); err != nil {
				pr.convErr = convert.Invalid(fmt.Sprintf("capture.events[%d]", i), "%v", err)
				return
			}
		}
		e.hash = state.HashEventID(envelope.ScopedEventID(actor, e.ev.ID))
		var err error
		if len(raw) == n {
			e.digest, err = eventDigestOf(raw[i], head)
		} else {
			e.digest, err = EventDigestIn(head, ev)
		}
		if err != nil {
			pr.convErr = convert.Invalid(fmt.Sprintf("capture.events[%d]", i), "%v", err)
			return
		}
	}
	pr.events = events
}
