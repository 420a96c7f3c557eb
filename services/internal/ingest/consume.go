package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/subjects"
)

// Consume: the node's durable consumer on SCANS, (re)created at the
// sequence after the last one the ledger committed, and the loop that
// hands batches of consecutive messages to the writer (commit.go).
//
// Why not JetStream's ordered consumer with a start sequence: it would
// restart itself, after a gap or a lost heartbeat, from the last sequence
// it DELIVERED, while the pipeline must restart from the last one the
// ledger COMMITTED (a batch dropped because the commit of the one before
// it failed was delivered but never committed), so the reset below would
// stay; and it acknowledges nothing, while here the acknowledgement
// (AckAll, after the commit with Sync) is the durable consumer's record of
// how far the ledger is durable, and MaxAckPending bounds what is
// delivered but not yet durable. The crash tests (crash_test.go,
// behind_test.go, services/node stream tests) hold with this consumer.

// consume (re)creates the node's durable consumer so that it delivers from
// the sequence after the last one the ledger committed, whatever the
// consumer's own state says: the ledger's committed position is the truth
// (a consumer left with delivered-but-unacknowledged messages by a crash
// would otherwise deliver newer messages first).
func (p *Pipeline) consume(ctx context.Context) error {
	if err := p.checkStream(ctx); err != nil {
		var se *StreamError
		if errors.As(err, &se) {
			return err
		}
		return fmt.Errorf("%w: %w", errConsumerSetup, err)
	}
	if err := p.cfg.JS.DeleteConsumer(ctx, subjects.ScanStream, p.cfg.Consumer); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("%w: reset consumer %s: %w", errConsumerSetup, p.cfg.Consumer, err)
	}
	cons, err := p.cfg.JS.CreateOrUpdateConsumer(ctx, subjects.ScanStream, jetstream.ConsumerConfig{
		Durable:       p.cfg.Consumer,
		Description:   "Pedigree ledger node",
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   p.Applied() + 1,
		AckPolicy:     jetstream.AckAllPolicy,
		AckWait:       time.Minute,
		MaxDeliver:    -1,
		MaxAckPending: 4 * p.cfg.BatchSize,
		FilterSubject: subjects.ScanSubjects,
	})
	if err != nil {
		return fmt.Errorf("%w: consumer %s: %w", errConsumerSetup, p.cfg.Consumer, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(2 * p.cfg.BatchSize))
	if err != nil {
		return fmt.Errorf("%w: consume: %w", errConsumerSetup, err)
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
// single messages (panics.go) caught and returned as an error: the
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
	watch := p.newStallWatch()
	for {
		first, err := p.nextMessage(ctx, iter, &watch, expected)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, errStalled) {
				return err
			}
			if errors.Is(err, jetstream.ErrConsumerDeleted) {
				// Its stream was deleted, or someone deleted it: start
				// again, after checking the stream.
				return fmt.Errorf("%w: %w", errRestart, err)
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
			w, err := wr.submit(ctx, items, last)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if w.untrusted != nil {
				// Stop once the dead letter is committed (errors.Is
				// ErrUntrustedGenesis).
				if err := wr.wait(); err != nil {
					return err
				}
				return fmt.Errorf("ingest: stream sequence %d: %w", w.untrusted.Seq, w.untrusted)
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
		items = append(items, item{subject: m.Subject(), msgID: m.Headers().Get(jetstream.MsgIDHeader), data: m.Data(), seq: seq, record: meta.Timestamp.UTC()})
		expected++
	}
	return items, last, gap, nil
}
