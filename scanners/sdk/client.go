package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/natsbus"
)

// Errors a Client returns.
var (
	// ErrClosed is returned by a Client's methods after Close.
	ErrClosed = errors.New("sdk: client closed")
	// ErrQueueLocked is returned by New when another Client, in this
	// process or another, uses the queue directory.
	ErrQueueLocked = errors.New("sdk: queue directory is in use by another client")
)

// Status says what became of events given to Send.
type Status int

// The outcomes of Send.
const (
	// Published: JetStream acknowledged the events.
	Published Status = iota + 1
	// Queued: the events are fsynced to the local queue and the forwarder
	// will publish them, in order, when NATS is reachable.
	Queued
)

// String returns "published" or "queued".
func (s Status) String() string {
	switch s {
	case Published:
		return "published"
	case Queued:
		return "queued"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Receipt is the outcome of one Send.
type Receipt struct {
	// Status is Published or Queued.
	Status Status
	// MsgID is the Nats-Msg-Id of the message (envelope.MsgID): the event
	// ID of a single event scoped to the party, otherwise the envelope ID.
	MsgID string
	// EventIDs are the IDs of the events sent, in order.
	EventIDs []string
	// Sequence is the message's sequence in the SCANS stream (Published
	// only).
	Sequence uint64
	// Duplicate is set when JetStream already held a message with this
	// MsgID, within its duplicate window (Published only).
	Duplicate bool
}

// Client publishes signed scan events to NATS JetStream, and keeps them in
// a durable local queue while NATS cannot be reached. It is safe for
// concurrent use; see the package documentation for its guarantees.
type Client struct {
	cfg     Config
	log     *slog.Logger
	builder *Builder
	subject string
	nc      *nats.Conn
	ownConn bool
	js      jetstream.JetStream
	q       *queue

	sendMu sync.Mutex // orders Send: held from the queue check to publish or append
	closed bool       // guarded by sendMu

	life      context.Context // ends at Close
	stop      context.CancelFunc
	wake      chan struct{}    // tells the forwarder that the queue grew
	status    chan nats.Status // CONNECTED transitions
	done      chan struct{}    // closed when the forwarder has stopped
	closeOnce sync.Once
	closeErr  error
}

// New opens the queue in cfg.QueueDir, connects to NATS (or uses cfg.Conn)
// and starts the forwarder, which at once publishes what an earlier Client
// left queued. New does not wait for NATS to be reachable. ctx bounds only
// the construction.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b, err := NewBuilder(cfg.PartyGLN, cfg.ReadPoint, cfg.Now)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger.With("party", cfg.PartyGLN)
	q, err := openQueue(cfg.QueueDir, cfg.SegmentSize, log)
	if err != nil {
		return nil, err
	}
	nc, own := cfg.Conn, false
	if nc == nil {
		if nc, err = cfg.connect(log); err != nil {
			q.close()
			return nil, err
		}
		own = true
	}
	js, err := jetstream.New(nc)
	if err != nil {
		q.close()
		if own {
			nc.Close()
		}
		return nil, fmt.Errorf("sdk: jetstream: %w", err)
	}
	life, stop := context.WithCancel(context.Background())
	c := &Client{
		cfg: cfg, log: log, builder: b, subject: natsbus.ScanSubject(cfg.PartyGLN),
		nc: nc, ownConn: own, js: js, q: q,
		life: life, stop: stop,
		wake: make(chan struct{}, 1), status: nc.StatusChanged(nats.CONNECTED), done: make(chan struct{}),
	}
	go c.forward()
	return c, nil
}

// Builder returns the Builder for the client's party, read point and clock.
func (c *Client) Builder() *Builder { return c.builder }

// Send signs events as one capture (1 to envelope.MaxEventsPerCapture
// events, applied in this order) and publishes it on the party's scan
// subject, waiting for JetStream's acknowledgement. It sets the event ID of
// every event that has none (the CBV 2.0 event hash).
//
// When the queue holds earlier events, when NATS is not connected, or when
// publishing fails with a transient error for Config.PublishTimeout (or
// until ctx ends), Send appends the capture to the queue instead and
// returns Queued once it is fsynced. Other failures (an invalid event, a
// message that is too large, a JetStream refusal) are returned as errors
// and nothing is queued. A duplicate acknowledgement is success.
func (c *Client) Send(ctx context.Context, events ...*pb.ScanEvent) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, err
	}
	rec, ids, err := c.seal(events)
	if err != nil {
		return Receipt{}, err
	}
	rc := Receipt{MsgID: rec.msgID, EventIDs: ids}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.closed {
		return Receipt{}, ErrClosed
	}
	if msgs, _, _ := c.q.state(); msgs == 0 && c.nc.Status() == nats.CONNECTED {
		ack, err := c.publishWithin(ctx, rec)
		if err == nil {
			rc.Status, rc.Sequence, rc.Duplicate = Published, ack.Sequence, ack.Duplicate
			return rc, nil
		}
		if !transient(err) {
			return Receipt{}, fmt.Errorf("sdk: publish: %w", err)
		}
		c.log.Info("sdk: publish failed, queueing", "msg_id", rec.msgID, "err", err)
	}
	if err := c.q.append(rec); err != nil {
		return Receipt{}, err
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
	rc.Status = Queued
	return rc, nil
}

// seal fills in event IDs, signs the capture and returns it as a record.
func (c *Client) seal(events []*pb.ScanEvent) (*record, []string, error) {
	if len(events) == 0 || len(events) > envelope.MaxEventsPerCapture {
		return nil, nil, fmt.Errorf("sdk: a capture holds 1 to %d events, not %d", envelope.MaxEventsPerCapture, len(events))
	}
	ids := make([]string, len(events))
	for i, ev := range events {
		if ev == nil {
			return nil, nil, fmt.Errorf("sdk: event %d is nil", i+1)
		}
		if ev.GetEventId() == "" {
			id, err := envelope.EventID(ev, c.cfg.PartyGLN)
			if err != nil {
				return nil, nil, fmt.Errorf("sdk: event %d: %w", i+1, err)
			}
			ev.EventId = id
		}
		ids[i] = ev.GetEventId()
	}
	env := &pb.Envelope{PartyGln: c.cfg.PartyGLN, Body: &pb.Envelope_Capture{Capture: &pb.Capture{Events: events}}}
	body, err := envelope.Marshal(env)
	if err != nil {
		return nil, nil, err
	}
	wire, err := envelope.Seal(env, c.cfg.PartyGLN, c.cfg.Key)
	if err != nil {
		return nil, nil, err
	}
	if len(wire) > c.cfg.MaxMsgSize {
		return nil, nil, fmt.Errorf("sdk: signed capture of %d bytes exceeds %d: send fewer events at once", len(wire), c.cfg.MaxMsgSize)
	}
	return &record{events: len(events), subject: c.subject, msgID: envelope.MsgID(env, body), data: wire}, ids, nil
}

// Connected reports whether the NATS connection is up. Send publishes
// directly only then; the queue is forwarded only then.
func (c *Client) Connected() bool { return c.nc.Status() == nats.CONNECTED }

// Pending returns the number of scan events in the queue, not yet
// acknowledged by JetStream.
func (c *Client) Pending() int {
	_, events, _ := c.q.state()
	return events
}

// Flush waits until the queue is empty, that is until JetStream has
// acknowledged every queued event, or until ctx ends.
func (c *Client) Flush(ctx context.Context) error {
	for {
		msgs, events, changed := c.q.state()
		if msgs == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-c.done:
			return ErrClosed
		case <-ctx.Done():
			return fmt.Errorf("sdk: flush: %d events still queued: %w", events, ctx.Err())
		}
	}
}

// Close stops the forwarder, waits for a Send in progress, and closes the
// queue and the Client's own connection. It does not flush: queued events
// stay on disk and the next Client on the same QueueDir sends them. Call
// Flush first to wait for them.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.stop()
		c.sendMu.Lock()
		c.closed = true
		c.sendMu.Unlock()
		<-c.done
		c.nc.RemoveStatusListener(c.status)
		c.closeErr = c.q.close()
		if c.ownConn {
			c.nc.Close()
		}
	})
	return c.closeErr
}
