package submit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/natsbus"
)

// ErrOverloaded reports that the stream refused the write because a limit
// was reached; callers answer RESOURCE_EXHAUSTED (HTTP 503) and retry later.
var ErrOverloaded = errors.New("submit: the stream is full; retry later")

// JetStream error codes of a full stream (nats-server JSStreamStoreFailedF,
// JSInsufficientResourcesErr).
const (
	errCodeStoreFailed           jetstream.ErrorCode = 10077
	errCodeInsufficientResources jetstream.ErrorCode = 10023
)

// Lookup finds the ledger entry that recorded a message ID, for writes the
// stream had already taken.
type Lookup func(ctx context.Context, msgID string) (*pb.LedgerEntry, bool, error)

// Submitter publishes node-signed envelopes.
type Submitter struct {
	js     jetstream.JetStream
	nc     *nats.Conn
	key    ed25519.PrivateKey
	signer string
	lookup Lookup
}

// New returns a Submitter signing as signer ("node:<name>") with key.
func New(js jetstream.JetStream, nc *nats.Conn, signer string, key ed25519.PrivateKey, lookup Lookup) (*Submitter, error) {
	if js == nil || nc == nil || len(key) != ed25519.PrivateKeySize || signer == "" || lookup == nil {
		return nil, errors.New("submit: JetStream, connection, signer, key and lookup are required")
	}
	return &Submitter{js: js, nc: nc, key: key, signer: signer, lookup: lookup}, nil
}

// Result is what became of a write.
type Result struct {
	// MsgID is the message ID the write was published under.
	MsgID string
	// Sequence is the stream sequence.
	Sequence uint64
	// Duplicate is true when the stream already had the message ID.
	Duplicate bool
	// Entry is the ledger entry (without the envelope bytes), when waited
	// for.
	Entry *pb.LedgerEntry
}

// DefaultWait bounds how long Submit waits for the ledger.
const DefaultWait = 10 * time.Second

// Submit seals env, publishes it and, with wait, returns the ledger's
// entry for it.
func (s *Submitter) Submit(ctx context.Context, env *pb.Envelope, wait bool) (Result, error) {
	wire, err := envelope.Seal(env, s.signer, s.key)
	if err != nil {
		return Result{}, err
	}
	body, err := envelope.Marshal(env)
	if err != nil {
		return Result{}, err
	}
	res := Result{MsgID: envelope.MsgID(env, body)}
	var sub *nats.Subscription
	ch := make(chan *nats.Msg, 1)
	if wait {
		if sub, err = s.nc.ChanSubscribe(natsbus.ResultSubject(res.MsgID), ch); err != nil {
			return res, fmt.Errorf("submit: subscribe to outcome: %w", err)
		}
		defer sub.Unsubscribe()
	}
	msg := nats.NewMsg(natsbus.ScanSubject(env.GetPartyGln()))
	msg.Data = wire
	msg.Header.Set(jetstream.MsgIDHeader, res.MsgID)
	ack, err := s.js.PublishMsg(ctx, msg)
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == errCodeStoreFailed || apiErr.ErrorCode == errCodeInsufficientResources) {
			return res, ErrOverloaded
		}
		return res, fmt.Errorf("submit: publish: %w", err)
	}
	res.Sequence, res.Duplicate = ack.Sequence, ack.Duplicate
	if !wait {
		return res, nil
	}
	wctx, cancel := context.WithTimeout(ctx, DefaultWait)
	defer cancel()
	if res.Duplicate {
		return s.await(wctx, res, ch)
	}
	select {
	case m := <-ch:
		entry := &pb.LedgerEntry{}
		if err := proto.Unmarshal(m.Data, entry); err != nil {
			return res, fmt.Errorf("submit: decode outcome: %w", err)
		}
		res.Entry = entry
		return res, nil
	case <-wctx.Done():
		return res, fmt.Errorf("submit: no outcome for stream sequence %d within %s: %w", res.Sequence, DefaultWait, wctx.Err())
	}
}

// await answers a retried write: from the outcome if it is still to come,
// or from the ledger if it was recorded before.
func (s *Submitter) await(ctx context.Context, res Result, ch chan *nats.Msg) (Result, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		entry, ok, err := s.lookup(ctx, res.MsgID)
		if err != nil {
			return res, err
		}
		if ok {
			res.Entry = entry
			return res, nil
		}
		select {
		case m := <-ch:
			entry := &pb.LedgerEntry{}
			if err := proto.Unmarshal(m.Data, entry); err != nil {
				return res, fmt.Errorf("submit: decode outcome: %w", err)
			}
			res.Entry = entry
			return res, nil
		case <-tick.C:
		case <-ctx.Done():
			return res, fmt.Errorf("submit: no outcome for retried write %s: %w", res.MsgID, ctx.Err())
		}
	}
}
