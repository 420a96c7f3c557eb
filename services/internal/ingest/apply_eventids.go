package ingest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/epcis"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// Event IDs are chosen by senders, so each party's are a namespace of its
// own: the ledger deduplicates by (party GLN, event ID)
// (envelope.ScopedEventID), and the same ID from two parties names two
// events. Within one party:
//
//   - the same ID with the same content (EventDigest: all but the ID and
//     the event time) is a retry: it is recorded as a duplicate and
//     changes nothing;
//   - the same ID with other content is refused: its outcome is not
//     applied, with the reason IDConflictReason, which names the ID and
//     the entry that recorded it first. It is never answered with that
//     first event's outcome.

// EventDigest is the content digest of a scan event that the event table
// keeps with its ID: SHA-256 of the event's deterministic protobuf
// encoding without its event ID (so that an event sent without an ID and
// the same event sent with the ID the node computed for it agree) and
// without its event time: the API stamps a write that gives no time with
// the time it takes it, and a retry of that write, with the same event
// ID, must be answered as a retry. What happened to which objects, where
// and why is the content; when, for one party and one ID, is not.
func EventDigest(ev *pb.ScanEvent) ([32]byte, error) { return EventDigestIn(nil, ev) }

// EventDigestIn is EventDigest of an event of a capture whose epcis_head
// is head: the event's epcis bytes count as its whole document
// (envelope.CapturedDocument), so that an event kept with its capture's
// head and the same event kept whole have one digest.
func EventDigestIn(head []byte, ev *pb.ScanEvent) ([32]byte, error) {
	b, err := deterministic.Marshal(ev)
	if err != nil {
		return [32]byte{}, fmt.Errorf("event digest: %w", err)
	}
	return eventDigestOf(b, head)
}

// eventDigestOf is EventDigestIn of the event whose deterministic
// encoding is b.
func eventDigestOf(b, head []byte) ([32]byte, error) {
	h := sha256.New()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return [32]byte{}, fmt.Errorf("event digest: %w", protowire.ParseError(n))
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return [32]byte{}, fmt.Errorf("event digest: %w", protowire.ParseError(m))
		}
		switch {
		case num == eventIDField || num == eventTimeField:
		case num == epcisField && typ == protowire.BytesType && len(head) > 0:
			v, _ := protowire.ConsumeBytes(b[n:])
			doc := len(head) + len(v) + len(epcis.CaptureTail)
			h.Write(protowire.AppendVarint(protowire.AppendTag(nil, epcisField, protowire.BytesType), uint64(doc)))
			h.Write(head)
			h.Write(v)
			h.Write([]byte(epcis.CaptureTail))
		default:
			h.Write(b[:n+m])
		}
		b = b[n+m:]
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, nil
}

// capturedEvents returns the encodings of the events of the capture that
// the envelope bytes body hold, in order, as slices of body; ok is false
// unless body holds one capture (Envelope field 10) whose fields are its
// events (Capture field 1) and its epcis_head (2). For an envelope made by
// envelope.Marshal, which encodes deterministically, each is the event's
// deterministic encoding (TestCapturedEventsAreDeterministic).
func capturedEvents(body []byte) (events [][]byte, ok bool) {
	var capture []byte
	found := false
	for b := body; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, false
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, false
		}
		if num == captureField {
			if found || typ != protowire.BytesType {
				return nil, false
			}
			capture, _ = protowire.ConsumeBytes(b[n:])
			found = true
		}
		b = b[n+m:]
	}
	for b := capture; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || (num != captureEventsField && num != captureHeadField) || typ != protowire.BytesType {
			return nil, false
		}
		v, m := protowire.ConsumeBytes(b[n:])
		if m < 0 {
			return nil, false
		}
		if num == captureEventsField {
			events = append(events, v)
		}
		b = b[n+m:]
	}
	return events, found
}

// Field numbers of Envelope.capture, Capture.events and
// Capture.epcis_head.
const (
	captureField       protowire.Number = 10
	captureEventsField protowire.Number = 1
	captureHeadField   protowire.Number = 2
)

// Field numbers of ScanEvent that EventDigest leaves out, and of its
// epcis bytes.
const (
	eventIDField   protowire.Number = 1
	eventTimeField protowire.Number = 6
	epcisField     protowire.Number = 17
)

// idConflictPrefix starts the reason of an event refused for reusing an
// event ID.
const idConflictPrefix = "eventId "

// idConflictMiddle follows the quoted ID in that reason.
const idConflictMiddle = " was already used by this party for a different event (ledger index "

// IDConflictReason is the outcome reason of an event whose party used its
// ID before, at ledger entry index, for an event with other content.
func IDConflictReason(eventID string, index uint64) string {
	return idConflictPrefix + strconv.Quote(eventID) + idConflictMiddle + strconv.FormatUint(index, 10) + ")"
}

// idConflict is the outcome refusing an event whose ID its party recorded
// at ledger entry index for another event: ALREADY_EXISTS, the ID being
// taken (the only refusal of that code a scan event gets).
func idConflict(eventID string, index uint64) *pb.Outcome {
	return &pb.Outcome{Reason: IDConflictReason(eventID, index), Code: pb.OutcomeCode_OUTCOME_CODE_ALREADY_EXISTS}
}

// IsIDConflict reports whether o refused a scan event for reusing an event
// ID (idConflict).
func IsIDConflict(o *pb.Outcome) bool {
	return !o.GetApplied() && !o.GetDuplicate() && o.GetCode() == pb.OutcomeCode_OUTCOME_CODE_ALREADY_EXISTS
}

// ConflictingRetry reports, for an envelope the stream took as a retry
// (its message ID was in the stream's duplicate window, so the ledger will
// not see it), whether its single event reuses an event ID that its party
// recorded with other content: then the reason (IDConflictReason), which
// a writer answers instead of the recorded event's outcome. It is "" when
// the envelope is not a single event with an ID, or when the ID is not
// recorded yet.
func ConflictingRetry(store *state.Store, env *pb.Envelope) (string, error) {
	evs := env.GetCapture().GetEvents()
	if len(evs) != 1 || evs[0].GetEventId() == "" {
		return "", nil
	}
	ev := evs[0]
	rec, ok, err := store.EventRecordOf(state.HashEventID(envelope.ScopedEventID(env.GetPartyGln(), ev.GetEventId())))
	if err != nil || !ok || !rec.HasDigest {
		return "", err
	}
	digest, err := EventDigestIn(env.GetCapture().GetEpcisHead(), ev)
	if err != nil {
		return "", err
	}
	if digest == rec.Digest {
		return "", nil
	}
	return IDConflictReason(ev.GetEventId(), rec.Index), nil
}

// ErrEventTableOutdated reports a store whose event table predates event
// IDs scoped to parties (state.EventTableFormat): its keys would not be
// found, and events recorded before would be applied again.
var ErrEventTableOutdated = errors.New("ingest: the event table is in an older format")
