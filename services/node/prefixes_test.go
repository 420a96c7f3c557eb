package node

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/gs1"
	"github.com/pedigree-project/pedigree/gs1/epc"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// gcpTableFixture is a GCP length table in GS1's format: prefixes under
// 4000 are 7 digits long, numbers under 20 have none.
const gcpTableFixture = `{"GCPPrefixFormatList": {"date": "2026-12-01T00:00:00Z", "entry": [
  {"prefix": "4000", "gcpLength": 7},
  {"prefix": "20", "gcpLength": 0}
]}}`

// TestCompanyPrefixesThroughREST registers company prefixes through the
// REST gateway, at registration and with AddPartyPrefix, and translates
// Digital Link URIs to EPC URNs with the node's lookup: the registered
// prefixes first, then the GS1 table given with --gcp-table.
func TestCompanyPrefixesThroughREST(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "data"))
	cfg.GCPTable = filepath.Join(dir, "gcp.json")
	if err := os.WriteFile(cfg.GCPTable, []byte(gcpTableFixture), 0o600); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, cfg)
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	ctx := context.Background()
	admin := a.as(a.adminToken())

	created := &pb.CreatePartyResponse{}
	if err := admin.Post(ctx, "/v1/parties", &pb.Party{Gln: apiMfr, Name: "Pharma AG", Role: pb.Role_ROLE_MANUFACTURER,
		CompanyPrefixes: []string{"400000100"}}, created); err != nil {
		t.Fatalf("create a party with a prefix: %v", err)
	}
	if got := created.GetParty().GetCompanyPrefixes(); len(got) != 1 || got[0] != "400000100" {
		t.Fatalf("created party's prefixes: %v", got)
	}
	pl := n.CompanyPrefixLengths()
	for _, tc := range []struct {
		uri, want string
	}{
		// The registered 9-digit prefix wins over the table's 7.
		{"https://id.gs1.org/01/04000001000012/21/S1", "urn:epc:id:sgtin:400000100.0001.S1"},
		// Another 4000… number: the table.
		{"https://id.gs1.org/01/04000002000011/21/S1", "urn:epc:id:sgtin:4000002.000001.S1"},
	} {
		if got, err := epc.DigitalLinkToURN(tc.uri, pl); err != nil || got != tc.want {
			t.Errorf("DigitalLinkToURN(%s) = %q, %v; want %q", tc.uri, got, err, tc.want)
		}
	}
	for _, digits := range []string{"2012345678901", "5012345000015"} {
		var ge *gs1.Error
		if _, err := pl.CompanyPrefixLength(digits); !errors.As(err, &ge) || ge.Rule != gs1.RuleCompanyPrefix {
			t.Errorf("CompanyPrefixLength(%s): %v, want a company-prefix refusal", digits, err)
		}
	}

	added := &pb.AddPartyPrefixResponse{}
	if err := admin.Post(ctx, "/v1/parties/"+apiMfr+"/prefixes", &pb.AddPartyPrefixRequest{CompanyPrefix: "5012345"}, added); err != nil {
		t.Fatalf("AddPartyPrefix: %v", err)
	}
	if got := strings.Join(added.GetParty().GetCompanyPrefixes(), ","); got != "400000100,5012345" {
		t.Errorf("prefixes after the addition: %s", got)
	}
	if l, err := pl.CompanyPrefixLength("5012345000015"); err != nil || l != 7 {
		t.Errorf("the added prefix: %d, %v", l, err)
	}
	err := admin.Post(ctx, "/v1/parties/"+apiMfr2+"/prefixes", &pb.AddPartyPrefixRequest{CompanyPrefix: "5012346"}, nil)
	wantStatus(t, "a prefix for an unknown party", err, 404, "is not registered")
	a.party(apiMfr2, pb.Role_ROLE_MANUFACTURER)
	err = admin.Post(ctx, "/v1/parties/"+apiMfr2+"/prefixes", &pb.AddPartyPrefixRequest{CompanyPrefix: "50123456"}, nil)
	wantStatus(t, "a prefix inside another's", err, 400, "50123456 extends 5012345")
	err = admin.Post(ctx, "/v1/parties/"+apiMfr2+"/prefixes", &pb.AddPartyPrefixRequest{CompanyPrefix: "50A"}, nil)
	wantStatus(t, "a malformed prefix", err, 400, "companyPrefix")
	mfr := a.as(created.GetToken())
	err = mfr.Post(ctx, "/v1/parties/"+apiMfr+"/prefixes", &pb.AddPartyPrefixRequest{CompanyPrefix: "6012345"}, nil)
	wantStatus(t, "a manufacturer adding a prefix", err, 403, "only an admin")

	// The manufacturer registers products inside its prefixes only.
	if err := mfr.Post(ctx, "/v1/products", &pb.Product{Gtin: "05012345000015", Name: "Inside", PackSize: 10}, nil); err != nil {
		t.Errorf("a product inside the prefixes: %v", err)
	}
	err = mfr.Post(ctx, "/v1/products", &pb.Product{Gtin: apiGTIN, Name: "Outside", PackSize: 10}, nil)
	wantStatus(t, "a product outside the prefixes", err, 400, "not inside the company prefixes")
}

// TestNodeRefusesBadGCPTable: a GCP length table that cannot be read stops
// the node at start, naming the file.
func TestNodeRefusesBadGCPTable(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"missing.json": "", "bad.json": `{"GCPPrefixFormatList": {"entry": [{"prefix": "x1", "gcpLength": 7}]}}`} {
		cfg := testConfig(filepath.Join(dir, "data-"+name))
		cfg.GCPTable = filepath.Join(dir, name)
		if content != "" {
			if err := os.WriteFile(cfg.GCPTable, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		n, err := Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		cancel()
		if err == nil {
			shutdown(t, n)
			t.Errorf("%s: the node started", name)
		} else if !strings.Contains(err.Error(), "gcp-table") {
			t.Errorf("%s: %v, want an error naming gcp-table", name, err)
		}
	}
}
