package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestAPIAnswersMeanTheLedgerCommitted: an answer of the API, with or
// without wait, unary or streamed, means the write is on this node's
// ledger (Pebble, synced), never only in the stream, whose fsync may lag:
// the entry is there the moment the answer is.
func TestAPIAnswersMeanTheLedgerCommitted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	pharm := a.party(apiPharm, pb.Role_ROLE_PHARMACY)
	event := func(i int) *pb.ScanEvent {
		return &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_INSPECTING,
			EventId: fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", i), EventTime: timestamppb.New(time.Now().Add(-time.Minute)),
			Epcs: []*pb.Epc{{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: apiGTIN, Serial: fmt.Sprintf("UNKNOWN%d", i)}}}}}
	}
	onLedger := func(what string, eventID string) {
		t.Helper()
		if _, ok, err := n.lookupEntry(ctx, envelope.ScopedEventID(apiPharm, eventID)); err != nil || !ok {
			t.Fatalf("%s: answered, but the ledger has no entry for %s (%v)", what, eventID, err)
		}
	}
	resp := &pb.CaptureEventResponse{}
	if err := a.as(pharm).Post(ctx, "/v1/events", &pb.CaptureEventRequest{Event: event(1)}, resp); err != nil {
		t.Fatal(err)
	}
	onLedger("capture without wait", resp.GetEventId())

	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+pharm)
	stream, err := pb.NewCaptureServiceClient(conn).StreamCaptureEvents(sctx)
	if err != nil {
		t.Fatal(err)
	}
	const events = 40
	go func() {
		for i := range events {
			if err := stream.Send(&pb.StreamCaptureEventsRequest{Event: event(100 + i)}); err != nil {
				return
			}
		}
		_ = stream.CloseSend()
	}()
	for i := range events {
		ack, err := stream.Recv()
		if err != nil {
			t.Fatalf("ack %d: %v", i, err)
		}
		if want := event(100 + i).GetEventId(); ack.GetEventId() != want {
			t.Fatalf("ack %d is for %s, want %s (in order)", i, ack.GetEventId(), want)
		}
		onLedger(fmt.Sprintf("streamed event %d", i), ack.GetEventId())
	}
}
