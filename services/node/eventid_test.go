package node

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestEventIDsAreScopedToTheParty: event IDs are chosen by callers, so
// each party's are its own. Two pharmacies that dispense their own packs
// under the same event ID both dispense their own pack; a retry (same ID,
// same content) is answered with the original outcome and adds nothing to
// the ledger; the same ID for another event by the same party is refused
// with 409 naming the ID, and the pack it named is untouched.
func TestEventIDsAreScopedToTheParty(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	ctx := context.Background()
	mfr := a.party(apiMfr, pb.Role_ROLE_MANUFACTURER)
	pharm := a.party(apiPharm, pb.Role_ROLE_PHARMACY)
	pharm2 := a.party(apiPh2, pb.Role_ROLE_PHARMACY)
	a.packs(mfr, "ID-A", "ID-B", "ID-C", "ID-D")
	const id = "urn:uuid:6f1c7d1e-0000-4000-8000-000000000001"
	at := timestamppb.New(time.Now().Add(-time.Minute).Truncate(time.Second))
	dispense := func(token, serial string) (*pb.DispensePackResponse, error) {
		d := &pb.DispensePackResponse{}
		err := a.as(token).Post(ctx, "/v1/packs:dispense", &pb.DispensePackRequest{
			Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: serial}), EventId: id, EventTime: at}, d)
		return d, err
	}
	packStatus := func(serial string) pb.PackStatus {
		v := &pb.VerifyPackResponse{}
		if err := a.as(pharm).Post(ctx, "/v1/packs:verify", &pb.VerifyPackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: serial})}, v); err != nil {
			t.Fatal(err)
		}
		return v.GetStatus()
	}

	// Two pharmacies, one event ID, each its own pack.
	da, err := dispense(pharm, "ID-A")
	if err != nil || !da.GetOutcome().GetApplied() {
		t.Fatalf("first pharmacy: %v %v", da, err)
	}
	db, err := dispense(pharm2, "ID-B")
	if err != nil || !db.GetOutcome().GetApplied() || db.GetOutcome().GetDuplicate() {
		t.Fatalf("second pharmacy, same event ID, its own pack: %v %v, want applied", db, err)
	}
	if db.GetLedgerIndex() == da.GetLedgerIndex() || db.GetEventId() != id {
		t.Fatalf("the second pharmacy was answered with entry %d (the first's is %d), event ID %q", db.GetLedgerIndex(), da.GetLedgerIndex(), db.GetEventId())
	}
	if sa, sb := packStatus("ID-A"), packStatus("ID-B"); sa != pb.PackStatus_PACK_STATUS_SUPPLIED || sb != pb.PackStatus_PACK_STATUS_SUPPLIED {
		t.Fatalf("packs after both dispenses: %v %v, want both SUPPLIED", sa, sb)
	}

	// The same party, the same ID, the same content: a retry.
	size := n.ledger.Size()
	again, err := dispense(pharm, "ID-A")
	if err != nil || again.GetLedgerIndex() != da.GetLedgerIndex() || !again.GetOutcome().GetApplied() {
		t.Fatalf("retry: %v %v, want the original outcome (entry %d)", again, err, da.GetLedgerIndex())
	}
	if n.ledger.Size() != size {
		t.Errorf("a retry added %d ledger entries", n.ledger.Size()-size)
	}

	// A retry of a write that gave no time, which the node stamped: a
	// retry still.
	first := &pb.DispensePackResponse{}
	req := &pb.DispensePackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "ID-D"}), EventId: "urn:uuid:no-time"}
	if err := a.as(pharm).Post(ctx, "/v1/packs:dispense", req, first); err != nil || !first.GetOutcome().GetApplied() {
		t.Fatalf("dispense without a time: %v %v", first, err)
	}
	retry := &pb.DispensePackResponse{}
	if err := a.as(pharm).Post(ctx, "/v1/packs:dispense", req, retry); err != nil || retry.GetLedgerIndex() != first.GetLedgerIndex() || !retry.GetOutcome().GetApplied() {
		t.Fatalf("retry of a dispense without a time: %v %v, want the original outcome (entry %d)", retry, err, first.GetLedgerIndex())
	}

	// The same party, the same ID, another pack: refused, naming the ID.
	_, err = dispense(pharm, "ID-C")
	wantStatus(t, "the same event ID for another pack", err, http.StatusConflict, `eventId "`+id+`" was already used by this party for a different event`)
	if s := packStatus("ID-C"); s != pb.PackStatus_PACK_STATUS_ACTIVE {
		t.Errorf("the pack named under a reused event ID is %v, want ACTIVE", s)
	}
	// Over gRPC: AlreadyExists.
	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+pharm)
	_, err = pb.NewCaptureServiceClient(conn).CaptureEvent(gctx, &pb.CaptureEventRequest{Wait: true, Event: &pb.ScanEvent{
		EventId: id, Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE,
		BizStep: pb.BizStep_BIZ_STEP_DISPENSING, Disposition: pb.Disposition_DISPOSITION_DISPENSED, EventTime: at,
		Epcs: []*pb.Epc{{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: apiGTIN, Serial: "ID-C"}}}}}})
	if st, _ := status.FromError(err); st.Code() != codes.AlreadyExists || !strings.Contains(st.Message(), id) {
		t.Errorf("gRPC capture reusing the event ID: %v, want AlreadyExists naming %q", err, id)
	}
	if s := packStatus("ID-C"); s != pb.PackStatus_PACK_STATUS_ACTIVE {
		t.Errorf("pack ID-C is %v, want ACTIVE", s)
	}
}
