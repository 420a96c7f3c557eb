package node

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// chain is a supply chain on a node of its own: a manufacturer that
// commissioned lot L1, a wholesaler, a pharmacy and a regulator (REST
// clients, and the regulator's token for gRPC), a gRPC connection, and a
// clock for event times.
type chain struct {
	n                         *Node
	mfr, ws, pharm, regulator *restClient
	regToken                  string
	conn                      *grpc.ClientConn
	clock                     time.Time
}

// newChain starts a node, registers the parties and commissions serials
// in lot L1; the node stops at the end of the test.
func newChain(t *testing.T, serials ...string) *chain {
	n := startNode(t, testConfig(t.TempDir()))
	t.Cleanup(func() { shutdown(t, n) })
	a := &api{t: t, n: n}
	c := &chain{n: n, mfr: a.as(a.party(apiMfr, pb.Role_ROLE_MANUFACTURER)), ws: a.as(a.party(apiWs, pb.Role_ROLE_WHOLESALER)),
		pharm: a.as(a.party(apiPharm, pb.Role_ROLE_PHARMACY)), regToken: a.party("4000007000009", pb.Role_ROLE_REGULATOR),
		conn: plainConn(t, n), clock: time.Now().Add(-time.Hour)}
	c.regulator = a.as(c.regToken)
	commissionBatch(t, c.mfr, "L1", serials...)
	return c
}

// at is the time of the next event, a minute after the last.
func (c *chain) at() *timestamppb.Timestamp {
	c.clock = c.clock.Add(time.Minute)
	return timestamppb.New(c.clock)
}

// packEpc names pack serial of the test product.
func packEpc(serial string) *pb.Epc {
	return &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: apiGTIN, Serial: serial}}}
}

// boxEpc names a container.
func boxEpc(sscc string) *pb.Epc { return &pb.Epc{Id: &pb.Epc_Sscc{Sscc: sscc}} }

// owner is the destination of a shipment to gln.
func owner(gln string) []*pb.SourceDest {
	return []*pb.SourceDest{{Type: pb.SourceDestType_SOURCE_DEST_TYPE_OWNING_PARTY, Gln: gln}}
}

// bearer is ctx with token as the gRPC call's credentials.
func bearer(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// packView is what an answer says about a pack's state.
type packView struct {
	custodian, location string
	status, own         pb.PackStatus
	tracked, transit    bool
	containers          string // SSCCs, nearest first, comma-separated
}

func viewOf(status pb.PackStatus, pk *pb.Pack, containers []string) packView {
	return packView{custodian: pk.GetCustodianGln(), location: pk.GetLocationGln(), status: status, own: pk.GetStatus(),
		tracked: pk.GetTracked(), transit: pk.GetTransit() != nil, containers: strings.Join(containers, ",")}
}

// TestVerifyAndGetPackAgreeOnEffectiveState follows a pack in a case on a
// pallet through shipping, receipt, unpacking and a shipment on, and asks
// after every step, through REST and gRPC, VerifyPack and GetPack: they
// must give the same custodian, location, status, tracking and transit,
// and the custody must be the pallet's while the pack is inside it (the
// pack's own record is stale then).
func TestVerifyAndGetPackAgreeOnEffectiveState(t *testing.T) {
	c := newChain(t, "P1", "P2")
	ctx := context.Background()
	mfr, ws, pharm, regulator, regToken, at := c.mfr, c.ws, c.pharm, c.regulator, c.regToken, c.at
	verification, provenance := pb.NewVerificationServiceClient(c.conn), pb.NewProvenanceServiceClient(c.conn)
	pk, box, to := packEpc, boxEpc, owner
	caseA, pallet := ssccFor("1"), ssccFor("2")

	check := func(step string, want packView) {
		t.Helper()
		in := pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "P1"})
		restV := &pb.VerifyPackResponse{}
		if err := regulator.Post(ctx, "/v1/packs:verify", &pb.VerifyPackRequest{Pack: in}, restV); err != nil {
			t.Fatalf("%s: REST verify: %v", step, err)
		}
		restG := &pb.GetPackResponse{}
		if err := regulator.Get(ctx, "/v1/products/"+apiGTIN+"/packs/P1", restG); err != nil {
			t.Fatalf("%s: REST get: %v", step, err)
		}
		grpcV, err := verification.VerifyPack(bearer(ctx, regToken), &pb.VerifyPackRequest{Pack: in})
		if err != nil {
			t.Fatalf("%s: gRPC verify: %v", step, err)
		}
		grpcG, err := provenance.GetPack(bearer(ctx, regToken), &pb.GetPackRequest{Gtin: apiGTIN, Serial: "P1"})
		if err != nil {
			t.Fatalf("%s: gRPC get: %v", step, err)
		}
		for name, got := range map[string]packView{
			"REST VerifyPack": viewOf(restV.GetStatus(), restV.GetPack(), restV.GetContainerSsccs()),
			"REST GetPack":    viewOf(restG.GetStatus(), restG.GetPack(), restG.GetContainerSsccs()),
			"gRPC VerifyPack": viewOf(grpcV.GetStatus(), grpcV.GetPack(), grpcV.GetContainerSsccs()),
			"gRPC GetPack":    viewOf(grpcG.GetStatus(), grpcG.GetPack(), grpcG.GetContainerSsccs()),
		} {
			if got != want {
				t.Errorf("%s: %s says %+v, want %+v", step, name, got, want)
			}
		}
	}
	active := pb.PackStatus_PACK_STATUS_ACTIVE
	check("commissioned", packView{custodian: apiMfr, location: apiMfr, status: active, own: active})

	captureEvent(t, mfr, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_AGGREGATION, Action: pb.Action_ACTION_ADD, BizStep: pb.BizStep_BIZ_STEP_PACKING,
		EventTime: at(), Parent: box(caseA), Epcs: []*pb.Epc{pk("P1"), pk("P2")}})
	captureEvent(t, mfr, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_AGGREGATION, Action: pb.Action_ACTION_ADD, BizStep: pb.BizStep_BIZ_STEP_PACKING,
		EventTime: at(), Parent: box(pallet), Epcs: []*pb.Epc{box(caseA)}})
	inBoth := caseA + "," + pallet
	check("packed", packView{custodian: apiMfr, location: apiMfr, status: active, own: active, containers: inBoth})

	captureEvent(t, mfr, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_SHIPPING,
		EventTime: at(), Epcs: []*pb.Epc{box(pallet)}, Destinations: to(apiWs)})
	check("pallet shipped", packView{custodian: apiMfr, location: apiMfr, status: active, own: active, tracked: true, transit: true, containers: inBoth})

	captureEvent(t, ws, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_RECEIVING,
		EventTime: at(), Epcs: []*pb.Epc{box(pallet)}})
	check("pallet received", packView{custodian: apiWs, location: apiWs, status: active, own: active, tracked: true, containers: inBoth})

	captureEvent(t, ws, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_AGGREGATION, Action: pb.Action_ACTION_DELETE, BizStep: pb.BizStep_BIZ_STEP_UNPACKING,
		EventTime: at(), Parent: box(pallet), Epcs: []*pb.Epc{box(caseA)}})
	check("case out of the pallet", packView{custodian: apiWs, location: apiWs, status: active, own: active, tracked: true, containers: caseA})
	captureEvent(t, ws, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_AGGREGATION, Action: pb.Action_ACTION_DELETE, BizStep: pb.BizStep_BIZ_STEP_UNPACKING,
		EventTime: at(), Parent: box(caseA), Epcs: []*pb.Epc{pk("P1")}})
	check("pack out of the case", packView{custodian: apiWs, location: apiWs, status: active, own: active, tracked: true})

	captureEvent(t, ws, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_SHIPPING,
		EventTime: at(), Epcs: []*pb.Epc{pk("P1")}, Destinations: to(apiPharm)})
	check("shipped on", packView{custodian: apiWs, location: apiWs, status: active, own: active, tracked: true, transit: true})
	captureEvent(t, pharm, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_RECEIVING,
		EventTime: at(), Epcs: []*pb.Epc{pk("P1")}})
	check("received by the pharmacy", packView{custodian: apiPharm, location: apiPharm, status: active, own: active, tracked: true})

	// The custodian itself sees the pack the same way (GetPack is shown
	// to the effective custodian only).
	own := &pb.GetPackResponse{}
	if err := pharm.Get(ctx, "/v1/products/"+apiGTIN+"/packs/P1", own); err != nil || own.GetPack().GetCustodianGln() != apiPharm {
		t.Fatalf("the pharmacy's own pack: %v %v", own, err)
	}
	// P2 is still in the case at the wholesaler: its record is stale
	// (the manufacturer's, untracked), its answers are not.
	v := &pb.VerifyPackResponse{}
	if err := ws.Post(ctx, "/v1/packs:verify", &pb.VerifyPackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "P2"})}, v); err != nil {
		t.Fatal(err)
	}
	if got := v.GetPack(); got.GetCustodianGln() != apiWs || !got.GetTracked() || got.GetParentSscc() != caseA {
		t.Errorf("P2 in the case, verified by the wholesaler: %v, want the wholesaler's custody, tracked, in %s", got, caseA)
	}
}
