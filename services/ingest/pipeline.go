package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
	"github.com/pedigree-project/pedigree/lifecycle"
	"github.com/pedigree-project/pedigree/services/natsbus"
	"github.com/pedigree-project/pedigree/services/state"
)

// Defaults of Config.
const (
	// DefaultConsumer is the durable consumer name of a node. Every ledger
	// node consumes the whole stream with a consumer of its own.
	DefaultConsumer = "ledger"
	// DefaultBatchSize bounds the messages of one consumed batch (one
	// Pebble commit). 1,000 amortises the fsync over enough entries to
	// reach the ingest target while keeping a batch's commit in the low
	// milliseconds.
	DefaultBatchSize = 1000
	// DefaultBatchBytes bounds the message bytes of one consumed batch, so
	// that captures of many events make batches of a few thousand events,
	// not a thousand captures' worth: the Pebble batch stays a few MiB and
	// the next batch's build overlaps its commit.
	DefaultBatchBytes = 2 << 20
	// DefaultFillWait is how long the consumer waits for more messages
	// once it has one, before committing what it has: short, so that a
	// lone dispense is not held back (its caller is waiting), and a busy
	// stream still fills batches from the prefetch buffer.
	DefaultFillWait = 500 * time.Microsecond
)

// Config configures a Pipeline.
type Config struct {
	JS     jetstream.JetStream
	NC     *nats.Conn
	Store  *state.Store
	Ledger *ledger.Log
	Logger *slog.Logger
	// Registerer receives the pipeline's metrics; nil means none.
	Registerer prometheus.Registerer
	// Consumer is the durable consumer name; default DefaultConsumer.
	Consumer string
	// BatchSize is the most messages per commit; default DefaultBatchSize.
	BatchSize int
	// BatchBytes is the most message bytes per commit (a batch has at
	// least one message); default DefaultBatchBytes.
	BatchBytes int
	// FillWait is how long to wait for more messages after the first;
	// default DefaultFillWait.
	FillWait time.Duration
}

// Pipeline consumes the SCANS stream into the ledger.
type Pipeline struct {
	cfg   Config
	log   *slog.Logger
	cache *masterCache
	ids   *idFilter
	keys  envelope.Keys // signers' keys, decompressed for batch checks
	m     *metrics

	// afterEvent, when set (by tests, before Run), is called after each
	// event the rules applied: a test makes it panic to check recover.go.
	afterEvent func(*lifecycle.Event)

	mu      sync.Mutex
	applied uint64        // last stream sequence committed
	changed chan struct{} // closed and replaced after every commit
}

// New returns a pipeline; Run starts it.
func New(cfg Config) (*Pipeline, error) {
	if cfg.JS == nil || cfg.NC == nil || cfg.Store == nil || cfg.Ledger == nil || cfg.Logger == nil {
		return nil, errors.New("ingest: JS, NC, Store, Ledger and Logger are required")
	}
	if cfg.Consumer == "" {
		cfg.Consumer = DefaultConsumer
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchBytes <= 0 {
		cfg.BatchBytes = DefaultBatchBytes
	}
	if cfg.FillWait <= 0 {
		cfg.FillWait = DefaultFillWait
	}
	applied, err := cfg.Store.AppliedSeq()
	if err != nil {
		return nil, err
	}
	if applied > 0 {
		f, err := cfg.Store.StoredEventTableFormat()
		if err != nil {
			return nil, err
		}
		if f != state.EventTableFormat {
			return nil, fmt.Errorf("%w (format %d; this node keeps format %d, with event IDs scoped to parties): replay the stream into a new data directory",
				ErrEventTableOutdated, f, state.EventTableFormat)
		}
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Pipeline{cfg: cfg, log: cfg.Logger.With("component", "ingest"), cache: newMasterCache(), ids: newIDFilter(), m: m,
		applied: applied, changed: make(chan struct{})}, nil
}

// Applied returns the last stream sequence committed to the ledger.
func (p *Pipeline) Applied() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.applied
}

// WaitApplied blocks until stream sequence seq is committed, or ctx ends.
func (p *Pipeline) WaitApplied(ctx context.Context, seq uint64) error {
	for {
		p.mu.Lock()
		applied, ch := p.applied, p.changed
		p.mu.Unlock()
		if applied >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("ingest: waiting for stream sequence %d (applied %d): %w", seq, applied, ctx.Err())
		}
	}
}

func (p *Pipeline) setApplied(seq uint64) {
	p.mu.Lock()
	p.applied = seq
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// errGap reports a message beyond the next expected stream sequence (an
// earlier one is still unacknowledged somewhere): consumption restarts
// from the next sequence the ledger needs.
var errGap = errors.New("ingest: gap in delivered stream sequences")

// Run consumes until ctx ends (returning nil) or the node cannot go on
// (returning the error; unacknowledged messages are redelivered after a
// restart).
func (p *Pipeline) Run(ctx context.Context) error {
	loadCtx, stopLoad := context.WithCancel(ctx)
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		defer func() {
			if r := recover(); r != nil { // the filter stays unready: every lookup reads Pebble
				p.log.Error("event ID filter: panic while loading", "panic", fmt.Sprint(r))
			}
		}()
		if err := p.ids.load(loadCtx, p.cfg.Store); err != nil && loadCtx.Err() == nil {
			p.log.Warn("event ID filter: every duplicate check reads the event table", "err", err)
		}
	}()
	defer func() {
		stopLoad()
		<-loaded
	}()
	for {
		err := p.consume(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, errGap) {
			return err
		}
		p.log.Info("restarting consumption at the next sequence the ledger needs", "seq", p.Applied()+1)
	}
}

// consume (re)creates the node's durable consumer so that it delivers from
// the sequence after the last one the ledger committed, whatever the
// consumer's own state says: the ledger's committed position is the truth
// (a consumer left with delivered-but-unacknowledged messages by a crash
// would otherwise deliver newer messages first).
func (p *Pipeline) consume(ctx context.Context) error {
	if err := p.checkStreamNotBehind(ctx); err != nil {
		return err
	}
	if err := p.cfg.JS.DeleteConsumer(ctx, natsbus.ScanStream, p.cfg.Consumer); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("ingest: reset consumer %s: %w", p.cfg.Consumer, err)
	}
	cons, err := p.cfg.JS.CreateOrUpdateConsumer(ctx, natsbus.ScanStream, jetstream.ConsumerConfig{
		Durable:       p.cfg.Consumer,
		Description:   "Pedigree ledger node",
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   p.Applied() + 1,
		AckPolicy:     jetstream.AckAllPolicy,
		AckWait:       time.Minute,
		MaxDeliver:    -1,
		MaxAckPending: 4 * p.cfg.BatchSize,
		FilterSubject: natsbus.ScanSubjects,
	})
	if err != nil {
		return fmt.Errorf("ingest: consumer %s: %w", p.cfg.Consumer, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(2 * p.cfg.BatchSize))
	if err != nil {
		return fmt.Errorf("ingest: consume: %w", err)
	}
	stop := context.AfterFunc(ctx, iter.Stop)
	defer stop()
	defer iter.Stop()
	wr := &writer{p: p}
	err = p.consumeSafely(ctx, iter, wr)
	if werr := wr.wait(); err == nil {
		err = werr
	}
	return err
}

// consumeSafely is consumeWith with a panic that escaped the handling of
// single messages (recover.go) caught and returned as an error: the
// pipeline stops and the node turns not ready, rather than the process
// ending with the batch in flight half done.
func (p *Pipeline) consumeSafely(ctx context.Context, iter jetstream.MessagesContext, wr *writer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e := recovered(r)
			p.log.Error("panic in the consumer", "panic", fmt.Sprint(e.value), "stack", string(e.stack))
			err = fmt.Errorf("ingest: consume: %w", e)
		}
	}()
	return p.consumeWith(ctx, iter, wr)
}

// consumeWith hands batches of consecutive messages from iter to wr.
func (p *Pipeline) consumeWith(ctx context.Context, iter jetstream.MessagesContext, wr *writer) error {
	expected := p.Applied() + 1
	msgs := make([]jetstream.Msg, 0, p.cfg.BatchSize)
	for {
		first, err := iter.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return fmt.Errorf("ingest: consumer closed: %w", err)
			}
			p.log.Warn("consume", "err", err)
			continue
		}
		msgs = append(msgs[:0], first)
		for size := len(first.Data()); len(msgs) < p.cfg.BatchSize && size < p.cfg.BatchBytes; {
			m, err := iter.Next(jetstream.NextMaxWait(p.cfg.FillWait))
			if err != nil {
				break
			}
			msgs = append(msgs, m)
			size += len(m.Data())
		}
		p.m.batchSize.Observe(float64(len(msgs)))
		items, last, gap, err := itemsOf(msgs, expected)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			// Everything was redelivered: committed, or in the batch still
			// committing, which must be durable before the ack.
			if err := wr.wait(); err != nil {
				return err
			}
			if err := last.Ack(); err != nil {
				p.log.Warn("ack", "err", err)
			}
		} else {
			if _, err := wr.submit(ctx, items, last); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			expected = items[len(items)-1].seq + 1
		}
		if gap != nil {
			return gap
		}
	}
}

// itemsOf turns consumed messages into the items of a batch: those from
// stream sequence expected on, up to a gap. last is the message to
// acknowledge once they are durable; gap is errGap when a message is
// missing before the end of msgs.
func itemsOf(msgs []jetstream.Msg, expected uint64) (items []item, last jetstream.Msg, gap, err error) {
	items = make([]item, 0, len(msgs))
	last = msgs[len(msgs)-1]
	for i, m := range msgs {
		meta, err := m.Metadata()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("ingest: message metadata: %w", err)
		}
		seq := meta.Sequence.Stream
		if seq < expected {
			continue // committed before a crash, redelivered: already on the ledger
		}
		if seq > expected {
			// The stream denies deletes, so its sequences are contiguous:
			// an earlier message is missing from this delivery.
			if i == 0 {
				return nil, nil, nil, errGap
			}
			last, gap = msgs[i-1], errGap
			break
		}
		items = append(items, item{subject: m.Subject(), data: m.Data(), seq: seq, record: meta.Timestamp.UTC()})
		expected++
	}
	return items, last, gap, nil
}

// ErrStreamBehind reports a stream whose last sequence is below what the
// ledger already applied: the stream lost acknowledged messages (a power
// loss within JetStream's fsync interval, or a stream recreated empty).
// New messages would reuse sequence numbers the ledger treats as done, so
// the node refuses to consume until an operator restores the stream.
var ErrStreamBehind = errors.New("ingest: the stream is behind the ledger")

func (p *Pipeline) checkStreamNotBehind(ctx context.Context) error {
	st, err := p.cfg.JS.Stream(ctx, natsbus.ScanStream)
	if err != nil {
		return fmt.Errorf("ingest: stream %s: %w", natsbus.ScanStream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("ingest: stream %s: %w", natsbus.ScanStream, err)
	}
	if applied := p.Applied(); info.State.LastSeq < applied {
		return fmt.Errorf("%w: stream %s ends at sequence %d, the ledger applied up to %d; restore the stream (or replay it into a new data directory) before consuming",
			ErrStreamBehind, natsbus.ScanStream, info.State.LastSeq, applied)
	}
	return nil
}
