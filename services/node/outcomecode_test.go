package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestOutcomeCodesMapToGRPCCodes: the API answers a write the rules refuse
// by the refusal's outcome code, never by the reason's words: a record
// that exists AlreadyExists, something unknown NotFound, a sender without
// the right PermissionDenied, a contradiction InvalidArgument, a state
// that forbids it FailedPrecondition. Each refusal but the authority's
// (which the API checks with the same rule before it submits) is the
// ledger's outcome, recorded with its code.
func TestOutcomeCodesMapToGRPCCodes(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	mfr := a.party(apiMfr, pb.Role_ROLE_MANUFACTURER)
	a.party(apiWs, pb.Role_ROLE_WHOLESALER)

	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reg := pb.NewRegistryServiceClient(conn)
	as := func(token string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	}
	admin := as(a.adminToken())
	key := func() []byte {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return pub
	}
	for i := range 8 { // the party's keys: 8 at most
		if _, err := reg.AddPartyKey(as(mfr), &pb.AddPartyKeyRequest{Gln: apiMfr, PublicKey: key()}); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
	}
	size := n.ledger.Size()

	for _, c := range []struct {
		name   string
		call   func() error
		want   codes.Code
		ledger pb.OutcomeCode // the refusal's code on the ledger; UNSPECIFIED when the API refused before submitting
	}{
		{"a party registered twice", func() error {
			_, err := reg.CreateParty(admin, &pb.CreatePartyRequest{Party: &pb.Party{Gln: apiWs, Name: "again", Role: pb.Role_ROLE_WHOLESALER}})
			return err
		}, codes.AlreadyExists, pb.OutcomeCode_OUTCOME_CODE_ALREADY_EXISTS},
		{"a product of a manufacturer not registered", func() error {
			_, err := reg.CreateProduct(admin, &pb.CreateProductRequest{Product: &pb.Product{Gtin: apiGTIN, Name: "X", ManufacturerGln: apiMfr2}})
			return err
		}, codes.NotFound, pb.OutcomeCode_OUTCOME_CODE_NOT_FOUND},
		{"a product registered for a wholesaler", func() error {
			_, err := reg.CreateProduct(admin, &pb.CreateProductRequest{Product: &pb.Product{Gtin: apiGTIN, Name: "X", ManufacturerGln: apiWs}})
			return err
		}, codes.InvalidArgument, pb.OutcomeCode_OUTCOME_CODE_INVALID},
		{"a ninth key", func() error {
			_, err := reg.AddPartyKey(as(mfr), &pb.AddPartyKeyRequest{Gln: apiMfr, PublicKey: key()})
			return err
		}, codes.FailedPrecondition, pb.OutcomeCode_OUTCOME_CODE_CONFLICT},
		{"a party registered by a manufacturer", func() error {
			_, err := reg.CreateParty(as(mfr), &pb.CreatePartyRequest{Party: &pb.Party{Gln: apiPharm, Name: "P", Role: pb.Role_ROLE_PHARMACY}})
			return err
		}, codes.PermissionDenied, pb.OutcomeCode_OUTCOME_CODE_UNSPECIFIED},
	} {
		err := c.call()
		if st, _ := status.FromError(err); st.Code() != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if c.ledger == pb.OutcomeCode_OUTCOME_CODE_UNSPECIFIED {
			if n.ledger.Size() != size {
				t.Errorf("%s: refused by the API, yet the ledger grew to %d entries", c.name, n.ledger.Size())
			}
			continue
		}
		if n.ledger.Size() != size+1 {
			t.Fatalf("%s: the ledger has %d entries, want %d", c.name, n.ledger.Size(), size+1)
		}
		e, err := pb.NewLedgerServiceClient(conn).GetEntry(admin, &pb.GetEntryRequest{Index: size})
		if err != nil {
			t.Fatal(err)
		}
		if outs := e.GetEntry().GetOutcomes(); len(outs) != 1 || outs[0].GetApplied() || outs[0].GetCode() != c.ledger {
			t.Errorf("%s: ledger outcome %v, want refused with %v", c.name, outs, c.ledger)
		}
		size++
	}
}
