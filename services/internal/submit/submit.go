package submit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/subjects"
)

// ErrOverloaded reports that the stream refused the write because a limit
// was reached; callers answer RESOURCE_EXHAUSTED, which the gateway answers
// as HTTP 429, and the client retries later.
var ErrOverloaded = errors.New("submit: the stream is full; retry later")

// JetStream error codes of a full stream (nats-server JSStreamStoreFailedF,
// JSInsufficientResourcesErr).
const (
	errCodeStoreFailed           jetstream.ErrorCode = 10077
	errCodeInsufficientResources jetstream.ErrorCode = 10023
)

// Lookup finds the ledger entry that recorded a message ID, without its
// envelope bytes.
type Lookup func(ctx context.Context, msgID string) (*pb.LedgerEntry, bool, error)

// WaitApplied blocks until this node's ledger has applied stream sequence
// seq, or ctx ends.
type WaitApplied func(ctx context.Context, seq uint64) error

// Submitter publishes node-signed envelopes.
type Submitter struct {
	js     jetstream.JetStream
	key    ed25519.PrivateKey
	signer string
	lookup Lookup
	wait   WaitApplied
}

// New returns a Submitter signing as signer ("node:<name>") with key. It
// learns outcomes from this node's own ledger (wait, then lookup), never
// from NATS, so no message on the bus can forge one.
func New(js jetstream.JetStream, signer string, key ed25519.PrivateKey, lookup Lookup, wait WaitApplied) (*Submitter, error) {
	if js == nil || len(key) != ed25519.PrivateKeySize || signer == "" || lookup == nil || wait == nil {
		return nil, errors.New("submit: JetStream, signer, key, lookup and wait are required")
	}
	return &Submitter{js: js, key: key, signer: signer, lookup: lookup, wait: wait}, nil
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

// Submit seals env, publishes it, and returns once this node's ledger has
// applied the stream sequence JetStream acknowledged (for a retry, the
// sequence of the first copy): an answer always means the write is
// durable on the ledger, never only in the stream, whose fsync may lag.
// With wait it also returns the ledger's entry for it.
func (s *Submitter) Submit(ctx context.Context, env *pb.Envelope, wait bool) (Result, error) {
	res, err := s.Publish(ctx, env)
	if err != nil {
		return res, err
	}
	if err := s.Durable(ctx, res.Sequence); err != nil {
		return res, err
	}
	if !wait {
		return res, nil
	}
	entry, ok, err := s.lookup(ctx, res.MsgID)
	if err != nil {
		return res, fmt.Errorf("submit: outcome of %s: %w", res.MsgID, err)
	}
	if !ok {
		return res, fmt.Errorf("submit: stream sequence %d is applied but no ledger entry records %s: the node refused the message (see the %s stream)",
			res.Sequence, res.MsgID, subjects.DeadLetterStream)
	}
	res.Entry = entry
	return res, nil
}

// Publish seals env and publishes it; the write is in the stream, not yet
// durable on the ledger (see Durable).
func (s *Submitter) Publish(ctx context.Context, env *pb.Envelope) (Result, error) {
	m, err := s.Seal(env)
	if err != nil {
		return Result{}, err
	}
	return s.PublishSealed(ctx, m)
}

// Sealed is an envelope sealed by the node, ready to publish.
type Sealed struct {
	// Envelope is the envelope.
	Envelope *pb.Envelope
	// Digest is the envelope.Digest of its bytes as signed
	// (envelope.Marshal).
	Digest [32]byte
	// Wire is the SignedEnvelope published.
	Wire []byte
	// MsgID is the message ID it is published under (envelope.MsgID).
	MsgID string
}

// Seal seals env with the node's key. It is safe for concurrent use, so
// a capture of many envelopes can seal them on all cores.
func (s *Submitter) Seal(env *pb.Envelope) (Sealed, error) {
	body, err := envelope.Marshal(env)
	if err != nil {
		return Sealed{}, err
	}
	wire, err := envelope.SealBody(body, s.signer, s.key)
	if err != nil {
		return Sealed{}, err
	}
	d := envelope.Digest(body)
	return Sealed{Envelope: env, Digest: d, Wire: wire, MsgID: envelope.MsgIDOfDigest(env, d)}, nil
}

// PublishSealed publishes an envelope Seal sealed; the write is in the
// stream, not yet durable on the ledger (see Durable).
func (s *Submitter) PublishSealed(ctx context.Context, m Sealed) (Result, error) {
	res := Result{MsgID: m.MsgID}
	msg := nats.NewMsg(subjects.ScanSubject(m.Envelope.GetPartyGln()))
	msg.Data = m.Wire
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
	return res, nil
}

// Durable waits, at most DefaultWait, until this node's ledger has
// applied stream sequence seq.
func (s *Submitter) Durable(ctx context.Context, seq uint64) error {
	wctx, cancel := context.WithTimeout(ctx, DefaultWait)
	defer cancel()
	if err := s.wait(wctx, seq); err != nil {
		return fmt.Errorf("submit: no outcome for stream sequence %d within %s: %w", seq, DefaultWait, err)
	}
	return nil
}
