package envelope

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

func TestSealOpenVerify(t *testing.T) {
	pub, priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	env := &pb.Envelope{PartyGln: "4012345000009", Body: &pb.Envelope_Capture{Capture: &pb.Capture{
		Events: []*pb.ScanEvent{{EventId: "urn:uuid:1", BizStep: pb.BizStep_BIZ_STEP_DISPENSING}},
	}}}
	wire, err := Seal(env, "4012345000009", priv)
	if err != nil {
		t.Fatal(err)
	}
	o, err := Open(wire)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Verify(pub) {
		t.Fatal("signature does not verify")
	}
	if o.Signed.GetKeyId() != KeyID(pub) || len(o.Signed.GetKeyId()) != 16 {
		t.Errorf("key ID %q, want %q", o.Signed.GetKeyId(), KeyID(pub))
	}
	if got := MsgID(o.Envelope, o.Signed.GetEnvelope()); got != "4012345000009/urn:uuid:1" {
		t.Errorf("MsgID = %q, want the event ID scoped to the party", got)
	}
	other, _, _ := GenerateKey()
	if o.Verify(other) {
		t.Error("signature verifies with another key")
	}
	o.Signed.Envelope[len(o.Signed.Envelope)-1] ^= 1
	if o.Verify(pub) {
		t.Error("signature verifies over altered bytes")
	}
	if _, err := Open([]byte{0xff, 0xff}); err == nil {
		t.Error("Open accepted garbage")
	}
}

func TestMsgIDOfMultiEventCaptureIsEnvelopeID(t *testing.T) {
	env := &pb.Envelope{Body: &pb.Envelope_Capture{Capture: &pb.Capture{Events: []*pb.ScanEvent{{EventId: "a"}, {EventId: "b"}}}}}
	b, err := Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := MsgID(env, b), ID(b); got != want || len(got) != len(EnvelopeIDPrefix)+64 {
		t.Fatalf("MsgID = %q, want %q", got, want)
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "party.key")
	priv, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %o, want 600", info.Mode().Perm())
	}
	again, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Equal(again) {
		t.Fatal("second load returned another key")
	}
	if err := WriteKeyFile(path, priv); err == nil {
		t.Fatal("WriteKeyFile overwrote an existing key")
	}
	if err := os.WriteFile(path+".bad", []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadKeyFile(path + ".bad"); err == nil {
		t.Fatal("ReadKeyFile accepted a non-PEM file")
	}
}

func TestEventIDIsCBVHashAndDependsOnContent(t *testing.T) {
	ev := &pb.ScanEvent{
		Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE,
		BizStep: pb.BizStep_BIZ_STEP_DISPENSING, Disposition: pb.Disposition_DISPOSITION_DISPENSED,
		EventTime: timestamppb.New(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)),
		Epcs:      []*pb.Epc{{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: "09506000134352", Serial: "ABC123"}}}},
	}
	id1, err := EventID(ev, "4012345000009")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id1, "ni:///sha-256;") || !strings.HasSuffix(id1, "?ver=CBV2.0") || len(id1) != len("ni:///sha-256;?ver=CBV2.0")+64 {
		t.Fatalf("event ID %q is not a CBV 2.0 event hash", id1)
	}
	again, _ := EventID(ev, "4012345000009")
	other, _ := EventID(ev, "4098765000002")
	if again != id1 {
		t.Error("event ID is not deterministic")
	}
	if other == id1 {
		t.Error("the same scan by another party has the same event ID")
	}
	e, err := EPCIS(ev, "4012345000009")
	if err != nil {
		t.Fatal(err)
	}
	if e.EPCList[0] != "https://id.gs1.org/01/09506000134352/21/ABC123" || e.BizStep != "https://ref.gs1.org/cbv/BizStep-dispensing" ||
		e.Disposition != "https://ref.gs1.org/cbv/Disp-dispensed" {
		t.Errorf("translation: %+v", e)
	}
	ev.EventTime = nil
	if _, err := EventID(ev, "4012345000009"); err == nil {
		t.Error("an event without a time got an event ID")
	}
}

func TestOutOfRangeEnumsGetNoEventID(t *testing.T) {
	ok := func() *pb.ScanEvent {
		return &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE,
			BizStep: pb.BizStep_BIZ_STEP_DISPENSING, EventTime: timestamppb.New(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)),
			Sources: []*pb.SourceDest{{Type: pb.SourceDestType_SOURCE_DEST_TYPE_LOCATION, Gln: "4012345000009"}}}
	}
	if _, err := EventID(ok(), "4012345000009"); err != nil {
		t.Fatalf("a valid event: %v", err)
	}
	for field, bad := range map[string]func(*pb.ScanEvent){
		"type":            func(e *pb.ScanEvent) { e.Type = 6 },
		"action":          func(e *pb.ScanEvent) { e.Action = -1 },
		"bizStep":         func(e *pb.ScanEvent) { e.BizStep = 12345 },
		"disposition":     func(e *pb.ScanEvent) { e.Disposition = 99 },
		"sources[0].type": func(e *pb.ScanEvent) { e.Sources[0].Type = 4 },
		"destinations[1].type": func(e *pb.ScanEvent) {
			e.Destinations = []*pb.SourceDest{{Type: 1}, {Type: 1 << 30}}
		},
	} {
		ev := ok()
		bad(ev)
		_, err := EventID(ev, "4012345000009")
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s out of range: %v, want a FieldError naming it", field, err)
		}
	}
}
