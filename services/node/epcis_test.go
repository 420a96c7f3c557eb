package node

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/epcis"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/epcisapi"
)

// TestCapturedEPCISMustMatchItsProjection captures EPCIS events through a
// real node: a scan event whose captured EPCIS bytes project to other
// fields than its own is refused with the field that differs, and the
// ledger does not grow; one that agrees is applied, and its epcis bytes
// come back unchanged from the ledger entry. A transaction event is
// applied as an observation; a transformation consumes its input and
// commissions its output.
func TestCapturedEPCISMustMatchItsProjection(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	mfr := a.party(apiMfr, pb.Role_ROLE_MANUFACTURER)
	a.packs(mfr, "EP-1", "EP-2")

	conn, ctx, capture := captureClient(t, n, mfr)
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano)

	// What a capture handler does: decode, project, keep the bytes.
	project := func(doc string) *pb.ScanEvent {
		t.Helper()
		ev, err := epcis.DecodeEvent([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		se, err := envelope.FromEPCIS(ev, apiMfr)
		if err != nil {
			t.Fatal(err)
		}
		if se.Epcis, err = envelope.EncodeCaptured(ev, nil); err != nil {
			t.Fatal(err)
		}
		return se
	}
	pack := func(serial string) string { return "https://id.gs1.org/01/" + apiGTIN + "/21/" + serial }
	inspect := project(`{"type":"ObjectEvent","action":"OBSERVE","bizStep":"inspecting","eventTime":"` + at + `","eventTimeZoneOffset":"+01:00",
		"epcList":["` + pack("EP-1") + `"],"example:note":"kept","@context":{"example":"https://example.com/ns/"}}`)

	// The signer says dispensing, the captured bytes inspecting.
	bad := proto.Clone(inspect).(*pb.ScanEvent)
	bad.BizStep = pb.BizStep_BIZ_STEP_DISPENSING
	size := n.ledger.Size()
	_, err := capture.CaptureEvent(ctx, &pb.CaptureEventRequest{Event: bad, Wait: true})
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "differs at bizStep") {
		t.Fatalf("mismatching capture: %v, want InvalidArgument naming bizStep", err)
	}
	if n.ledger.Size() != size {
		t.Fatalf("a refused capture grew the ledger to %d entries", n.ledger.Size())
	}

	// The agreeing capture is applied; its bytes are on the ledger.
	resp, err := capture.CaptureEvent(ctx, &pb.CaptureEventRequest{Event: inspect, Wait: true})
	if err != nil || !resp.GetOutcome().GetApplied() {
		t.Fatalf("agreeing capture: %v %v", resp, err)
	}
	if got := capturedBytes(t, conn, ctx, resp.GetLedgerIndex()); !bytes.Equal(got, inspect.GetEpcis()) {
		t.Fatalf("ledger entry holds epcis bytes\n%s\nwant\n%s", got, inspect.GetEpcis())
	}
	if !bytes.Contains(inspect.GetEpcis(), []byte(`:note":"kept"`)) {
		t.Fatalf("the extension was not kept: %s", inspect.GetEpcis())
	}

	// A transaction: an observation; a transformation: EP-2 consumed,
	// EP-3 commissioned.
	tx := project(`{"type":"TransactionEvent","action":"ADD","eventTime":"` + at + `","eventTimeZoneOffset":"+00:00",
		"epcList":["` + pack("EP-1") + `"],"bizTransactionList":[{"type":"inv","bizTransaction":"urn:epcglobal:cbv:bt:` + apiMfr + `:1"}]}`)
	if resp, err := capture.CaptureEvent(ctx, &pb.CaptureEventRequest{Event: tx, Wait: true}); err != nil || !resp.GetOutcome().GetApplied() {
		t.Fatalf("transaction: %v %v", resp, err)
	}
	tf := project(`{"type":"TransformationEvent","eventTime":"` + at + `","eventTimeZoneOffset":"+00:00",
		"inputEPCList":["` + pack("EP-2") + `"],"outputEPCList":["` + pack("EP-3") + `"],"ilmd":{"cbvmda:lotNumber":"L1"}}`)
	if resp, err := capture.CaptureEvent(ctx, &pb.CaptureEventRequest{Event: tf, Wait: true}); err != nil || !resp.GetOutcome().GetApplied() {
		t.Fatalf("transformation: %v %v", resp, err)
	}
	for serial, want := range map[string]pb.PackStatus{"EP-1": pb.PackStatus_PACK_STATUS_ACTIVE, "EP-2": pb.PackStatus_PACK_STATUS_DESTROYED, "EP-3": pb.PackStatus_PACK_STATUS_ACTIVE} {
		v := &pb.VerifyPackResponse{}
		if err := a.as(mfr).Post(context.Background(), "/v1/packs:verify", &pb.VerifyPackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: serial})}, v); err != nil {
			t.Fatal(err)
		}
		if v.GetStatus() != want {
			t.Errorf("%s: %v, want %v", serial, v.GetStatus(), want)
		}
	}
	b := &pb.GetBatchResponse{}
	if err := a.as(mfr).Get(context.Background(), "/v1/products/"+apiGTIN+"/batches/L1", b); err != nil {
		t.Fatal(err)
	}
	if b.GetBatch().GetCommissioned() != 3 {
		t.Errorf("batch L1 counts %d commissioned packs, want 3 (EP-1, EP-2 and the output EP-3)", b.GetBatch().GetCommissioned())
	}
}

// captureClient connects to n's gRPC port as the holder of token; the
// connection closes with the test.
func captureClient(t testing.TB, n *Node, token string) (*grpc.ClientConn, context.Context, pb.CaptureServiceClient) {
	t.Helper()
	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	return conn, ctx, pb.NewCaptureServiceClient(conn)
}

// capturedBytes reads the epcis bytes of the one event of ledger entry i.
func capturedBytes(t *testing.T, conn *grpc.ClientConn, ctx context.Context, i uint64) []byte {
	t.Helper()
	e, err := pb.NewLedgerServiceClient(conn).GetEntry(ctx, &pb.GetEntryRequest{Index: i})
	if err != nil {
		t.Fatal(err)
	}
	var se pb.SignedEnvelope
	if err := proto.Unmarshal(e.GetEntry().GetEnvelope(), &se); err != nil {
		t.Fatal(err)
	}
	var env pb.Envelope
	if err := proto.Unmarshal(se.GetEnvelope(), &env); err != nil {
		t.Fatal(err)
	}
	evs := env.GetCapture().GetEvents()
	if len(evs) != 1 {
		t.Fatalf("entry %d holds %d events", i, len(evs))
	}
	return evs[0].GetEpcis()
}

// TestEPCISEventsTheRulesDoNotTrackAreRecorded captures, through a real
// node, EPCIS events that name what the pack rules do not track (a
// returnable asset by GIAI, a sensor_reporting step on a pack): each is
// recorded on the ledger with its bytes and the reason the rules did not
// apply, and the pack it names keeps its state. A native scan event that
// claims to be recorded without the rules is refused, naming the field.
func TestEPCISEventsTheRulesDoNotTrackAreRecorded(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	mfr := a.party(apiMfr, pb.Role_ROLE_MANUFACTURER)
	a.packs(mfr, "NA-1")

	conn, ctx, capture := captureClient(t, n, mfr)
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano)
	pack := "https://id.gs1.org/01/" + apiGTIN + "/21/NA-1"

	for name, tc := range map[string]struct{ doc, field string }{
		"a GIAI": {`{"type":"ObjectEvent","action":"OBSERVE","bizStep":"inspecting","eventTime":"` + at + `","eventTimeZoneOffset":"+00:00",
			"epcList":["urn:epc:id:giai:4000001.12345"]}`, "epcList[0]"},
		"sensor reporting on a pack": {`{"type":"ObjectEvent","action":"OBSERVE","bizStep":"sensor_reporting","eventTime":"` + at + `","eventTimeZoneOffset":"+00:00",
			"epcList":["` + pack + `"],"sensorElementList":[{"sensorMetadata":{"time":"` + at + `"},"sensorReport":[{"type":"Temperature","value":4.5,"uom":"CEL"}]}]}`, "bizStep"},
	} {
		ev, err := epcis.DecodeEvent([]byte(tc.doc))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		se, err := envelope.FromEPCIS(ev, apiMfr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if se.Epcis, err = envelope.EncodeCaptured(ev, nil); err != nil {
			t.Fatal(err)
		}
		resp, err := capture.CaptureEvent(ctx, &pb.CaptureEventRequest{Event: se, Wait: true})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out := resp.GetOutcome()
		if !out.GetApplied() || out.GetAffected() != 0 || !strings.HasPrefix(out.GetReason(), lifecycle.NotAppliedReason+tc.field+": ") {
			t.Errorf("%s: outcome %v, want recorded without the rules, naming %s", name, out, tc.field)
		}
		if got := capturedBytes(t, conn, ctx, resp.GetLedgerIndex()); !bytes.Equal(got, se.GetEpcis()) {
			t.Errorf("%s: the ledger holds other bytes than were captured", name)
		}
	}
	v := &pb.VerifyPackResponse{}
	if err := a.as(mfr).Post(context.Background(), "/v1/packs:verify", &pb.VerifyPackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "NA-1"})}, v); err != nil {
		t.Fatal(err)
	}
	if v.GetStatus() != pb.PackStatus_PACK_STATUS_ACTIVE || !v.GetDispensable() {
		t.Errorf("NA-1 after a sensor report: %v, want ACTIVE and dispensable", v)
	}

	native := &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_DISPENSING,
		EventTime: timestamppb.New(time.Now().Add(-time.Minute)), NotApplied: "bizStep: skip the rules",
		Epcs: []*pb.Epc{{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: apiGTIN, Serial: "NA-1"}}}}}
	_, err := capture.CaptureEvent(ctx, &pb.CaptureEventRequest{Event: native, Wait: true})
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "notApplied") {
		t.Fatalf("a native event claiming not_applied: %v, want InvalidArgument naming notApplied", err)
	}
}

// TestDSCSAExampleYieldsTheAggregationTreeAndShipment captures, as the
// manufacturer, every event of the GS1 US DSCSA EPCIS 1.2 example (12
// packs commissioned, 3 cases identified by the SGTIN of a case GTIN, the
// packs packed 4 to a case, the pallet's SSCC commissioned, the cases
// packed onto it, the pallet shipped to the wholesaler). Every event is
// applied; the pallet holds the 3 cases and each case its 4 packs; the
// packs are in transit to the wholesaler with the pallet.
func TestDSCSAExampleYieldsTheAggregationTreeAndShipment(t *testing.T) {
	const (
		mfrGLN, whsGLN = "0300011111116", "0399999999991"
		itemGTIN       = "00300010123455"
		caseGTIN       = "10300010123452"
		pallet         = "403000112345678901"
	)
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	mfr := a.party(mfrGLN, pb.Role_ROLE_MANUFACTURER)
	a.party(whsGLN, pb.Role_ROLE_WHOLESALER)
	ctx := context.Background()
	if err := a.as(mfr).Post(ctx, "/v1/products", &pb.Product{Gtin: itemGTIN, Name: "Epcistra 100mg"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.as(mfr).Post(ctx, "/v1/products/"+itemGTIN+"/batches", &pb.Batch{Lot: "A123", Expiry: "250327"}, nil); err != nil {
		t.Fatal(err)
	}

	doc, err := os.ReadFile("../../epcis/testdata/openepcis-test-resources/core/src/main/resources/1.2/EPCIS/XML/Capture/Documents/GS1_US_Pharma_Example_2_2_1_1.xml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := epcisapi.NewPreparer(epcisapi.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	prep, err := p.Prepare(doc, epcisapi.XML, mfrGLN, epcisapi.Rollback)
	if err != nil || len(prep.Errors) > 0 || len(prep.Events) != 8 {
		t.Fatalf("prepare: %v, %+v", err, prep)
	}
	conn, cctx, capture := captureClient(t, n, mfr)
	for i, ev := range prep.Events {
		resp, err := capture.CaptureEvent(cctx, &pb.CaptureEventRequest{Event: ev, Wait: true})
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if o := resp.GetOutcome(); !o.GetApplied() || o.GetReason() != "" || len(o.GetAlerts()) > 0 {
			t.Fatalf("event %d (%v %v): %v", i, ev.GetType(), ev.GetBizStep(), o)
		}
	}

	prov := pb.NewProvenanceServiceClient(conn)
	tree, err := prov.GetContainer(cctx, &pb.GetContainerRequest{Sscc: pallet})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"110": {"11", "12", "13", "14"}, "111": {"15", "16", "17", "18"}, "121": {"19", "20", "21", "22"}}
	if len(tree.GetRoot().GetChildren()) != 3 || len(tree.GetRoot().GetPacks()) != 0 {
		t.Fatalf("pallet %s holds %v", pallet, tree.GetRoot())
	}
	for _, c := range tree.GetRoot().GetChildren() {
		gtin, serial, ok := lifecycle.ParseCaseID(c.GetSscc())
		var got []string
		for _, pk := range c.GetPacks() {
			if pk.GetGtin() == itemGTIN && pk.GetLot() == "A123" {
				got = append(got, pk.GetSerial())
			}
		}
		if !ok || gtin != caseGTIN || !slices.Equal(got, want[serial]) || len(c.GetChildren()) != 0 {
			t.Errorf("case %s holds %v, want packs %v", c.GetSscc(), c, want[serial])
		}
		delete(want, serial)
	}
	if len(want) != 0 {
		t.Errorf("cases missing from the pallet: %v", want)
	}
	for _, serial := range []string{"11", "22"} {
		pk, err := prov.GetPack(cctx, &pb.GetPackRequest{Gtin: itemGTIN, Serial: serial})
		if err != nil {
			t.Fatal(err)
		}
		if tr := pk.GetPack().GetTransit(); tr.GetToGln() != whsGLN || tr.GetFromGln() != mfrGLN || pk.GetPack().GetCustodianGln() != mfrGLN ||
			len(pk.GetContainerSsccs()) != 2 || pk.GetContainerSsccs()[1] != pallet {
			t.Errorf("pack %s: %v, want in transit from %s to %s inside its case on pallet %s", serial, pk, mfrGLN, whsGLN, pallet)
		}
	}
}
