package sdk

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/subjects"
)

// publishOnce publishes r and waits at most AckTimeout for its PubAck.
func (c *Client) publishOnce(ctx context.Context, r *record) (*jetstream.PubAck, error) {
	if err := c.limit.Wait(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.AckTimeout)
	defer cancel()
	msg := &nats.Msg{Subject: r.subject, Data: r.data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, r.msgID)
	return c.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(subjects.ScanStream), jetstream.WithRetryAttempts(0))
}

// forward is the forwarder. It reads the queue in order and publishes each
// record, one at a time, each only after the previous one was
// acknowledged, so that first copies reach the stream in queue order. An
// acknowledged record stays in flight, and in the queue, until its
// node-signed outcome arrives (onResult); one whose outcome is overdue is
// published again, with the same bytes and Nats-Msg-Id, before anything
// new. Every failure is retried with backoff, for ever: a record leaves
// the queue only by its verified outcome.
func (c *Client) forward() {
	defer close(c.done)
	var held *tracked // read from the queue, not yet acknowledged
	attempt := 0
	for c.life.Err() == nil {
		if !c.Connected() {
			c.pause(time.Time{})
			continue
		}
		c.everUp.Store(true)
		c.mu.Lock()
		t := c.tracks.due(time.Now())
		if t == nil && held != nil && held.outcome != nil {
			held = nil // answered before its acknowledgement came
		}
		if t == nil && held == nil && !c.tracks.room(c.cfg.MaxInFlight) {
			next := c.tracks.nextDeadline()
			c.mu.Unlock()
			c.pause(next)
			continue
		}
		c.mu.Unlock()
		if t == nil {
			if held == nil {
				r, err := c.q.read()
				if err != nil {
					attempt++
					c.log.Error("sdk: queue: cannot read the next record", "err", err)
					c.pause(time.Now().Add(c.backoff(attempt)))
					continue
				}
				var known *Outcome
				c.mu.Lock()
				if r != nil {
					held, known = c.tracks.read(r)
				}
				next := c.tracks.nextDeadline()
				c.mu.Unlock()
				if r == nil {
					attempt = 0
					c.pause(next)
					continue
				}
				if known != nil {
					c.answer(held, known)
					held = nil
					continue
				}
			}
			t = held
		}
		if err := c.publish(t); err != nil {
			if c.life.Err() != nil {
				return
			}
			attempt++
			level := slog.LevelWarn
			if !transient(err) {
				level = slog.LevelError
			}
			c.log.Log(c.life, level, "sdk: publishing a queued message failed; retrying", "msg_id", t.msgID, "attempt", attempt, "err", err)
			c.pause(time.Now().Add(c.backoff(attempt)))
			continue
		}
		attempt = 0
		if t == held {
			held = nil
		}
	}
}

// publish publishes t's record and records the acknowledgement.
func (c *Client) publish(t *tracked) error {
	c.mu.Lock()
	r, again := t.rec, t.ack != nil
	c.mu.Unlock()
	if r == nil {
		return nil // answered meanwhile
	}
	ack, err := c.publishOnce(c.life, r)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.tracks.published(t, ack, time.Now(), c.cfg.OutcomeTimeout, c.cfg.MaxOutcomeTimeout)
	c.broadcast()
	c.mu.Unlock()
	if again {
		c.log.Info("sdk: published again a message whose outcome did not come", "msg_id", t.msgID, "stream_seq", ack.Sequence, "duplicate", ack.Duplicate)
	} else {
		c.log.Debug("sdk: published", "msg_id", t.msgID, "stream_seq", ack.Sequence, "duplicate", ack.Duplicate)
	}
	return nil
}

// pause waits until the time until (the zero time: no limit), for work,
// for the connection to come back, or for Close.
func (c *Client) pause(until time.Time) {
	var timeout <-chan time.Time
	if !until.IsZero() {
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-timeout:
	case <-c.wake:
	case <-c.status:
	case <-c.life.Done():
	}
}

// backoff returns the pause before retry number attempt (from 1):
// exponential from InitialBackoff, capped at MaxBackoff, with "equal
// jitter" (half fixed, half random) so that scanners that lost the same
// server do not retry in step.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.MaxBackoff
	if attempt < 32 {
		if e := c.cfg.InitialBackoff << (attempt - 1); e > 0 && e < d {
			d = e
		}
	}
	return d/2 + rand.N(d/2+1)
}

// transient reports whether a publish error may go away by itself: the
// server or stream is unreachable, restarting or electing a leader.
func transient(err error) bool {
	for _, t := range []error{
		context.DeadlineExceeded, context.Canceled, io.EOF,
		nats.ErrNoResponders, nats.ErrTimeout, nats.ErrConnectionClosed, nats.ErrConnectionReconnecting,
		nats.ErrDisconnected, nats.ErrReconnectBufExceeded, nats.ErrNoServers, nats.ErrConnectionDraining,
		nats.ErrStaleConnection, jetstream.ErrNoStreamResponse, jetstream.ErrInvalidJSAck,
	} {
		if errors.Is(err, t) {
			return true
		}
	}
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.Code == http.StatusServiceUnavailable || api.Code == http.StatusRequestTimeout
	}
	return false
}
