package ingest

import (
	"context"
	"crypto/ed25519"
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
	"github.com/pedigree-project/pedigree/services/internal/state"
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
	// NodeKey signs the batch receipts and alert notices the pipeline
	// publishes (required).
	NodeKey ed25519.PrivateKey
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
	// StallAfter is how long the stream may hold messages past the ones
	// delivered while nothing arrives, before the consumer is deemed
	// stalled and made anew (consume_watch.go); default DefaultStallAfter.
	StallAfter time.Duration
	// GenesisKey is the only key whose genesis starts the ledger
	// (required): the node's own key, or the key of the node that started
	// the ledger this one joins. See ErrUntrustedGenesis.
	GenesisKey ed25519.PublicKey
	// CheckedEPCIS, when set, remembers the envelopes whose captured
	// EPCIS events this process already checked (the capture interface
	// checks each event as it prepares it, and remembers each envelope it
	// seals), so that applying them does not decode them again. It
	// changes no outcome.
	CheckedEPCIS *envelope.CheckedEPCIS
}

// Pipeline consumes the SCANS stream into the ledger.
type Pipeline struct {
	cfg  Config
	log  *slog.Logger
	ids  *idFilter
	keys envelope.Keys // signers' keys, decompressed for batch checks
	m    *metrics
	feed alertFanout

	// afterEvent, when set (by tests, before Run), is called after each
	// event the rules applied: a test makes it panic to check panics.go.
	afterEvent func(*lifecycle.Event)

	mu      sync.Mutex
	applied uint64        // last stream sequence committed
	changed chan struct{} // closed and replaced after every commit, and when Run fails
	stopped error         // why Run failed, until it runs again
	stall   error         // why the consumer is deemed stalled, until it delivers again
}

// New returns a pipeline; Run starts it.
func New(cfg Config) (*Pipeline, error) {
	if cfg.JS == nil || cfg.NC == nil || cfg.Store == nil || cfg.Ledger == nil || cfg.Logger == nil {
		return nil, errors.New("ingest: JS, NC, Store, Ledger and Logger are required")
	}
	if len(cfg.NodeKey) != ed25519.PrivateKeySize {
		return nil, errors.New("ingest: NodeKey: an Ed25519 private key is required")
	}
	if len(cfg.GenesisKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("ingest: GenesisKey: required, an Ed25519 public key of %d bytes, got %d", ed25519.PublicKeySize, len(cfg.GenesisKey))
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
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = DefaultStallAfter
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
		// A store from before an index gets it now, before anything else
		// writes to it.
		start := time.Now()
		built, err := cfg.Store.BuildMissingIndexes(context.Background())
		if err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		if n, ok, err := buildEPCISIndex(context.Background(), cfg.Store, cfg.Ledger); err != nil {
			return nil, err
		} else if ok {
			built = append(built, state.IndexBuild{Name: "EPCIS", Records: n})
		}
		for _, b := range built {
			cfg.Logger.Info("built an index the store lacked", "index", b.Name, "records", b.Records, "took", time.Since(start).Round(time.Millisecond))
		}
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Pipeline{cfg: cfg, log: cfg.Logger.With("component", "ingest"), ids: newIDFilter(), m: m,
		applied: applied, changed: make(chan struct{})}, nil
}

// Applied returns the last stream sequence committed to the ledger.
func (p *Pipeline) Applied() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.applied
}

// WaitApplied blocks until stream sequence seq is committed, or ctx ends,
// or Run fails (returning its error).
func (p *Pipeline) WaitApplied(ctx context.Context, seq uint64) error {
	for {
		p.mu.Lock()
		applied, ch, stopped := p.applied, p.changed, p.stopped
		p.mu.Unlock()
		if applied >= seq {
			return nil
		}
		if stopped != nil {
			return fmt.Errorf("ingest: waiting for stream sequence %d (applied %d): consumption stopped: %w", seq, applied, stopped)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("ingest: waiting for stream sequence %d (applied %d): %w", seq, applied, ctx.Err())
		}
	}
}

// setStopped records why Run failed (nil when it runs again) and wakes
// WaitApplied.
func (p *Pipeline) setStopped(err error) {
	p.update(func() { p.stopped = err })
}

func (p *Pipeline) setApplied(seq uint64) {
	p.update(func() { p.applied = seq })
}

// update runs set under the lock and wakes WaitApplied.
func (p *Pipeline) update(set func()) {
	p.mu.Lock()
	set()
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// errGap reports a message beyond the next expected stream sequence (an
// earlier one is still unacknowledged somewhere): consumption restarts
// from the next sequence the ledger needs.
var errGap = errors.New("ingest: gap in delivered stream sequences")

// errConsumerSetup reports a stream that did not answer, or a consumer
// that could not be made, before consumption started: tried again when
// consumption restarts, and at the first start when transient
// (transientSetup), fatal otherwise.
var errConsumerSetup = errors.New("ingest: consumer setup")

// errRestart reports a consumer that went away: consumption restarts,
// after checking the stream again.
var errRestart = errors.New("ingest: the consumer was deleted")

// Run consumes until ctx ends (returning nil) or the node cannot go on
// (returning the error; unacknowledged messages are redelivered after a
// restart). Every (re)start of consumption first compares the stream with
// what the ledger committed, and Run returns a *StreamError (ErrStreamBehind,
// ErrStreamDiverged) rather than consume a stream that lost or changed
// messages the ledger applied.
func (p *Pipeline) Run(ctx context.Context) (err error) {
	p.setStopped(nil)
	defer func() {
		if err != nil {
			p.setStopped(err)
		}
	}()
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
	restarting, wait := false, 100*time.Millisecond
	for {
		err := p.consume(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errConsumerSetup) && (restarting || transientSetup(err)) {
			// The stream or consumer does not answer while consumption
			// restarts, or while a cluster member that has just started
			// catches up (a cluster electing leaders): try again; the node
			// reports the consumer stalled meanwhile.
			p.setStall(fmt.Errorf("%w: %w", errStalled, err))
			p.log.Warn("consumption cannot restart yet; trying again", "err", err, "in", wait)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			wait = min(2*wait, 5*time.Second)
			continue
		}
		if !errors.Is(err, errGap) && !errors.Is(err, errRestart) && !errors.Is(err, errStalled) {
			return err
		}
		restarting, wait = true, 100*time.Millisecond
		p.log.Info("restarting consumption at the next sequence the ledger needs", "seq", p.Applied()+1)
	}
}

// transientSetup reports whether err, a failed consumer setup, is what a
// cluster answers while it elects leaders or a member catches up (no
// answer in time, no responders, JetStream unavailable): worth trying
// again. Anything else (a permission the node lacks, a stream that does
// not exist) stops the pipeline at its first start.
func transientSetup(err error) bool {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout), errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrConnectionReconnecting), errors.Is(err, nats.ErrDisconnected):
		return true
	case errors.As(err, &apiErr):
		return apiErr.Code == 503 && apiErr.ErrorCode != jetstream.JSErrCodeJetStreamNotEnabledForAccount
	}
	return false
}

// checkStream refuses a stream that is behind the ledger or differs from
// what it committed (consume_check.go).
func (p *Pipeline) checkStream(ctx context.Context) error {
	applied := p.Applied()
	n, err := checkStream(ctx, p.cfg.JS, streamLedger{lg: p.cfg.Ledger, st: p.cfg.Store}, applied)
	if err != nil {
		return err
	}
	p.log.Info("the stream holds what the ledger committed", "applied", applied, "compared", n)
	return nil
}

// CheckStream compares the stream with what the ledger committed, up to
// the applied sequence store holds, as a pipeline does before it
// consumes. It returns a *StreamError (ErrStreamBehind, ErrStreamDiverged)
// when the stream lost or changed messages the ledger applied. A node
// calls it before anyone may publish (scanners reconnecting after a power
// loss would take sequences the ledger already applied).
func CheckStream(ctx context.Context, js jetstream.JetStream, store *state.Store, lg *ledger.Log) error {
	if js == nil || store == nil || lg == nil {
		return errors.New("ingest: check stream: JetStream, store and ledger are required")
	}
	applied, err := store.AppliedSeq()
	if err != nil {
		return err
	}
	_, err = checkStream(ctx, js, streamLedger{lg: lg, st: store}, applied)
	return err
}
