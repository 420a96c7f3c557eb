package ingest

import (
	"bytes"
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/cockroachdb/pebble/v2"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/convert"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// Dead-letter message headers.
const (
	HeaderReason    = "Pedigree-Reason"
	HeaderSubject   = "Pedigree-Subject"
	HeaderStreamSeq = "Pedigree-Stream-Seq"
)

// item is one consumed message on its way through a batch.
type item struct {
	subject string
	msgID   string // the Nats-Msg-Id the sender set: where a refusal is answered
	data    []byte
	seq     uint64
	record  time.Time
	op      *envelope.Opened
	openErr error
	early   *sigCheck
	prep    prepared
	poison  string // the dead-letter reason of a message whose handling panicked (panics.go)
}

type deadLetter struct {
	it     *item
	reason string
}

// record is one ledger entry of a batch.
type record struct {
	it    *item
	entry *pb.LedgerEntry // without its envelope, which is it.data
	data  []byte          // the entry's deterministic encoding
	pub   []byte          // the same without the envelope: what a result notice carries
}

// batchWork is one consumed batch: built by the sequential pass, then
// committed (commit.go).
type batchWork struct {
	o       *overlay
	b       *pebble.Batch
	first   uint64 // ledger index of the batch's first entry
	next    uint64 // ledger index of the next entry
	recs    []record
	entries [][]byte
	leaves  []tlog.Hash // the entries' leaf hashes, as the ledger staged them
	dead    []deadLetter
	seen    map[state.EventHash]seenID // event table keys written by this batch
	prev    map[state.EventHash]seenID // those of the previous batch while it commits

	// Index keys, written into b table by table when the batch is built
	// (keys of one table go into the memtable faster together).
	seenOrder   []state.EventHash // seen's keys in first-write order
	packLogs    []packLog
	epcisEvents []state.EPCISEvent // the events recorded, for the EPCIS indexes

	slab    slab
	events  int
	dups    int
	lastSeq uint64        // stream sequence of the last message
	ack     jetstream.Msg // acknowledged (AckAll) once the batch is durable; nil in benchmarks
	durable chan struct{} // closed when the commit has ended
	done    chan struct{} // closed when the batch is published, or its commit failed
	err     error         // why the commit failed, once durable is closed
	size    int           // bytes of the committed Pebble batch

	// untrusted is the last genesis the batch refused for its key.
	untrusted *UntrustedGenesisError
}

// packLog is an entry of the pack log index.
type packLog struct {
	gtin, serial string
	index        uint64
}

// writeIndexes writes the batch's event table, pack log and EPCIS index
// keys into b.
//
// Each table's keys go in in key order: Pebble inserts a batch's keys into
// the memtable one after another, and a key next to the previous one is
// found from where that one went instead of from the top of the skiplist.
// Keys within a table are distinct, so the order changes nothing else.
func (w *batchWork) writeIndexes() error {
	slices.SortFunc(w.seenOrder, func(a, b state.EventHash) int { return bytes.Compare(a[:], b[:]) })
	slices.SortFunc(w.packLogs, func(a, b packLog) int {
		if c := state.ComparePacks(a.gtin, a.serial, b.gtin, b.serial); c != 0 {
			return c
		}
		return cmp.Compare(a.index, b.index)
	})
	for _, h := range w.seenOrder {
		s := w.seen[h]
		var digest *[32]byte
		if s.hasDigest {
			digest = &s.digest
		}
		if err := state.PutEventOf(w.b, h, s.index, digest); err != nil {
			return err
		}
	}
	for _, l := range w.packLogs {
		if err := state.PutPackLog(w.b, l.gtin, l.serial, l.index); err != nil {
			return err
		}
	}
	return state.PutEPCISEvents(w.b, w.epcisEvents)
}

// seenID is what a batch wrote into the event table under one hash.
type seenID struct {
	index     uint64   // the last entry written under it: what the DB holds after the commit
	recorded  uint64   // the entry that recorded it as an event ID, when byEvent
	byEvent   bool     // false when only a message ID (envelope.MsgID) was written under it
	digest    [32]byte // the content digest of the event recorded, when hasDigest
	hasDigest bool     // a scan event's ID (not an envelope's)
}

var deterministic = proto.MarshalOptions{Deterministic: true}

// handle turns one message into a ledger entry (or a dead letter).
func (p *Pipeline) handle(w *batchWork, it *item) {
	if it.poison != "" {
		w.dead = append(w.dead, deadLetter{it, it.poison})
		return
	}
	if it.openErr != nil {
		w.dead = append(w.dead, deadLetter{it, "decode: " + it.openErr.Error()})
		return
	}
	pr := &it.prep
	if pr.err != nil {
		w.o.fail(pr.err)
		return
	}
	ledgerEmpty := w.next == 0
	who, err := authenticate(w.o, it.op, it.subject, it.early, ledgerEmpty, p.cfg.GenesisKey)
	if ug := (*UntrustedGenesisError)(nil); errors.As(err, &ug) {
		ug.Seq = it.seq
		w.untrusted = ug
	}
	if err != nil {
		w.dead = append(w.dead, deadLetter{it, "authenticate: " + err.Error()})
		return
	}
	env := it.op.Envelope
	index := w.next
	entry := w.slab.entry()
	entry.Index, entry.AuthMethod, entry.PartyGln = index, who.method, who.party
	entry.CredentialId, entry.StreamSequence, entry.RecordTime = who.credential, it.seq, w.slab.timestamp(it.record)
	if c := env.GetCapture(); c != nil {
		if err := p.applyCapture(w, c, who, it, entry); err != nil {
			w.dead = append(w.dead, deadLetter{it, "validate: " + err.Error()})
			return
		}
		// The message ID the sender used (the envelope ID when its event
		// had no ID) also finds the entry, for writers that wait on it.
		if !pr.msgIsEvent() {
			w.put(pr.msgHash, index, false, nil)
		}
	} else {
		if env.GetBody() == nil {
			w.dead = append(w.dead, deadLetter{it, "validate: envelope.body: empty"})
			return
		}
		var out *pb.Outcome
		if prev := w.recorded(p, pr.envHash, &pr.envKnown); prev.found {
			out = &pb.Outcome{Duplicate: true, Code: pb.OutcomeCode_OUTCOME_CODE_DUPLICATE, Reason: "already recorded at ledger entry " + strconv.FormatUint(prev.index, 10)}
		} else {
			var err error
			if out, err = w.o.applyMasterData(env, who, index, it.record); err != nil {
				w.dead = append(w.dead, deadLetter{it, "validate: " + err.Error()})
				return
			}
			w.put(pr.envHash, index, true, nil)
		}
		entry.EventIds = []string{pr.envID}
		entry.Outcomes = []*pb.Outcome{out}
	}
	w.recs = append(w.recs, record{it: it, entry: entry})
	w.next++
}

// msgIsEvent reports whether the message ID is (scoped) the ID of one of
// the capture's events.
func (pr *prepared) msgIsEvent() bool {
	for i := range pr.events {
		if pr.events[i].hash == pr.msgHash {
			return true
		}
	}
	return false
}

// recorded reports whether the ID with hash h is already on the ledger
// (or recorded earlier in this batch), with the record found; pre is its
// committed record read ahead, or nil.
func (w *batchWork) recorded(p *Pipeline, h state.EventHash, pre *lookup) lookup {
	if s, ok := w.seen[h]; ok && s.byEvent {
		return lookup{index: s.recorded, found: true, digest: s.digest, hasDigest: s.hasDigest}
	}
	// A message ID written earlier in this batch is not an event recorded
	// (it is found once the batch is committed, like any ledger entry).
	if s, ok := w.prev[h]; ok {
		return lookup{index: s.index, found: true, digest: s.digest, hasDigest: s.hasDigest}
	}
	if pre == nil {
		l, err := p.committedEvent(h)
		if err != nil {
			w.o.fail(err)
		}
		pre = &l
	}
	return *pre
}

// put writes that ledger entry index holds the ID with hash h: an event
// ID the entry records (byEvent; digest is the content digest of a scan
// event, nil for an envelope), or the message ID it arrived under.
func (w *batchWork) put(h state.EventHash, index uint64, byEvent bool, digest *[32]byte) {
	s := w.seen[h]
	s.index = index
	if byEvent {
		s.recorded, s.byEvent = index, true
		if digest != nil {
			s.digest, s.hasDigest = *digest, true
		}
	}
	if _, ok := w.seen[h]; !ok {
		w.seenOrder = append(w.seenOrder, h)
	}
	w.seen[h] = s
}

func (p *Pipeline) applyCapture(w *batchWork, c *pb.Capture, who principal, it *item, entry *pb.LedgerEntry) error {
	pr := &it.prep
	if pr.actor != who.party {
		// Authentication binds the party to the envelope's partyGln, for
		// which the events were converted; this is a safety net, which
		// checks every event in full.
		pr.actor = who.party
		pr.convert(c, who.party, it.record.UnixMilli(), nil, nil)
	}
	if pr.convErr != nil {
		return pr.convErr
	}
	w.o.hint, w.o.hintIdx = pr.packs, pr.packIdx
	defer func() { w.o.hint, w.o.hintIdx = nil, nil }()
	var alertN uint32
	entry.EventIds, entry.Outcomes = w.slab.lists(len(pr.events))
	for i := range pr.events {
		e := &pr.events[i]
		entry.EventIds = append(entry.EventIds, e.ev.ID)
		var pre *lookup
		if e.looked {
			pre = &e.known
		}
		if prev := w.recorded(p, e.hash, pre); prev.found {
			if prev.hasDigest && prev.digest != e.digest {
				// The party used the ID before for another event: refused,
				// and never answered with that event's outcome.
				entry.Outcomes = append(entry.Outcomes, idConflict(e.ev.ID, prev.index))
				continue
			}
			entry.Outcomes = append(entry.Outcomes, &pb.Outcome{Duplicate: true, Code: pb.OutcomeCode_OUTCOME_CODE_DUPLICATE,
				Reason: "event already recorded at ledger entry " + strconv.FormatUint(prev.index, 10)})
			w.dups++
			continue
		}
		w.put(e.hash, entry.GetIndex(), true, &e.digest)
		w.epcisEvents = append(w.epcisEvents, state.EPCISEvent{Index: entry.GetIndex(), ID: e.ev.ID, Classes: eventClasses(&e.ev)})
		out := p.applyEvent(w, &e.ev, entry.GetIndex(), &alertN)
		if p.afterEvent != nil {
			p.afterEvent(&e.ev)
		}
		entry.Outcomes = append(entry.Outcomes, out)
		w.events++
	}
	return nil
}

// applyEvent runs the rules on one event and records the consequences.
func (p *Pipeline) applyEvent(w *batchWork, e *lifecycle.Event, index uint64, alertN *uint32) *pb.Outcome {
	var r lifecycle.Result
	switch e.Step {
	case lifecycle.StepInspecting:
		r = lifecycle.Verify(w.o, e)
	case lifecycle.StepUndoDecommission:
		// The 10-day window runs to the moment the undo reaches the
		// repository, not to a time the sender could backdate.
		e.EventTime = e.RecordTime
		r = lifecycle.Apply(w.o, e)
	default:
		r = lifecycle.Apply(w.o, e)
	}
	w.o.applyResult(&r)
	if e.Step == lifecycle.StepCommissioning && r.Applied && r.Affected > 0 {
		for i := range r.PutPacks {
			pk := &r.PutPacks[i]
			w.o.lotPacks = append(w.o.lotPacks, lotPack{pk.GTIN, pk.Lot, pk.Serial})
		}
		if b := w.o.batchRecord(e.Epcs[0].Pack.GTIN, e.ILMD.Lot); b != nil {
			next := cloneBatch(b)
			next.Commissioned += uint64(r.Affected)
			w.o.putBatch(next)
		}
	}
	if e.Type == lifecycle.TypeTransformation && r.Applied && len(e.Outputs) > 0 {
		p.transformed(w, &r)
	}
	out := convert.Outcome(w.slab.outcome(), &r, e, index, alertN)
	for _, a := range out.GetAlerts() {
		ref, _ := parseAlertID(a.GetAlertId())
		w.o.putAlert(ref, a)
		p.m.alerts.WithLabelValues(alertCode(a.GetCode())).Inc()
	}
	p.writeLogs(w, e, index, &r)
	return out
}

// transformed records what commissioning records for the outputs a
// transformation commissioned (the ACTIVE packs it wrote; its inputs are
// DESTROYED): the lot index and each batch's commissioned count.
func (p *Pipeline) transformed(w *batchWork, r *lifecycle.Result) {
	counts := map[lifecycle.BatchRef]uint64{}
	var order []lifecycle.BatchRef
	for i := range r.PutPacks {
		pk := &r.PutPacks[i]
		if pk.Status != lifecycle.StatusActive {
			continue
		}
		w.o.lotPacks = append(w.o.lotPacks, lotPack{pk.GTIN, pk.Lot, pk.Serial})
		ref := lifecycle.BatchRef{GTIN: pk.GTIN, Lot: pk.Lot}
		if counts[ref] == 0 {
			order = append(order, ref)
		}
		counts[ref]++
	}
	for _, ref := range order {
		if b := w.o.batchRecord(ref.GTIN, ref.Lot); b != nil {
			next := cloneBatch(b)
			next.Commissioned += counts[ref]
			w.o.putBatch(next)
		}
	}
}

// writeLogs indexes the entry under every object it named, and records
// container membership changes, for provenance queries.
func (p *Pipeline) writeLogs(w *batchWork, e *lifecycle.Event, index uint64, r *lifecycle.Result) {
	var err error
	for _, epc := range e.Epcs {
		if epc.IsContainer() {
			err = errors.Join(err, state.PutContainerLog(w.b, epc.SSCC, index))
		} else {
			w.packLogs = append(w.packLogs, packLog{epc.Pack.GTIN, epc.Pack.Serial, index})
		}
	}
	for _, epc := range e.Outputs {
		if !epc.IsContainer() {
			w.packLogs = append(w.packLogs, packLog{epc.Pack.GTIN, epc.Pack.Serial, index})
		}
	}
	if e.Parent != "" {
		err = errors.Join(err, state.PutContainerLog(w.b, e.Parent, index))
	}
	if e.Type == lifecycle.TypeAggregation && r.Applied {
		parent := e.Parent
		if e.Action == lifecycle.ActionDelete {
			parent = ""
		}
		for _, epc := range e.Epcs {
			obj := state.ContainerObject(epc.SSCC)
			if !epc.IsContainer() {
				obj = state.PackObject(epc.Pack.GTIN, epc.Pack.Serial)
			}
			err = errors.Join(err, state.PutMember(w.b, obj, index, parent))
		}
	}
	if err != nil {
		w.o.fail(err)
	}
}

func alertCode(c pb.AlertCode) string { return strings.TrimPrefix(c.String(), "ALERT_CODE_") }

// slab hands out the small records of a batch's entries from a few
// allocations per batch rather than several per entry.
type slab struct {
	entries  []pb.LedgerEntry
	times    []timestamppb.Timestamp
	outcomes []pb.Outcome
	ids      []string
	outs     []*pb.Outcome
}

func newSlab(entries, events int) slab {
	return slab{entries: make([]pb.LedgerEntry, entries), times: make([]timestamppb.Timestamp, entries),
		outcomes: make([]pb.Outcome, events), ids: make([]string, events), outs: make([]*pb.Outcome, events)}
}

func (s *slab) entry() *pb.LedgerEntry {
	if len(s.entries) == 0 {
		return &pb.LedgerEntry{}
	}
	e := &s.entries[0]
	s.entries = s.entries[1:]
	return e
}

func (s *slab) timestamp(t time.Time) *timestamppb.Timestamp {
	if len(s.times) == 0 {
		return timestamp(t)
	}
	ts := &s.times[0]
	s.times = s.times[1:]
	ts.Seconds, ts.Nanos = t.Unix(), int32(t.Nanosecond())
	return ts
}

func (s *slab) outcome() *pb.Outcome {
	if len(s.outcomes) == 0 {
		return &pb.Outcome{}
	}
	o := &s.outcomes[0]
	s.outcomes = s.outcomes[1:]
	return o
}

// lists returns empty lists of event IDs and outcomes with room for n.
func (s *slab) lists(n int) ([]string, []*pb.Outcome) {
	if len(s.ids) < n || len(s.outs) < n {
		return make([]string, 0, n), make([]*pb.Outcome, 0, n)
	}
	ids, outs := s.ids[:0:n], s.outs[:0:n]
	s.ids, s.outs = s.ids[n:], s.outs[n:]
	return ids, outs
}

func timestamp(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func cloneAlert(a *pb.Alert) *pb.Alert { return proto.Clone(a).(*pb.Alert) }
