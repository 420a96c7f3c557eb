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

	"github.com/pedigree-project/pedigree/services/natsbus"
)

// publishOnce publishes r and waits at most AckTimeout for its PubAck.
func (c *Client) publishOnce(ctx context.Context, r *record) (*jetstream.PubAck, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.AckTimeout)
	defer cancel()
	msg := &nats.Msg{Subject: r.subject, Data: r.data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, r.msgID)
	return c.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(natsbus.ScanStream), jetstream.WithRetryAttempts(0))
}

// publishWithin publishes r, retrying transient failures with backoff
// until PublishTimeout has passed, ctx ends, the connection drops or the
// Client closes.
func (c *Client) publishWithin(ctx context.Context, r *record) (*jetstream.PubAck, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.PublishTimeout)
	defer cancel()
	defer context.AfterFunc(c.life, cancel)()
	for attempt := 1; ; attempt++ {
		ack, err := c.publishOnce(ctx, r)
		if err == nil || !transient(err) || ctx.Err() != nil || c.nc.Status() != nats.CONNECTED {
			return ack, err
		}
		t := time.NewTimer(c.backoff(attempt))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, err
		}
	}
}

// forward is the forwarder: it publishes the queue's head, waits for its
// PubAck, records the acknowledgement and moves on, one record at a time
// so that order is kept. It retries every failure with backoff, for ever:
// a queued record is only ever removed by its acknowledgement.
func (c *Client) forward() {
	defer close(c.done)
	attempt := 0
	for c.life.Err() == nil {
		r, err := c.q.peek()
		switch {
		case err != nil:
			attempt++
			c.log.Error("sdk: queue: cannot read the next record", "err", err)
			c.pause(c.backoff(attempt))
			continue
		case r == nil:
			attempt = 0
			c.pause(0)
			continue
		case c.nc.Status() != nats.CONNECTED:
			c.pause(c.cfg.MaxBackoff)
			continue
		}
		ack, err := c.publishOnce(c.life, r)
		if err != nil {
			if c.life.Err() != nil {
				return
			}
			attempt++
			level := slog.LevelWarn
			if !transient(err) {
				level = slog.LevelError
			}
			c.log.Log(c.life, level, "sdk: forwarding a queued message failed; retrying", "msg_id", r.msgID, "attempt", attempt, "err", err)
			c.pause(c.backoff(attempt))
			continue
		}
		attempt = 0
		if err := c.q.ack(r); err != nil {
			c.log.Error("sdk: queue: cannot record an acknowledgement; the message will be sent again", "msg_id", r.msgID, "err", err)
			continue
		}
		c.log.Debug("sdk: forwarded a queued message", "msg_id", r.msgID, "stream_seq", ack.Sequence, "duplicate", ack.Duplicate)
	}
}

// pause waits for d (0: no limit), for more records, for the connection to
// come back, or for Close.
func (c *Client) pause(d time.Duration) {
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
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
