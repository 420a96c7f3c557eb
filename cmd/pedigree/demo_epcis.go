package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pedigree-project/pedigree/client"
	"github.com/pedigree-project/pedigree/gs1"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/node"
)

// demoEPCIS shows one capture through the node's EPCIS interface: a
// manufacturer registered for the demo commissions two packs and ships
// them to a wholesaler in one EPCIS 2.0 document (POST /epcis/capture);
// it prints the job's URL and its receipt, checked against the ledger's
// signed checkpoint. Its identifiers come from the clock (GS1 prefix 952,
// for demonstrations), so each run has its own.
func demoEPCIS(ctx context.Context, out io.Writer, n *node.Node, adminToken string) error {
	stamp := fmt.Sprintf("%08d", time.Now().UnixNano()/1000%100_000_000)
	mfrGLN, wsGLN := withCheckDigit("9528"+stamp), withCheckDigit("9529"+stamp)
	gtin := withCheckDigit("09527" + stamp)
	admin, err := client.New(n.GRPCAddr(), adminToken)
	if err != nil {
		return err
	}
	defer admin.Close()
	mfr, err := admin.Registry.CreateParty(ctx, &pb.CreatePartyRequest{Party: &pb.Party{Gln: mfrGLN, Name: "EPCIS demo manufacturer", Role: pb.Role_ROLE_MANUFACTURER}})
	if err != nil {
		return fmt.Errorf("demo: EPCIS manufacturer: %w", err)
	}
	if _, err := admin.Registry.CreateParty(ctx, &pb.CreatePartyRequest{Party: &pb.Party{Gln: wsGLN, Name: "EPCIS demo wholesaler", Role: pb.Role_ROLE_WHOLESALER}}); err != nil {
		return fmt.Errorf("demo: EPCIS wholesaler: %w", err)
	}
	m, err := client.New(n.GRPCAddr(), mfr.GetToken())
	if err != nil {
		return err
	}
	defer m.Close()
	if _, err := m.Registry.CreateProduct(ctx, &pb.CreateProductRequest{Product: &pb.Product{Gtin: gtin, Name: "Amoxicillin 500 mg (EPCIS demo)"}}); err != nil {
		return fmt.Errorf("demo: EPCIS product: %w", err)
	}
	if _, err := m.Registry.CreateBatch(ctx, &pb.CreateBatchRequest{Gtin: gtin, Batch: &pb.Batch{Lot: "EPCIS1", Expiry: "301200"}}); err != nil {
		return fmt.Errorf("demo: EPCIS batch: %w", err)
	}
	packs := `"https://id.gs1.org/01/` + gtin + `/21/E1","https://id.gs1.org/01/` + gtin + `/21/E2"`
	at := time.Now().Add(-time.Minute).UTC()
	doc := `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",` +
		`"creationDate":"` + at.Format(time.RFC3339) + `","epcisBody":{"eventList":[` +
		`{"type":"ObjectEvent","eventTime":"` + at.Format(time.RFC3339) + `","eventTimeZoneOffset":"+00:00","action":"ADD","bizStep":"commissioning",` +
		`"disposition":"active","epcList":[` + packs + `],"ilmd":{"cbvmda:lotNumber":"EPCIS1"}},` +
		`{"type":"ObjectEvent","eventTime":"` + at.Add(time.Second).Format(time.RFC3339) + `","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"shipping",` +
		`"disposition":"in_transit","epcList":[` + packs + `],` +
		`"sourceList":[{"type":"owning_party","source":"https://id.gs1.org/414/` + mfrGLN + `"}],` +
		`"destinationList":[{"type":"owning_party","destination":"https://id.gs1.org/414/` + wsGLN + `"}]}]}}`
	fmt.Fprintf(out, "\nCapturing one EPCIS 2.0 document (commissioning and shipping of 2 packs) through POST /epcis/capture…\n")
	o := &epcisCaptureOptions{http: n.HTTPAddr(), token: mfr.GetToken(), behaviour: "rollback", wait: true, verify: true, timeout: time.Minute}
	if err := epcisCaptureDoc(ctx, out, []byte(doc), "application/ld+json", o); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(out, "  (the same with the CLI: pedigree epcis capture --http %s --token <a party's token> FILE.jsonld)\n", n.HTTPAddr())
	return nil
}

// withCheckDigit appends the GS1 check digit to digits.
func withCheckDigit(digits string) string { return digits + string(gs1.CheckDigit(digits)) }
