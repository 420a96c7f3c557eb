package ingest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/natsbus"
	"github.com/pedigree-project/pedigree/services/state"
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
	data    []byte
	seq     uint64
	record  time.Time
	op      *envelope.Opened
	openErr error
	early   *sigCheck
}

// publication is what goes out on NATS once a batch is durable.
type publication struct {
	subject string
	data    []byte
}

type deadLetter struct {
	it     *item
	reason string
}

// batchWork accumulates one batch's output.
type batchWork struct {
	o       *overlay
	b       *pebble.Batch
	next    uint64 // ledger index of the next entry
	entries [][]byte
	pubs    []publication
	dead    []deadLetter
	seen    map[string]uint64 // event IDs recorded in this batch
	events  int
	dups    int
}

var deterministic = proto.MarshalOptions{Deterministic: true}

func (p *Pipeline) process(ctx context.Context, msgs []jetstream.Msg) error {
	p.m.batchSize.Observe(float64(len(msgs)))
	items := make([]item, 0, len(msgs))
	expected := p.Applied() + 1
	var gap error
	last := msgs[len(msgs)-1]
	for i, m := range msgs {
		meta, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("ingest: message metadata: %w", err)
		}
		seq := meta.Sequence.Stream
		if seq < expected {
			continue // committed before a crash, redelivered: already on the ledger
		}
		if seq > expected {
			// The stream denies deletes, so its sequences are contiguous:
			// an earlier message is missing from this delivery.
			if i == 0 {
				return errGap
			}
			last, gap = msgs[i-1], errGap
			break
		}
		it := item{subject: m.Subject(), data: m.Data(), seq: seq, record: meta.Timestamp.UTC()}
		it.op, it.openErr = envelope.Open(it.data)
		items = append(items, it)
		expected++
	}
	if len(items) == 0 {
		if err := last.Ack(); err != nil {
			p.log.Warn("ack", "err", err)
		}
		return gap
	}
	w, err := p.commitBatch(ctx, items)
	if err != nil {
		return err
	}
	if err := last.Ack(); err != nil {
		// Harmless: a redelivered message is below the applied sequence.
		p.log.Warn("ack", "seq", items[len(items)-1].seq, "err", err)
	}
	p.publish(w, items[len(items)-1].seq)
	return gap
}

// commitBatch turns items (consecutive stream messages) into ledger entries
// and state changes, stores the dead letters, and commits everything in one
// Pebble batch with Sync.
func (p *Pipeline) commitBatch(ctx context.Context, items []item) (*batchWork, error) {
	p.verifyEarly(items)
	w := &batchWork{
		o:    newOverlay(p.cfg.Store, p.cache),
		b:    p.cfg.Store.DB().NewBatch(),
		next: p.cfg.Ledger.Size(),
		seen: map[string]uint64{},
	}
	defer w.b.Close()
	for i := range items {
		p.handle(w, &items[i])
		if w.o.err != nil {
			return nil, fmt.Errorf("ingest: read state: %w", w.o.err)
		}
	}
	if err := p.storeDeadLetters(ctx, w.dead); err != nil {
		return nil, err
	}
	start := time.Now()
	pending, err := p.cfg.Ledger.Stage(w.b, w.entries)
	if err != nil {
		return nil, fmt.Errorf("ingest: stage ledger entries: %w", err)
	}
	err = w.o.flush(w.b)
	if err == nil {
		err = state.PutAppliedSeq(w.b, items[len(items)-1].seq)
	}
	if err == nil {
		err = w.b.Commit(pebble.Sync)
	}
	if err != nil {
		p.cfg.Ledger.Abort(pending)
		return nil, fmt.Errorf("ingest: commit batch: %w", err)
	}
	if err := p.cfg.Ledger.Commit(pending); err != nil {
		return nil, fmt.Errorf("ingest: ledger commit: %w", err)
	}
	p.m.commit.Observe(time.Since(start).Seconds())
	w.o.committed()
	p.m.entries.Add(float64(len(w.entries)))
	p.m.events.Add(float64(w.events))
	p.m.duplicates.Add(float64(w.dups))
	p.m.deadLetters.Add(float64(len(w.dead)))
	return w, nil
}

// publish hands a committed batch's outcomes and alerts to NATS, then
// advances the applied sequence: whoever waits for a sequence finds its
// outcome already on the connection.
func (p *Pipeline) publish(w *batchWork, lastSeq uint64) {
	for _, pub := range w.pubs {
		if err := p.cfg.NC.Publish(pub.subject, pub.data); err != nil {
			p.log.Warn("publish outcome", "subject", pub.subject, "err", err)
		}
	}
	p.setApplied(lastSeq)
}

// verifyEarly checks signatures against committed keys on all cores before
// the sequential pass; keys registered within the batch are checked there.
func (p *Pipeline) verifyEarly(items []item) {
	if len(items) < 8 {
		return
	}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(items); i += workers {
				it := &items[i]
				if it.op == nil || it.early != nil || it.op.Envelope.GetGenesis() != nil {
					continue
				}
				id, ok := parseKeyID(it.op.Signed.GetKeyId())
				if !ok {
					continue
				}
				var pub []byte
				var err error
				if strings.HasPrefix(it.op.Signed.GetSigner(), NodeSignerPrefix) {
					_, pub, err = p.cfg.Store.NodeKey(id)
				} else {
					_, pub, err = p.cfg.Store.PartyKey(id)
				}
				if err == nil {
					it.early = &sigCheck{pub: pub, ok: it.op.Verify(pub)}
				}
			}
		}()
	}
	wg.Wait()
}

// handle turns one message into a ledger entry (or a dead letter).
func (p *Pipeline) handle(w *batchWork, it *item) {
	if it.openErr != nil {
		w.dead = append(w.dead, deadLetter{it, "decode: " + it.openErr.Error()})
		return
	}
	ledgerEmpty := w.next == 0
	who, err := authenticate(w.o, it.op, it.subject, it.early, ledgerEmpty)
	if err != nil {
		w.dead = append(w.dead, deadLetter{it, "authenticate: " + err.Error()})
		return
	}
	env := it.op.Envelope
	index := w.next
	entry := &pb.LedgerEntry{
		Index: index, Envelope: it.data, AuthMethod: who.method, PartyGln: who.party,
		CredentialId: who.credential, StreamSequence: it.seq, RecordTime: timestamp(it.record),
	}
	if c := env.GetCapture(); c != nil {
		if err := p.applyCapture(w, c, who, it, entry); err != nil {
			w.dead = append(w.dead, deadLetter{it, "validate: " + err.Error()})
			return
		}
		// The message ID the sender used (the envelope ID when its event
		// had no ID) also finds the entry, for writers that wait on it.
		if id := envelope.MsgID(env, it.op.Signed.GetEnvelope()); !slices.Contains(entry.GetEventIds(), id) {
			if err := state.PutEvent(w.b, id, index); err != nil {
				w.o.fail(err)
			}
		}
	} else {
		if env.GetBody() == nil {
			w.dead = append(w.dead, deadLetter{it, "validate: envelope.body: empty"})
			return
		}
		id := envelope.ID(it.op.Signed.GetEnvelope())
		var out *pb.Outcome
		if prev, dup := w.recorded(p, id); dup {
			out = &pb.Outcome{Duplicate: true, Reason: "already recorded at ledger entry " + strconv.FormatUint(prev, 10)}
		} else {
			var err error
			if out, err = w.o.applyMasterData(env, who, index, it.record); err != nil {
				w.dead = append(w.dead, deadLetter{it, "validate: " + err.Error()})
				return
			}
			w.record(id, index)
		}
		entry.EventIds = []string{id}
		entry.Outcomes = []*pb.Outcome{out}
	}
	data, err := deterministic.Marshal(entry)
	if err != nil {
		w.o.fail(fmt.Errorf("encode ledger entry: %w", err))
		return
	}
	w.entries = append(w.entries, data)
	w.next++
	p.publishOutcome(w, it, entry)
}

// recorded reports whether id is already on the ledger (or earlier in this
// batch).
func (w *batchWork) recorded(p *Pipeline, id string) (uint64, bool) {
	if i, ok := w.seen[id]; ok {
		return i, true
	}
	i, ok, err := p.cfg.Store.EventIndex(id)
	if err != nil {
		w.o.fail(err)
	}
	return i, ok
}

// record notes that ledger entry index holds id.
func (w *batchWork) record(id string, index uint64) {
	w.seen[id] = index
	if err := state.PutEvent(w.b, id, index); err != nil {
		w.o.fail(err)
	}
}

func (p *Pipeline) applyCapture(w *batchWork, c *pb.Capture, who principal, it *item, entry *pb.LedgerEntry) error {
	n := len(c.GetEvents())
	if n == 0 || n > envelope.MaxEventsPerCapture {
		return invalid("capture.events", "1–%d events, got %d", envelope.MaxEventsPerCapture, n)
	}
	record := it.record.UnixMilli()
	events := make([]*lifecycle.Event, n)
	for i, ev := range c.GetEvents() {
		e, err := toEvent(fmt.Sprintf("capture.events[%d]", i), ev, who.party, record)
		if err != nil {
			return err
		}
		if e.ID == "" {
			if e.ID, err = envelope.EventID(ev, who.party); err != nil {
				return invalid(fmt.Sprintf("capture.events[%d]", i), "%v", err)
			}
		}
		events[i] = e
	}
	var alertN uint32
	for _, e := range events {
		entry.EventIds = append(entry.EventIds, e.ID)
		if prev, dup := w.recorded(p, e.ID); dup {
			entry.Outcomes = append(entry.Outcomes, &pb.Outcome{Duplicate: true,
				Reason: "event already recorded at ledger entry " + strconv.FormatUint(prev, 10)})
			w.dups++
			continue
		}
		w.record(e.ID, entry.GetIndex())
		out := p.applyEvent(w, e, entry.GetIndex(), &alertN)
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
		if b := w.o.batchRecord(e.Epcs[0].Pack.GTIN, e.ILMD.Lot); b != nil {
			next := cloneBatch(b)
			next.Commissioned += uint64(r.Affected)
			w.o.putBatch(next)
		}
	}
	out := outcomeOf(&r, e, index, alertN)
	for _, a := range out.GetAlerts() {
		ref, _ := parseAlertID(a.GetAlertId())
		w.o.putAlert(ref, a)
		p.m.alerts.WithLabelValues(alertCode(a.GetCode())).Inc()
	}
	p.writeLogs(w, e, index, &r)
	return out
}

// writeLogs indexes the entry under every object it named, and records
// container membership changes, for provenance queries.
func (p *Pipeline) writeLogs(w *batchWork, e *lifecycle.Event, index uint64, r *lifecycle.Result) {
	var err error
	for _, epc := range e.Epcs {
		if epc.IsContainer() {
			err = errors.Join(err, state.PutContainerLog(w.b, epc.SSCC, index))
		} else {
			err = errors.Join(err, state.PutPackLog(w.b, epc.Pack.GTIN, epc.Pack.Serial, index))
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

// publishOutcome queues the entry's outcome (for a waiting writer) and its
// alerts for publication after the commit.
func (p *Pipeline) publishOutcome(w *batchWork, it *item, entry *pb.LedgerEntry) {
	// The waiting writer has the envelope: send the entry without it.
	env := entry.Envelope
	entry.Envelope = nil
	data, err := deterministic.Marshal(entry)
	entry.Envelope = env
	if err != nil {
		w.o.fail(err)
		return
	}
	w.pubs = append(w.pubs, publication{natsbus.ResultSubject(envelope.MsgID(it.op.Envelope, it.op.Signed.GetEnvelope())), data})
	for _, out := range entry.GetOutcomes() {
		for _, a := range out.GetAlerts() {
			ad, err := deterministic.Marshal(a)
			if err != nil {
				w.o.fail(err)
				return
			}
			w.pubs = append(w.pubs, publication{natsbus.AlertSubject(alertCode(a.GetCode())), ad})
		}
	}
}

// storeDeadLetters keeps every rejected message, with its reason, in the
// DEADLETTER stream, and waits until the stream has stored each: only then
// may the batch be acknowledged.
func (p *Pipeline) storeDeadLetters(ctx context.Context, dead []deadLetter) error {
	for _, d := range dead {
		m := nats.NewMsg(natsbus.DeadLetterSubject)
		m.Data = d.it.data
		m.Header.Set(HeaderReason, d.reason)
		m.Header.Set(HeaderSubject, d.it.subject)
		m.Header.Set(HeaderStreamSeq, strconv.FormatUint(d.it.seq, 10))
		m.Header.Set(jetstream.MsgIDHeader, "deadletter:"+strconv.FormatUint(d.it.seq, 10))
		if _, err := p.cfg.JS.PublishMsg(ctx, m); err != nil {
			return fmt.Errorf("ingest: store dead letter of stream sequence %d: %w", d.it.seq, err)
		}
		p.log.Info("dead letter", "seq", d.it.seq, "subject", d.it.subject, "reason", d.reason)
	}
	return nil
}
