package envelope

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"google.golang.org/protobuf/proto"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// MaxEventsPerCapture bounds the events of one capture.
const MaxEventsPerCapture = 1000

// EnvelopeIDPrefix starts the ID of envelopes that are not a single event.
const EnvelopeIDPrefix = "urn:pedigree:envelope:"

// KeyID returns the key ID of an Ed25519 public key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Marshal returns the deterministic serialization of env: the bytes that are
// signed.
func Marshal(env *pb.Envelope) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("envelope: marshal: %w", err)
	}
	return b, nil
}

// Seal signs env as signer (a party GLN, or the node's key name) and returns
// the wire bytes of the SignedEnvelope.
func Seal(env *pb.Envelope, signer string, priv ed25519.PrivateKey) ([]byte, error) {
	body, err := Marshal(env)
	if err != nil {
		return nil, err
	}
	return SealBody(body, signer, priv)
}

// SealBody is Seal of the envelope whose bytes (Marshal) are body.
func SealBody(body []byte, signer string, priv ed25519.PrivateKey) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, errors.New("envelope: private key: want an Ed25519 key")
	}
	se := &pb.SignedEnvelope{
		Envelope:  body,
		Signer:    signer,
		KeyId:     KeyID(priv.Public().(ed25519.PublicKey)),
		Signature: voi.Sign(voi.PrivateKey(priv), body), // RFC 8032: the bytes crypto/ed25519 gives, in half the time
	}
	wire, err := proto.MarshalOptions{Deterministic: true}.Marshal(se)
	if err != nil {
		return nil, fmt.Errorf("envelope: marshal signed envelope: %w", err)
	}
	return wire, nil
}

// Opened is a decoded, not yet authenticated, signed envelope.
type Opened struct {
	// Signed is the outer message.
	Signed *pb.SignedEnvelope
	// Envelope is Signed.Envelope decoded.
	Envelope *pb.Envelope
}

// Open decodes wire bytes into the signed envelope and its envelope. It does
// not check the signature.
func Open(wire []byte) (*Opened, error) {
	se := &pb.SignedEnvelope{}
	if err := proto.Unmarshal(wire, se); err != nil {
		return nil, fmt.Errorf("envelope: not a SignedEnvelope: %w", err)
	}
	if len(se.GetEnvelope()) == 0 {
		return nil, errors.New("envelope: envelope: empty")
	}
	env := &pb.Envelope{}
	if err := proto.Unmarshal(se.GetEnvelope(), env); err != nil {
		return nil, fmt.Errorf("envelope: envelope: not an Envelope: %w", err)
	}
	return &Opened{Signed: se, Envelope: env}, nil
}

// ID returns the envelope ID of signed envelope bytes.
func ID(envelopeBytes []byte) string { return IDOfDigest(Digest(envelopeBytes)) }

// Digest is the SHA-256 of envelope bytes, which ID names and
// CheckedEPCIS keeps.
func Digest(envelopeBytes []byte) [sha256.Size]byte { return sha256.Sum256(envelopeBytes) }

// IDOfDigest is the envelope ID of the envelope bytes whose Digest is d.
func IDOfDigest(d [sha256.Size]byte) string { return EnvelopeIDPrefix + hex.EncodeToString(d[:]) }

// MsgID returns the Nats-Msg-Id for an envelope: the event ID of a
// single-event capture when it has one, scoped to the envelope's party
// (ScopedEventID), otherwise the envelope ID. Two parties' messages never
// share one, so the stream's duplicate window never merges them.
func MsgID(env *pb.Envelope, envelopeBytes []byte) string {
	if id, ok := eventMsgID(env); ok {
		return id
	}
	return ID(envelopeBytes)
}

// MsgIDOfDigest is MsgID of the envelope env whose bytes have Digest d.
func MsgIDOfDigest(env *pb.Envelope, d [sha256.Size]byte) string {
	if id, ok := eventMsgID(env); ok {
		return id
	}
	return IDOfDigest(d)
}

// eventMsgID is the message ID of a single-event capture whose event has
// an ID: that ID, scoped to the envelope's party.
func eventMsgID(env *pb.Envelope) (string, bool) {
	if evs := env.GetCapture().GetEvents(); len(evs) == 1 && evs[0].GetEventId() != "" {
		return ScopedEventID(env.GetPartyGln(), evs[0].GetEventId()), true
	}
	return "", false
}

// ScopedEventID names event ID eventID as used by the party with GLN
// party: "<party>/<eventID>". Event IDs are chosen by their senders, so
// each party's are a namespace of its own: the same event ID from two
// parties names two events. A GLN has no "/", so the scoped ID names the
// pair unambiguously.
func ScopedEventID(party, eventID string) string { return party + "/" + eventID }
