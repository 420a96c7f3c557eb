package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/subjects"
)

// Errors a Client returns.
var (
	// ErrClosed is returned by a Client's methods after Close.
	ErrClosed = errors.New("sdk: client closed")
	// ErrQueueLocked is returned by New when another Client, in this
	// process or another, uses the queue directory.
	ErrQueueLocked = errors.New("sdk: queue directory is in use by another client")
	// ErrUnknownMessage is returned by Outcome for a message ID the Client
	// does not hold: never sent by it, not yet read from an earlier
	// Client's queue, or answered longer ago than its last KeepOutcomes
	// outcomes.
	ErrUnknownMessage = errors.New("sdk: no such message in this client")
)

// Status says what became of events given to Send. Either way they are in
// the queue, on disk, until their node-signed outcome arrives.
type Status int

// The statuses of Send.
const (
	// Published: JetStream acknowledged the events within PublishTimeout.
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

// Receipt is what Send reports.
type Receipt struct {
	// Status is Published or Queued.
	Status Status
	// MsgID is the Nats-Msg-Id of the message (envelope.MsgID): the event
	// ID of a single event scoped to the party, otherwise the envelope ID.
	// Outcome waits for its outcome.
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

// Outcome is the ledger's answer to one message, signed by a node key of
// Config.NodeKeys and verified against the exact bytes the Client sent.
type Outcome struct {
	// MsgID is the Nats-Msg-Id of the message it answers.
	MsgID string
	// Entry is the ledger entry that recorded the message, its envelope
	// included. Entry.Outcomes[i] is what became of the capture's event i:
	// applied, refused with a reason, or a duplicate of an event recorded
	// before (the reason names that ledger entry); with its alerts. Nil
	// when the node refused the whole message (Refusal).
	Entry *pb.LedgerEntry
	// Refusal, when not nil, says why the node refused the message (it
	// could not be decoded, authenticated or validated): it is in the
	// dead-letter stream and on no ledger entry, and sending it again
	// changes nothing.
	Refusal *pb.RefusalStatement
	// Receipt is the node-signed receipt of the batch the entry was
	// committed in (nil with a Refusal).
	Receipt *pb.BatchReceipt
	// NodeKeyID is the ID of the node key that signed the receipt or the
	// refusal.
	NodeKeyID string
}

// Refused reports whether the ledger refused an event of the message: its
// outcome is neither applied nor a duplicate of a recorded event.
func (o *Outcome) Refused() bool {
	if o.Refusal != nil {
		return true
	}
	results := EventResults(o.Entry)
	for _, r := range results {
		if r.Verdict == Refused {
			return true
		}
	}
	return len(results) == 0
}

// Client publishes signed scan events to NATS JetStream and keeps each in
// a durable local queue until a node-signed outcome proves it is on the
// ledger. It is safe for concurrent use; see the package documentation
// for its guarantees.
type Client struct {
	cfg     Config
	log     *slog.Logger
	builder *Builder
	subject string
	nc      *nats.Conn
	ownConn bool
	wipe    func() // clears the NKey of the Client's own connection
	js      jetstream.JetStream
	q       *queue
	sub     *nats.Subscription
	limit   *rate.Limiter // publications per second

	untrusted   atomic.Uint64
	everUp      atomic.Bool  // the connection was up once: until then Send waits for it
	callback    sync.Mutex   // one OnOutcome call at a time
	handling    sync.RWMutex // held (read) by the result handler; Close takes it to wait for it
	handlerDone bool         // guarded by handling: Close has stopped the result handler

	mu      sync.Mutex // guards closed and the tracking (track.go)
	closed  bool
	tracks  tracking
	changed chan struct{} // closed and replaced when a message is published or answered

	life      context.Context // ends at Close
	stop      context.CancelFunc
	wake      chan struct{}    // tells the forwarder that there is work
	status    chan nats.Status // CONNECTED transitions
	done      chan struct{}    // closed when the forwarder has stopped
	closeOnce sync.Once
	closeErr  error
}

// New opens the queue in cfg.QueueDir, connects to NATS (or uses
// cfg.Conn), subscribes to the party's results and starts the forwarder,
// which at once publishes what an earlier Client left queued. New does not
// wait for NATS to be reachable. ctx bounds only the construction.
func New(ctx context.Context, cfg Config) (_ *Client, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, err = cfg.withDefaults()
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
	life, stop := context.WithCancel(context.Background())
	c := &Client{
		cfg: cfg, log: log, builder: b, subject: subjects.ScanSubject(cfg.PartyGLN), q: q,
		life: life, stop: stop, changed: make(chan struct{}), tracks: newTracking(),
		wake: make(chan struct{}, 1), done: make(chan struct{}), wipe: func() {},
		limit: rate.NewLimiter(rate.Limit(cfg.MaxPublishRate), max(1, int(cfg.MaxPublishRate/10))),
	}
	defer func() {
		if err != nil {
			stop()
			q.close()
			if c.ownConn {
				c.nc.Close()
			}
			c.wipe()
		}
	}()
	c.nc = cfg.Conn
	if c.nc == nil {
		nc, wipe, err := cfg.connect(log)
		if err != nil {
			return nil, err
		}
		c.nc, c.wipe, c.ownConn = nc, wipe, true
	}
	if c.js, err = jetstream.New(c.nc); err != nil {
		return nil, fmt.Errorf("sdk: jetstream: %w", err)
	}
	msgs, _, _ := q.state()
	c.tracks.unpublished = msgs
	if c.sub, err = c.nc.Subscribe(subjects.ResultSubjects(cfg.PartyGLN), c.onResult); err != nil {
		return nil, fmt.Errorf("sdk: subscribe to the party's outcomes: %w", err)
	}
	c.status = c.nc.StatusChanged(nats.CONNECTED)
	c.everUp.Store(c.Connected())
	go c.forward()
	return c, nil
}

// Builder returns the Builder for the client's party, read point and clock.
func (c *Client) Builder() *Builder { return c.builder }

// Send signs events as one capture (1 to envelope.MaxEventsPerCapture
// events, applied in this order), appends it to the queue (fsynced) and
// hands it to the forwarder, which publishes it on the party's scan
// subject. It sets the event ID of every event that has none (the CBV 2.0
// event hash).
//
// When nothing queued before it is still waiting for JetStream, and NATS
// is connected or the Client's first connection is still being made, Send
// waits up to Config.PublishTimeout (or until ctx ends) for JetStream's
// acknowledgement and returns Published; otherwise, or if the
// acknowledgement does not come in time, it returns Queued. Either
// way the capture stays in the queue until its node-signed outcome
// arrives: Outcome(ctx, receipt.MsgID) waits for it. An error means that
// nothing was queued (an invalid event, a message that is too large, a
// queue that cannot be written).
func (c *Client) Send(ctx context.Context, events ...*pb.ScanEvent) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, err
	}
	rec, ids, err := c.seal(events)
	if err != nil {
		return Receipt{}, err
	}
	rc := Receipt{Status: Queued, MsgID: rec.msgID, EventIDs: ids}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return Receipt{}, ErrClosed
	}
	// Appending under c.mu: the forwarder, which may read the record as
	// soon as it is appended, finds it tracked.
	if err := c.q.append(rec); err != nil {
		c.mu.Unlock()
		return Receipt{}, err
	}
	t, first := c.tracks.sent(rec)
	c.mu.Unlock()
	c.kick()
	if !first || (!c.Connected() && c.everUp.Load()) {
		return rc, nil
	}
	timer := time.NewTimer(c.cfg.PublishTimeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		ack, changed := t.ack, c.changed
		c.mu.Unlock()
		if ack != nil {
			rc.Status, rc.Sequence, rc.Duplicate = Published, ack.Sequence, ack.Duplicate
			return rc, nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return rc, nil
		case <-ctx.Done():
			return rc, nil
		case <-c.life.Done():
			return rc, nil
		}
	}
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

// Connected reports whether the NATS connection is up. The queue is
// forwarded only then.
func (c *Client) Connected() bool { return c.nc.Status() == nats.CONNECTED }

// Pending returns the number of scan events in the queue: not yet proven
// to be on the ledger by a verified outcome.
func (c *Client) Pending() int {
	_, events, _ := c.q.state()
	return events
}

// Untrusted returns the number of messages on the party's result subjects
// that named a message this Client holds but did not verify (a forged or
// misrouted notice, or one for other bytes): each was ignored.
func (c *Client) Untrusted() uint64 { return c.untrusted.Load() }

// Outcome waits for the verified outcome of the message with ID msgID (a
// Receipt's MsgID) and returns it, or returns ctx's error. It knows the
// messages this Client sent, those an earlier Client left queued once the
// forwarder has read them, and the last Config.KeepOutcomes answered;
// otherwise it returns ErrUnknownMessage.
func (c *Client) Outcome(ctx context.Context, msgID string) (*Outcome, error) {
	for {
		c.mu.Lock()
		t, changed := c.tracks.byMsg[msgID], c.changed
		var out *Outcome
		if t != nil {
			out = t.outcome
		}
		c.mu.Unlock()
		switch {
		case t == nil:
			return nil, fmt.Errorf("%w: %s", ErrUnknownMessage, msgID)
		case out != nil:
			return out, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("sdk: outcome of %s: %w", msgID, ctx.Err())
		case <-c.life.Done():
			return nil, ErrClosed
		}
	}
}

// Flush waits until the queue is empty, that is until every queued event
// has its verified outcome, or until ctx ends. A message the node never
// answers (one it refused before recording it, as the dead-letter stream
// shows) keeps Flush waiting until ctx ends.
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
			return fmt.Errorf("sdk: flush: %d events still without outcome: %w", events, ctx.Err())
		}
	}
}

// Close stops the forwarder and the result subscription, waits for a Send
// appending to the queue, and closes the queue and the Client's own
// connection. It does not flush: queued events stay on disk and the next
// Client on the same QueueDir sends them. Call Flush first to wait for
// their outcomes.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.stop()
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		<-c.done
		_ = c.sub.Unsubscribe()
		c.handling.Lock() // waits for a result being handled
		c.handlerDone = true
		c.handling.Unlock()
		c.nc.RemoveStatusListener(c.status)
		c.closeErr = c.q.close()
		if c.ownConn {
			c.nc.Close()
		}
		c.wipe()
	})
	return c.closeErr
}

// kick wakes the forwarder.
func (c *Client) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// broadcast wakes everyone waiting in Send or Outcome. Called with c.mu
// held.
func (c *Client) broadcast() {
	close(c.changed)
	c.changed = make(chan struct{})
}
