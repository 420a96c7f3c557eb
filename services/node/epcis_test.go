package node

import (
	"bytes"
	"context"
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
func captureClient(t *testing.T, n *Node, token string) (*grpc.ClientConn, context.Context, pb.CaptureServiceClient) {
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
