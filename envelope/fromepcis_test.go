package envelope

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/epcis"
	"github.com/pedigree-project/pedigree/gs1"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

const testActor = "4012345000009"

// withCheck appends the GS1 check digit.
func withCheck(s string) string { return s + string(gs1.CheckDigit(s)) }

// genScanEvent draws a scan event of the kind the node produces: valid
// keys, a step the rules apply, the event time in milliseconds. Packs
// carry no scanned lot or expiry (EPCIS does not export them) and the
// step is never RETURNING (exported as CBV receiving).
func genScanEvent(r *rand.Rand) *pb.ScanEvent {
	word := func(n int) string {
		const set = "ABCDEFGHJKMNPQRSTVWXYZ0123456789-"
		b := make([]byte, 1+r.IntN(n))
		for i := range b {
			b[i] = set[r.IntN(len(set))]
		}
		return string(b)
	}
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		return string(b)
	}
	gln := func() string { return withCheck("40" + digits(10)) }
	epc := func() *pb.Epc {
		if r.IntN(4) == 0 {
			return &pb.Epc{Id: &pb.Epc_Sscc{Sscc: withCheck("3" + digits(16))}}
		}
		return &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: withCheck("0" + digits(12)), Serial: word(20)}}}
	}
	epcs := func() []*pb.Epc {
		var out []*pb.Epc
		for range r.IntN(4) {
			out = append(out, epc())
		}
		return out
	}
	ev := &pb.ScanEvent{
		Type:                pb.EventType(1 + r.IntN(5)),
		Action:              pb.Action(1 + r.IntN(3)),
		EventTime:           timestamppb.New(time.UnixMilli(946684800000 + r.Int64N(3e12)).UTC()),
		EventTimeZoneOffset: []string{"+00:00", "+01:00", "-05:30"}[r.IntN(3)],
	}
	for {
		ev.BizStep = pb.BizStep(1 + r.IntN(len(pb.BizStep_name)-1))
		if ev.BizStep != pb.BizStep_BIZ_STEP_RETURNING {
			break
		}
	}
	if ev.Type >= pb.EventType_EVENT_TYPE_TRANSACTION && r.IntN(3) == 0 {
		ev.BizStep = pb.BizStep_BIZ_STEP_UNSPECIFIED
	}
	ev.Disposition = pb.Disposition(r.IntN(len(pb.Disposition_name)))
	if r.IntN(2) == 0 {
		ev.EventId = "urn:uuid:" + fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), r.Uint64()&0xffffffffffff)
	}
	switch ev.Type {
	case pb.EventType_EVENT_TYPE_TRANSFORMATION:
		ev.Action = pb.Action_ACTION_ADD
		ev.Inputs, ev.Outputs = epcs(), epcs()
	case pb.EventType_EVENT_TYPE_OBJECT:
		ev.Epcs = epcs()
	default:
		ev.Epcs = epcs()
		if ev.Type == pb.EventType_EVENT_TYPE_AGGREGATION || r.IntN(2) == 0 {
			ev.Parent = &pb.Epc{Id: &pb.Epc_Sscc{Sscc: withCheck("3" + digits(16))}}
		}
	}
	if ev.Type != pb.EventType_EVENT_TYPE_TRANSFORMATION {
		for range r.IntN(3) {
			ev.Batches = append(ev.Batches, &pb.BatchRef{Gtin: withCheck("0" + digits(12)), Lot: word(20)})
		}
	}
	if r.IntN(2) == 0 {
		ev.ReadPoint = gln()
	}
	if r.IntN(2) == 0 {
		ev.BizLocation = gln()
	}
	for range r.IntN(3) {
		ev.BizTransactions = append(ev.BizTransactions, &pb.BizTransaction{Type: []string{"po", "desadv", "inv", "rma"}[r.IntN(4)], Id: "urn:epcglobal:cbv:bt:" + gln() + ":" + digits(6)})
	}
	for range r.IntN(3) {
		ev.Sources = append(ev.Sources, &pb.SourceDest{Type: pb.SourceDestType(1 + r.IntN(3)), Gln: gln()})
	}
	for range r.IntN(3) {
		ev.Destinations = append(ev.Destinations, &pb.SourceDest{Type: pb.SourceDestType(1 + r.IntN(3)), Gln: gln()})
	}
	ilmdOK := ev.Type == pb.EventType_EVENT_TYPE_TRANSFORMATION || (ev.Type == pb.EventType_EVENT_TYPE_OBJECT && ev.Action == pb.Action_ACTION_ADD)
	if ilmdOK && r.IntN(2) == 0 {
		ev.Ilmd = &pb.Ilmd{Lot: word(20), Expiry: fmt.Sprintf("%02d%02d%02d", r.IntN(100), 1+r.IntN(12), r.IntN(29))}
	}
	return ev
}

// TestFromEPCISRoundTrip is the property FromEPCIS(EPCIS(ev)) == ev for
// scan events the node produces, directly and through the JSON-LD bytes
// (EncodeJSONLD, Decode). An event without ID comes back with the ID the
// node computes for it (EventID).
func TestFromEPCISRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 2026))
	for i := range 2000 {
		ev := genScanEvent(r)
		want := proto.Clone(ev).(*pb.ScanEvent)
		if want.EventId == "" {
			id, err := EventID(ev, testActor)
			if err != nil {
				t.Fatalf("event %d: EventID: %v", i, err)
			}
			want.EventId = id
		}
		e, err := EPCIS(ev, testActor)
		if err != nil {
			t.Fatalf("event %d: EPCIS: %v", i, err)
		}
		got, err := FromEPCIS(e, testActor)
		if err != nil {
			t.Fatalf("event %d: FromEPCIS: %v\n%v", i, err, ev)
		}
		if !proto.Equal(got, want) {
			t.Fatalf("event %d:\n got %v\nwant %v", i, got, want)
		}
		data, err := epcis.EncodeJSONLD(&epcis.Document{Events: []epcis.Event{*e}})
		if err != nil {
			t.Fatalf("event %d: EncodeJSONLD: %v", i, err)
		}
		doc, err := epcis.Decode(data)
		if err != nil {
			t.Fatalf("event %d: Decode: %v\n%s", i, err, data)
		}
		got, err = FromEPCIS(&doc.Events[0], testActor)
		if err != nil {
			t.Fatalf("event %d: FromEPCIS of the decoded bytes: %v", i, err)
		}
		if !proto.Equal(got, want) {
			t.Fatalf("event %d through JSON-LD:\n got %v\nwant %v", i, got, want)
		}
	}
}

// recordedOnly checks a projection that records the event without the
// pack rules, naming field.
func recordedOnly(field string) func(*pb.ScanEvent) string {
	return func(ev *pb.ScanEvent) string {
		if !strings.HasPrefix(ev.GetNotApplied(), field+": ") {
			return "not_applied " + ev.GetNotApplied() + ", want it to name " + field
		}
		head := &pb.ScanEvent{EventId: ev.GetEventId(), Type: ev.GetType(), Action: ev.GetAction(), EventTime: ev.GetEventTime(),
			EventTimeZoneOffset: ev.GetEventTimeZoneOffset(), NotApplied: ev.GetNotApplied()}
		if !proto.Equal(ev, head) || ev.GetEventId() == "" || ev.GetEventTime() == nil {
			return "projection " + ev.String() + " is more than the event's header"
		}
		return ""
	}
}

// TestFromEPCISForms checks the URN forms, bare vocabulary, the two
// expiry forms and the per-field handling of unknown vocabulary.
func TestFromEPCISForms(t *testing.T) {
	const head = `{"type":"%s","eventTime":"2026-03-01T10:00:00.000+01:00","eventTimeZoneOffset":"+01:00",%s}`
	for _, tc := range []struct {
		name, typ, body string
		check           func(*pb.ScanEvent) string // "" when fine
		errField        string
	}{
		{"urn forms", "ObjectEvent", `"action":"ADD","bizStep":"commissioning","disposition":"active",
			"epcList":["urn:epc:id:sgtin:4012345.012345.ABC%2F1","urn:epc:id:sscc:4012345.0000000001"],
			"readPoint":{"id":"urn:epc:id:sgln:4012345.00001.0"},"bizLocation":{"id":"urn:epc:id:sgln:4012345.00001.7"},
			"ilmd":{"cbvmda:lotNumber":"L1","cbvmda:itemExpirationDate":"2028-12-31"}`,
			func(ev *pb.ScanEvent) string {
				p := ev.GetEpcs()[0].GetPack()
				switch {
				case p.GetGtin() != "04012345123456" || p.GetSerial() != "ABC/1":
					return "pack " + p.String()
				case ev.GetEpcs()[1].GetSscc() != "040123450000000016":
					return "sscc " + ev.GetEpcs()[1].GetSscc()
				case ev.GetReadPoint() != "4012345000016" || ev.GetBizLocation() != "4012345000016":
					return "locations " + ev.GetReadPoint() + " " + ev.GetBizLocation()
				case ev.GetIlmd().GetLot() != "L1" || ev.GetIlmd().GetExpiry() != "281231":
					return "ilmd " + ev.GetIlmd().String()
				case ev.GetBizStep() != pb.BizStep_BIZ_STEP_COMMISSIONING || ev.GetDisposition() != pb.Disposition_DISPOSITION_ACTIVE:
					return "vocabulary"
				case !strings.HasPrefix(ev.GetEventId(), "ni:///sha-256;"):
					return "event ID " + ev.GetEventId()
				}
				return ""
			}, ""},
		{"digital link and yymmdd", "ObjectEvent", `"action":"ADD","bizStep":"urn:epcglobal:cbv:bizstep:shipping",
			"epcList":["https://example.com/shop/01/4012345123456/10/LOT/21/S1"],
			"quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.L2","quantity":5}],
			"destinationList":[{"type":"owning_party","destination":"urn:epc:id:pgln:4012345.00001"}],
			"ilmd":{"cbvmda:itemExpirationDate":"280200"}`,
			func(ev *pb.ScanEvent) string {
				if ev.GetEpcs()[0].GetPack().GetSerial() != "S1" || ev.GetBatches()[0].GetLot() != "L2" ||
					ev.GetDestinations()[0].GetGln() != "4012345000016" || ev.GetIlmd().GetExpiry() != "280200" ||
					ev.GetBizStep() != pb.BizStep_BIZ_STEP_SHIPPING {
					return ev.String()
				}
				return ""
			}, ""},
		{"readPoint is the actor", "ObjectEvent", `"action":"OBSERVE","bizStep":"inspecting","epcList":["urn:epc:id:sgtin:4012345.012345.A"],"readPoint":{"id":"https://id.gs1.org/414/4012345000009"}`,
			func(ev *pb.ScanEvent) string { return ev.GetReadPoint() }, ""},
		{"unknown disposition", "ObjectEvent", `"action":"OBSERVE","bizStep":"shipping","disposition":"in_progress","epcList":["urn:epc:id:sgtin:4012345.012345.A"]`,
			func(ev *pb.ScanEvent) string { return ev.GetDisposition().String()[len("DISPOSITION_UNSPECIFIED"):] }, ""},
		{"unknown step on a transaction", "TransactionEvent", `"action":"ADD","bizStep":"arriving","epcList":["urn:epc:id:sgtin:4012345.012345.A"],
			"bizTransactionList":[{"type":"po","bizTransaction":"urn:epcglobal:cbv:bt:4012345000009:1"}]`,
			func(ev *pb.ScanEvent) string {
				if ev.GetBizStep() != pb.BizStep_BIZ_STEP_UNSPECIFIED || ev.GetBizTransactions()[0].GetType() != "po" {
					return ev.String()
				}
				return ""
			}, ""},
		{"transformation", "TransformationEvent", `"inputEPCList":["urn:epc:id:sgtin:4012345.012345.A"],"outputEPCList":["urn:epc:id:sgtin:4012345.012345.B"]`,
			func(ev *pb.ScanEvent) string {
				if len(ev.GetInputs()) != 1 || len(ev.GetOutputs()) != 1 || ev.GetAction() != pb.Action_ACTION_ADD {
					return ev.String()
				}
				return ""
			}, ""},
		{"unknown step on an object event", "ObjectEvent", `"action":"OBSERVE","bizStep":"arriving","epcList":["urn:epc:id:sgtin:4012345.012345.A"]`, recordedOnly("bizStep"), ""},
		{"no step on an aggregation", "AggregationEvent", `"action":"ADD","parentID":"urn:epc:id:sscc:4012345.0000000001","childEPCs":["urn:epc:id:sgtin:4012345.012345.A"]`, recordedOnly("bizStep"), ""},
		{"a GRAI in epcList", "ObjectEvent", `"action":"OBSERVE","bizStep":"inspecting","epcList":["urn:epc:id:sgtin:4012345.012345.A","urn:epc:id:grai:4012345.12345.1"]`, recordedOnly("epcList[1]"), ""},
		{"a GTIN class", "ObjectEvent", `"action":"OBSERVE","bizStep":"inspecting","quantityList":[{"epcClass":"https://id.gs1.org/01/04012345123456"}]`, recordedOnly("quantityList[0].epcClass"), ""},
		{"a case parent", "AggregationEvent", `"action":"ADD","bizStep":"packing","parentID":"urn:epc:id:sgtin:4012345.112345.C1","childEPCs":["urn:epc:id:sgtin:4012345.012345.A"]`,
			func(ev *pb.ScanEvent) string {
				if g := ev.GetParent().GetPack().GetGtin(); len(g) != 14 || g[0] != '1' || ev.GetParent().GetPack().GetSerial() != "C1" || ev.GetNotApplied() != "" {
					return ev.String()
				}
				return ""
			}, ""},
		{"a pack as parent", "AggregationEvent", `"action":"ADD","bizStep":"packing","parentID":"urn:epc:id:sgtin:4012345.012345.K","childEPCs":["urn:epc:id:sgtin:4012345.012345.A"]`, recordedOnly("parentID"), ""},
		{"a GIAI parent", "AssociationEvent", `"action":"ADD","parentID":"urn:epc:id:giai:4012345.A1","childEPCs":["urn:epc:id:sgtin:4012345.012345.A"]`, recordedOnly("parentID"), ""},
		{"a non-CBV transaction type", "TransactionEvent", `"action":"ADD","epcList":["urn:epc:id:sgtin:4012345.012345.A"],
			"bizTransactionList":[{"type":"https://example.com/t","bizTransaction":"x:1"}]`, recordedOnly("bizTransactionList[0].type"), ""},
		{"a bad expiry", "ObjectEvent", `"action":"ADD","bizStep":"commissioning","epcList":["urn:epc:id:sgtin:4012345.012345.A"],"ilmd":{"cbvmda:itemExpirationDate":"2028-13-01"}`, nil, "ilmd.cbvmda:itemExpirationDate"},
		{"a bad check digit", "ObjectEvent", `"action":"ADD","bizStep":"commissioning","epcList":["https://id.gs1.org/01/04012345123453/21/A"]`, nil, "epcList[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := epcis.DecodeEvent([]byte(fmt.Sprintf(head, tc.typ, tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := FromEPCIS(ev, testActor)
			if tc.errField != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tc.errField {
					t.Fatalf("got %v, want a FieldError naming %s", err, tc.errField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tc.check(got); msg != "" {
				t.Errorf("%s", msg)
			}
		})
	}
}

// TestFromEPCISCorpus projects every event of the GS1 JSON-LD examples:
// each is projected or refused with a FieldError, never a panic. Each
// projected event, captured as a capture handler does (projection plus
// EncodeCaptured bytes), passes CheckEPCIS, which decodes the bytes again.
func TestFromEPCISCorpus(t *testing.T) {
	var files []string
	for _, dir := range []string{"../epcis/testdata/gs1-EPCIS/JSON", "../epcis/testdata/epcis-event-hash-generator/tests/examples"} {
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".jsonld") {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var projected, refused int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := epcis.Decode(data)
		if err != nil {
			continue
		}
		for i := range doc.Events {
			se, err := FromEPCIS(&doc.Events[i], testActor)
			var fe *FieldError
			switch {
			case err == nil:
				projected++
				if se.Epcis, err = EncodeCaptured(&doc.Events[i], doc.Namespaces); err != nil {
					t.Errorf("%s event %d: %v", f, i, err)
				} else if err := CheckEPCIS(se, testActor); err != nil {
					t.Errorf("%s event %d: the capture of its own projection is refused: %v", f, i, err)
				}
			case errors.As(err, &fe):
				refused++
			default:
				t.Errorf("%s event %d: %v is no FieldError", f, i, err)
			}
		}
	}
	if projected == 0 {
		t.Fatal("no corpus event projected")
	}
	t.Logf("%d events projected, %d refused with a FieldError", projected, refused)
}

// FuzzPlainSGTIN holds the fast reading of a plain SGTIN Digital Link to
// the URL parse of any identifier.
func FuzzPlainSGTIN(f *testing.F) {
	f.Add("09506000134352", "S1")
	f.Add("09506000134352", "a-b.c_d~e")
	f.Add("0950600013435x", "..")
	f.Fuzz(func(t *testing.T, gtin, serial string) {
		s := "https://id.gs1.org/01/" + gtin + "/21/" + serial
		got, ok := plainSGTIN(s)
		if !ok {
			return
		}
		want, wantOK := parseDLElements(s)
		if !wantOK || !reflect.DeepEqual(got, want) {
			t.Fatalf("plainSGTIN(%q) = %v; the URL parse reads %v, %v", s, got, want, wantOK)
		}
	})
}
