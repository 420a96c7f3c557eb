package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/subjects"
)

// The consumer watchdog. A pull consumer's pull requests live on the
// consumer's leader; when a JetStream cluster elects another one (a
// member killed and restarted, its stream or consumer leader moved), the
// requests waiting there can be lost, or the consumer left delivering
// nothing, while the client still waits for messages. The pipeline does
// not count on the client library noticing: while the stream holds
// messages past the ones delivered and nothing arrives (and nothing is
// committed) for Config.StallAfter, it logs the consumer's state, counts
// the stall (pedigree_ingest_consumer_stalls_total), reports "consumer
// stalled" (Stalled, the node's readiness) and consumes again from the
// sequence after the last one the ledger committed, with the consumer
// made anew.

// DefaultStallAfter is the default of Config.StallAfter.
const DefaultStallAfter = 3 * time.Second

// errStalled reports a consumer that delivers nothing while the stream
// holds messages the ledger needs: consumption restarts.
var errStalled = errors.New("ingest: consumer stalled")

// stallWatch is the watchdog's view of one consumption: since when
// nothing was delivered or committed while the stream was ahead.
type stallWatch struct {
	since   time.Time
	applied uint64
	live    bool // a message was delivered, the stall (if any) cleared
}

// newStallWatch starts watching a consumption at now.
func (p *Pipeline) newStallWatch() stallWatch {
	return stallWatch{since: time.Now(), applied: p.Applied()}
}

// delivered records a message delivered: the consumer is live.
func (w *stallWatch) delivered(p *Pipeline) {
	w.since = time.Now()
	if !w.live {
		w.live = true
		p.setStall(nil)
	}
}

// check is called when nothing arrived for a while; expected is the next
// stream sequence the consumer should deliver. It returns an error
// wrapping errStalled when the consumer must be made anew.
func (w *stallWatch) check(ctx context.Context, p *Pipeline, expected uint64) error {
	now := time.Now()
	if applied := p.Applied(); applied != w.applied || applied+1 < expected {
		// A commit landed, or a batch is still committing: the writer,
		// not the consumer, is what we wait for.
		w.applied, w.since = applied, now
		return nil
	}
	if now.Sub(w.since) < p.cfg.StallAfter {
		return nil
	}
	s, err := p.cfg.JS.Stream(ctx, subjects.ScanStream)
	if err != nil {
		// The stream does not answer (its replicas may be electing a
		// leader): nothing to compare with yet; the node's readiness
		// reports the stream.
		p.log.Warn("consumer watchdog: stream info", "err", err)
		return nil
	}
	last := s.CachedInfo().State.LastSeq
	if last < expected {
		w.since = now // caught up: an idle stream is no stall
		p.setStall(nil)
		return nil
	}
	stall := fmt.Errorf("%w: stream at sequence %d, ledger at %d, nothing delivered for %s",
		errStalled, last, expected-1, now.Sub(w.since).Round(time.Millisecond))
	p.m.stalls.Inc()
	p.setStall(stall)
	attrs := []any{"consumer", p.cfg.Consumer, "stream_last_seq", last, "applied", expected - 1}
	if c, err := p.cfg.JS.Consumer(ctx, subjects.ScanStream, p.cfg.Consumer); err != nil {
		attrs = append(attrs, "consumer_info_err", err)
	} else {
		ci := c.CachedInfo()
		attrs = append(attrs, "num_pending", ci.NumPending, "num_ack_pending", ci.NumAckPending,
			"num_waiting", ci.NumWaiting, "delivered_stream_seq", ci.Delivered.Stream, "ack_floor_stream_seq", ci.AckFloor.Stream,
			"paused", ci.Paused)
		if ci.Cluster != nil {
			attrs = append(attrs, "consumer_leader", ci.Cluster.Leader)
		}
	}
	if si := s.CachedInfo(); si.Cluster != nil {
		attrs = append(attrs, "stream_leader", si.Cluster.Leader)
	}
	p.log.Warn("consumer stalled: making it anew", attrs...)
	return stall
}

// nextMessage waits for the next message of iter, checking for a stall
// every quarter of Config.StallAfter. nats.ErrTimeout and
// jetstream.ErrNoHeartbeat are not returned: they are the watchdog's
// business.
func (p *Pipeline) nextMessage(ctx context.Context, iter jetstream.MessagesContext, w *stallWatch, expected uint64) (jetstream.Msg, error) {
	for {
		m, err := iter.Next(jetstream.NextMaxWait(p.cfg.StallAfter / 4))
		if err == nil {
			w.delivered(p)
			return m, nil
		}
		if ctx.Err() != nil || !isIdle(err) {
			return nil, err
		}
		if err := w.check(ctx, p, expected); err != nil {
			return nil, err
		}
	}
}

// Stalled returns why the consumer is deemed stalled (it is being made
// anew), or nil.
func (p *Pipeline) Stalled() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stall
}

// setStall records the watchdog's finding (nil: not stalled).
func (p *Pipeline) setStall(err error) {
	p.mu.Lock()
	p.stall = err
	p.mu.Unlock()
}

// isIdle reports the errors of an iterator's Next that only say nothing
// arrived: its wait ended, or the client library missed the pull's
// heartbeats.
func isIdle(err error) bool {
	return errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoHeartbeat)
}
