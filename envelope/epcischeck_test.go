package envelope

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/epcis"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// captured returns ev with its epcis bytes set to its own EPCIS form, the
// projection of which it then is.
func captured(t *testing.T, ev *pb.ScanEvent) *pb.ScanEvent {
	t.Helper()
	e, err := EPCIS(ev, testActor)
	if err != nil {
		t.Fatal(err)
	}
	data, err := EncodeCaptured(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := FromEPCIS(e, testActor)
	if err != nil {
		t.Fatal(err)
	}
	out.Epcis = data
	return out
}

// TestCheckEPCIS checks that a scan event agreeing with its captured bytes
// passes and that changing any projected field is refused, naming it.
func TestCheckEPCIS(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 13))
	for range 200 {
		ev := captured(t, genScanEvent(r))
		if err := CheckEPCIS(ev, testActor); err != nil {
			t.Fatalf("agreeing event refused: %v\n%v", err, ev)
		}
	}
	base := &pb.ScanEvent{
		Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_SHIPPING,
		EventTime: genScanEvent(r).GetEventTime(), EventTimeZoneOffset: "+01:00",
		Epcs:         []*pb.Epc{{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: "04012345123456", Serial: "S1"}}}},
		Destinations: []*pb.SourceDest{{Type: pb.SourceDestType_SOURCE_DEST_TYPE_OWNING_PARTY, Gln: "4023456000000"}},
	}
	for field, change := range map[string]func(*pb.ScanEvent){
		"bizStep":      func(e *pb.ScanEvent) { e.BizStep = pb.BizStep_BIZ_STEP_DISPENSING },
		"epcs":         func(e *pb.ScanEvent) { e.Epcs[0].GetPack().Serial = "S2" },
		"destinations": func(e *pb.ScanEvent) { e.Destinations = nil },
		"eventId":      func(e *pb.ScanEvent) { e.EventId = "urn:uuid:00000000-0000-4000-8000-000000000000" },
		"readPoint":    func(e *pb.ScanEvent) { e.ReadPoint = "4023456000000" },
		"type":         func(e *pb.ScanEvent) { e.Type = pb.EventType_EVENT_TYPE_TRANSACTION },
	} {
		ev := captured(t, proto.Clone(base).(*pb.ScanEvent))
		change(ev)
		err := CheckEPCIS(ev, testActor)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "epcis" || !strings.HasSuffix(fe.Msg, "differs at "+field) {
			t.Errorf("%s changed: got %v", field, err)
		}
	}
	// An empty event_id is read as the ID the node would give the event.
	ev := captured(t, proto.Clone(base).(*pb.ScanEvent))
	ev.EventId, ev.ReadPoint = "", testActor
	if err := CheckEPCIS(ev, testActor); err != nil {
		t.Errorf("empty event ID, readPoint the actor: %v", err)
	}
	if err := CheckEPCIS(base, testActor); err != nil {
		t.Errorf("no epcis bytes: %v", err)
	}
}

// TestCheckEPCISBadBytes checks that bytes that are no single EPCIS event
// are refused.
func TestCheckEPCISBadBytes(t *testing.T) {
	one := captured(t, &pb.ScanEvent{
		Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_INSPECTING,
		EventTime: genScanEvent(rand.New(rand.NewPCG(1, 2))).GetEventTime(),
		Epcs:      []*pb.Epc{{Id: &pb.Epc_Sscc{Sscc: "040123450000000016"}}},
	})
	e, _ := EPCIS(one, testActor)
	two, err := epcis.EncodeJSONLD(&epcis.Document{Events: []epcis.Event{*e, *e}})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"not JSON":   []byte("{"),
		"two events": two,
		"too large":  make([]byte, MaxEPCISBytes+1),
		"no event":   []byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","epcisBody":{"eventList":[]}}`),
	} {
		ev := proto.Clone(one).(*pb.ScanEvent)
		ev.Epcis = data
		var fe *FieldError
		if err := CheckEPCIS(ev, testActor); !errors.As(err, &fe) || fe.Field != "epcis" {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
