package envelope

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/pedigree-project/pedigree/epcis"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// MaxEPCISBytes bounds the captured EPCIS event a scan event carries.
const MaxEPCISBytes = 1 << 20

// MaxHeadBytesRead bounds what checking a capture's epcis_head costs:
// each event's document is read whole, the head with it, so the head's
// size times the events that share it is at most this many bytes. A
// large head (an EPCIS header with master data) is shared by fewer events.
const MaxHeadBytesRead = 4 << 20

// MaxEventsSharingHead is the most events a capture whose epcis_head is
// headLen bytes may hold: MaxEventsPerCapture without a head, otherwise
// MaxHeadBytesRead/headLen, at least 1.
func MaxEventsSharingHead(headLen int) int {
	if headLen <= 0 {
		return MaxEventsPerCapture
	}
	return max(1, min(MaxEventsPerCapture, MaxHeadBytesRead/headLen))
}

// EncodeCaptured returns the bytes a scan event's epcis field holds for
// the captured event ev: epcis.EncodeJSONLD of an EPCISDocument with ev as
// its one event and no creationDate (the standard @context plus the
// prefixes of the extension namespaces ev uses, named as in ns, the
// namespaces of the document ev came from, when it declared them, and
// ev's ignoreFields as the document's), with the insignificant whitespace
// removed (encoding/json Compact). The capture handler stores them as
// they are.
func EncodeCaptured(ev *epcis.Event, ns map[string]string) ([]byte, error) {
	// The event's ignoreFields travel as the document's, so that the event
	// decoded from the bytes hashes as ev does.
	data, err := epcis.EncodeJSONLDCompact(&epcis.Document{Namespaces: ns, IgnoreFields: ev.IgnoreFields, Events: []epcis.Event{*ev}})
	if err != nil {
		return nil, fmt.Errorf("envelope: encode the captured event: %w", err)
	}
	return data, nil
}

// DecodeCaptured reads the epcis bytes of a scan event: one EPCIS 2.0
// JSON-LD document holding exactly one event, at most MaxEPCISBytes.
func DecodeCaptured(data []byte) (*epcis.Event, error) {
	if len(data) > MaxEPCISBytes {
		return nil, &FieldError{Field: "epcis", Msg: fmt.Sprintf("at most %d bytes, got %d", MaxEPCISBytes, len(data))}
	}
	doc, err := epcis.Decode(data)
	if err != nil {
		return nil, &FieldError{Field: "epcis", Msg: err.Error()}
	}
	if len(doc.Events) != 1 {
		return nil, &FieldError{Field: "epcis", Msg: fmt.Sprintf("must hold exactly one event, holds %d", len(doc.Events))}
	}
	return &doc.Events[0], nil
}

// CapturedDocument is the one-event EPCIS document of a scan event whose
// epcis bytes are epcis, in a capture whose epcis_head is head: epcis
// itself when head is empty, otherwise head, epcis, then
// epcis.CaptureTail.
func CapturedDocument(head, epcisBytes []byte) []byte {
	if len(head) == 0 {
		return epcisBytes
	}
	b := make([]byte, 0, len(head)+len(epcisBytes)+len(epcis.CaptureTail))
	return append(append(append(b, head...), epcisBytes...), epcis.CaptureTail...)
}

// capturedSize is the size of CapturedDocument(head, epcisBytes).
func capturedSize(head, epcisBytes []byte) int {
	if len(head) == 0 {
		return len(epcisBytes)
	}
	return len(head) + len(epcisBytes) + len(epcis.CaptureTail)
}

// CheckEPCIS is CheckEPCISIn for an event of a capture without an
// epcis_head.
func CheckEPCIS(ev *pb.ScanEvent, actor string) error { return CheckEPCISIn(nil, ev, actor) }

// CheckEPCISIn checks that a scan event carrying the captured EPCIS event
// (its epcis bytes) says what those bytes say: FromEPCIS of the decoded
// event must equal the scan event's other fields, so that the signer
// cannot put one event on the ledger and have the rules apply another.
// An event without epcis bytes passes, unless it sets not_applied: only
// the projection of a captured event may record it without the rules. Before comparing, both sides read
// an empty event_id as the ID the node gives the event (FromEPCIS: the
// hash of the captured event; the scan event: EventID) and a read_point
// naming actor as empty. A mismatch is a *FieldError naming the first
// field that differs, e.g. "epcis: projection differs at bizStep". head
// is the capture's epcis_head: the event's document is
// CapturedDocument(head, epcis bytes).
func CheckEPCISIn(head []byte, ev *pb.ScanEvent, actor string) error {
	data := ev.GetEpcis()
	if len(data) == 0 {
		if ev.GetNotApplied() != "" {
			return &FieldError{Field: "notApplied", Msg: "only an event captured as EPCIS (epcis set) is recorded without the pack rules"}
		}
		return nil
	}
	if n := capturedSize(head, data); n > MaxEPCISBytes {
		return &FieldError{Field: "epcis", Msg: fmt.Sprintf("at most %d bytes, got %d", MaxEPCISBytes, n)}
	}
	captured, err := DecodeCaptured(CapturedDocument(head, data))
	if err != nil {
		return err
	}
	want, err := FromEPCIS(captured, actor)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return &FieldError{Field: "epcis", Msg: fe.Field + ": " + fe.Msg}
		}
		return err
	}
	got := proto.Clone(ev).(*pb.ScanEvent)
	got.Epcis = nil
	if got.ReadPoint == actor {
		got.ReadPoint = ""
	}
	if got.EventId == "" {
		// The ID the node gives the event; it differs from the captured
		// event's hash when the projection left members out, and the
		// event is then refused: its ID must be the captured event's.
		if got.EventId, err = EventID(got, actor); err != nil {
			return err
		}
	}
	if proto.Equal(got, want) {
		return nil
	}
	return &FieldError{Field: "epcis", Msg: "the captured event projects to other fields than the event's: differs at " + firstDiff(got, want)}
}

// firstDiff names the first top-level field of two scan events that
// differs, by its JSON name.
func firstDiff(a, b *pb.ScanEvent) string {
	ma, mb := a.ProtoReflect(), b.ProtoReflect()
	fields := ma.Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if !equalField(ma, mb, f) {
			return f.JSONName()
		}
	}
	return "an unknown field"
}

func equalField(a, b protoreflect.Message, f protoreflect.FieldDescriptor) bool {
	if a.Has(f) != b.Has(f) {
		return false
	}
	if !a.Has(f) {
		return true
	}
	ca, cb := a.New(), b.New()
	ca.Set(f, a.Get(f))
	cb.Set(f, b.Get(f))
	return proto.Equal(ca.Interface(), cb.Interface())
}
