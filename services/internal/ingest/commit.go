package ingest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/ledger/entry"
	"github.com/pedigree-project/pedigree/lifecycle"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/subjects"
)

// writer turns consumed batches into commits, building each batch while
// the previous one commits: the CPU work of batch N+1 overlaps with the
// fsync of batch N. At most one batch is in flight, and the ledger's
// single-writer contract holds: batch N+1 is staged only after batch N's
// commit returned and its Pending was committed (both happen on the commit
// goroutine of N+1, which starts after N's has ended). Nothing of a batch
// is acknowledged or published before its commit with Sync returned.
//
// The build of batch N+1 reads state through N's writes (overlay.prev,
// batchWork.prev), so it sees exactly what it would see had N committed
// first. Only the goroutine that calls submit and wait uses a writer.
type writer struct {
	p        *Pipeline
	inflight *batchWork // committing; nil when none
	last     *batchWork // the last batch submitted, which may still be publishing
	size     int        // bytes of the last committed Pebble batch, to size the next
}

// submit builds a batch of consecutive stream messages, waits until the
// previous batch is durable, and starts committing this one. ack, when not
// nil, is the message acknowledged (AckAll) once the batch is durable. It
// returns the batch being committed; a failed commit is reported by a
// later submit or wait.
func (wr *writer) submit(ctx context.Context, items []item, ack jetstream.Msg) (*batchWork, error) {
	w, err := wr.p.build(items, wr.inflight, wr.size)
	if werr := wr.durable(); werr != nil {
		if w != nil {
			_ = w.b.Close()
		}
		return nil, werr
	}
	if err != nil {
		return nil, err
	}
	w.o.prev, w.prev = nil, nil
	w.ack = ack
	// The previous batch may still be publishing; this one publishes after
	// it, so that outcomes go out and the applied sequence advances in
	// stream order.
	prev := wr.last
	wr.inflight, wr.last = w, w
	go wr.p.commitAndPublish(ctx, w, prev)
	return w, nil
}

// durable blocks until the batch in flight, if any, is durable (or its
// commit failed), and returns its error. Once it is durable, its event IDs
// go into the filter (its master data is read from the Store, whose cache
// commitAndPublish invalidated).
func (wr *writer) durable() error {
	w := wr.inflight
	if w == nil {
		return nil
	}
	wr.inflight = nil
	<-w.durable
	if w.err != nil {
		return w.err
	}
	wr.size = w.size
	for h := range w.seen {
		wr.p.ids.add(&h)
	}
	return nil
}

// wait blocks until every submitted batch has been committed and
// published, and returns the error of the batch in flight, if any.
func (wr *writer) wait() error {
	err := wr.durable()
	if wr.last != nil {
		<-wr.last.done
		wr.last = nil
	}
	return err
}

// build runs the parallel pass and the rules over items, with prev (nil if
// none) the batch still committing, and encodes the batch's ledger
// entries and state changes into a new Pebble batch of about size bytes.
// When handling a message panics, the message is marked and the batch is
// built again from the start (panics.go); each attempt marks one more
// message, so there are at most len(items)+1.
func (p *Pipeline) build(items []item, prev *batchWork, size int) (*batchWork, error) {
	for {
		w, err := p.buildOnce(items, prev, size)
		if !errors.Is(err, errRebuild) {
			return w, err
		}
	}
}

// buildOnce is one attempt of build.
func (p *Pipeline) buildOnce(items []item, prev *batchWork, size int) (*batchWork, error) {
	w := &batchWork{
		o:       newOverlay(p.cfg.Store),
		b:       p.cfg.Store.DB().NewBatchWithSize(size + size/8),
		recs:    make([]record, 0, len(items)),
		lastSeq: items[len(items)-1].seq,
		durable: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if prev != nil {
		w.o.prev, w.prev, w.first = prev.o, prev.seen, prev.next
	} else {
		w.first = p.cfg.Ledger.Size()
	}
	w.next = w.first
	if err := p.prepare(items, w.o); err != nil {
		_ = w.b.Close()
		return nil, err
	}
	ids, packs := 0, 0
	for i := range items {
		ids += 1 + len(items[i].prep.events)
		packs += len(items[i].prep.packs)
	}
	w.seen = make(map[state.EventHash]seenID, ids)
	w.seenOrder = make([]state.EventHash, 0, ids)
	w.packLogs = make([]packLog, 0, packs)
	w.slab = newSlab(len(items), ids-len(items))
	w.o.packs = make(map[packID]*lifecycle.Pack, packs)
	w.o.packOrder = make([]packID, 0, packs)
	for i := range items {
		if err := p.handleSafely(w, &items[i]); err != nil {
			_ = w.b.Close()
			return nil, err
		}
		if w.o.err != nil {
			_ = w.b.Close()
			return nil, fmt.Errorf("ingest: read state: %w", w.o.err)
		}
	}
	err := p.encode(w)
	if errors.Is(err, errRebuild) {
		_ = w.b.Close()
		return nil, err
	}
	if err == nil {
		err = w.o.flush(w.b)
	}
	if err == nil {
		err = w.writeIndexes()
	}
	if err != nil {
		_ = w.b.Close()
		return nil, fmt.Errorf("ingest: encode batch: %w", err)
	}
	return w, nil
}

// encode serializes the batch's ledger entries, and the same without
// their envelopes for the result notices, on all cores.
func (p *Pipeline) encode(w *batchWork) error {
	w.entries = make([][]byte, len(w.recs))
	errs := make([]error, runtime.GOMAXPROCS(0))
	at := make([]int, len(errs))
	if k, pe := inRuns(len(w.recs), 32, func(k, lo, hi int) { errs[k] = w.encodeRange(lo, hi, &at[k]) }); pe != nil {
		// The record being encoded when the run panicked.
		return p.caught(w.recs[at[k]].it, pe)
	}
	return errors.Join(errs...)
}

// encodeRange encodes records [lo, hi) into one buffer, in the ledger
// entry format (package ledger/entry, docs/ledger-format.md). An entry's
// encoding is the encoding of the entry without its envelope (what a
// waiting writer receives) with the envelope field put back where the
// format places it: after the index, field 1. Each entry is checked to be
// canonical (entry.Check: it would decode and encode to the same bytes),
// a walk over its fields that costs a fraction of encoding it.
//
// *at is the record being encoded, for a panic to name.
func (w *batchWork) encodeRange(lo, hi int, at *int) error {
	var buf []byte
	for i := lo; i < hi; i++ {
		*at = i
		r := &w.recs[i]
		if need := 2*len(r.it.data) + 512; cap(buf)-len(buf) < need {
			buf = make([]byte, 0, max(need, encodeChunk))
		}
		var err error
		start := len(buf)
		if buf, err = entry.AppendBare(buf, r.entry); err != nil {
			return fmt.Errorf("ledger entry: %w", err)
		}
		r.pub = buf[start:len(buf):len(buf)]
		start = len(buf)
		if buf, err = entry.AppendSpliced(buf, r.pub, r.it.data); err != nil {
			return fmt.Errorf("ledger entry: %w", err)
		}
		r.data = buf[start:len(buf):len(buf)]
		if err := entry.Check(r.data); err != nil {
			return fmt.Errorf("ledger entry %d: %w", r.entry.GetIndex(), err)
		}
		w.entries[i] = r.data
	}
	return nil
}

// encodeChunk is the size of the buffers entries are encoded into.
const encodeChunk = 64 << 10

// commitAndPublish commits w and closes w.durable; then, once prev (nil
// if none) has published, it acknowledges w's messages, publishes its
// outcomes and alerts and advances the applied sequence, and closes
// w.done.
//
// A panic in there is caught: before w is durable, it is w's commit error
// (the pipeline stops; nothing of w was acknowledged); after, the batch is
// on the ledger and only telling about it failed, so the applied sequence
// still advances, for waiting writers to find their entries.
func (p *Pipeline) commitAndPublish(ctx context.Context, w, prev *batchWork) {
	defer close(w.done)
	durable := false
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		e := recovered(r)
		p.log.Error("panic committing or publishing a batch", "seq", w.lastSeq, "durable", durable, "panic", fmt.Sprint(e.value), "stack", string(e.stack))
		if !durable {
			p.cfg.Store.InvalidateCache() // the commit may have happened
			w.err = fmt.Errorf("ingest: commit batch up to stream sequence %d: %w", w.lastSeq, e)
			close(w.durable)
			return
		}
		if p.Applied() < w.lastSeq {
			p.setApplied(w.lastSeq)
		}
	}()
	w.err = p.commit(ctx, w)
	if o := w.o; len(o.prodOrder)+len(o.batchOrder)+len(o.partyOrder) > 0 || (o.cred != nil && len(o.cred.tokens) > 0) {
		// Before anyone may learn the batch is durable, and even if the
		// commit failed part way: the API's reads must not outlive it.
		p.cfg.Store.InvalidateCache()
	}
	w.size = w.b.Len()
	_ = w.b.Close()
	durable = true
	close(w.durable)
	if prev != nil {
		<-prev.done
	}
	if w.err != nil {
		return
	}
	if w.ack != nil {
		if err := w.ack.Ack(); err != nil {
			// Harmless: a redelivered message is below the applied sequence.
			p.log.Warn("ack", "seq", w.lastSeq, "err", err)
		}
	}
	p.publish(w)
}

// commit stores the batch's dead letters, stages its ledger entries into
// its Pebble batch with the stream sequence it reaches, and commits it with
// Sync.
func (p *Pipeline) commit(ctx context.Context, w *batchWork) error {
	if err := p.storeDeadLetters(ctx, w.dead); err != nil {
		return err
	}
	start := time.Now()
	pending, err := p.cfg.Ledger.Stage(w.b, w.entries)
	if err != nil {
		return fmt.Errorf("ingest: stage ledger entries: %w", err)
	}
	w.leaves = pending.Leaves()
	if pending.First() != w.first {
		p.cfg.Ledger.Abort(pending)
		return fmt.Errorf("ingest: internal error: batch built for ledger index %d, staged at %d", w.first, pending.First())
	}
	err = errors.Join(state.PutAppliedSeq(w.b, w.lastSeq), putDeadLetterSums(w.b, w.dead))
	if err == nil {
		err = errors.Join(state.PutEventTableFormat(w.b), state.PutIndexFormats(w.b))
	}
	if err == nil {
		err = w.b.Commit(pebble.Sync)
	}
	if err != nil {
		p.cfg.Ledger.Abort(pending)
		return fmt.Errorf("ingest: commit batch: %w", err)
	}
	if err := p.cfg.Ledger.Commit(pending); err != nil {
		return fmt.Errorf("ingest: ledger commit: %w", err)
	}
	p.m.commit.Observe(time.Since(start).Seconds())
	p.m.entries.Add(float64(len(w.entries)))
	p.m.events.Add(float64(w.events))
	p.m.duplicates.Add(float64(w.dups))
	p.m.deadLetters.Add(float64(len(w.dead)))
	return nil
}

// storeDeadLetters keeps every rejected message, with its reason, in the
// DEADLETTER stream, and waits until the stream has stored each: only then
// may the batch be acknowledged.
func (p *Pipeline) storeDeadLetters(ctx context.Context, dead []deadLetter) error {
	for _, d := range dead {
		m := nats.NewMsg(subjects.DeadLetterSubject)
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
