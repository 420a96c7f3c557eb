package node

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// restViolation posts body to path and returns the HTTP status and the
// first google.rpc.BadRequest field violation of the error body.
func restViolation(t *testing.T, n *Node, token, path, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+n.HTTPAddr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Details []struct {
			Type            string `json:"@type"`
			FieldViolations []struct {
				Field       string `json:"field"`
				Description string `json:"description"`
			} `json:"fieldViolations"`
		} `json:"details"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("%s: error body %q: %v", path, data, err)
	}
	for _, d := range st.Details {
		if d.Type == "type.googleapis.com/google.rpc.BadRequest" && len(d.FieldViolations) > 0 {
			return resp.StatusCode, d.FieldViolations[0].Field, d.FieldViolations[0].Description
		}
	}
	return resp.StatusCode, "", string(data)
}

// grpcViolation returns the code of err and its first field violation.
func grpcViolation(err error) (codes.Code, string, string) {
	st := status.Convert(err)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return st.Code(), br.GetFieldViolations()[0].GetField(), br.GetFieldViolations()[0].GetDescription()
		}
	}
	return st.Code(), "", st.Message()
}

// TestErrorsCarryFieldViolations sends requests that break a field's rule
// through REST and gRPC: REST answers HTTP 400 and gRPC InvalidArgument,
// both with a google.rpc.BadRequest detail naming the field and the rule.
func TestErrorsCarryFieldViolations(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	ctx := context.Background()
	token := a.party(apiPharm, pb.Role_ROLE_PHARMACY)
	conn := plainConn(t, n)
	verification := pb.NewVerificationServiceClient(conn)
	provenance := pb.NewProvenanceServiceClient(conn)

	for _, c := range []struct {
		name, path, body string
		call             func() error
		field, rule      string
	}{
		{"no pack", "/v1/packs:verify", `{}`,
			func() error {
				_, err := verification.VerifyPack(bearer(ctx, token), &pb.VerifyPackRequest{})
				return err
			},
			"pack", "required"},
		{"bad GTIN", "/v1/packs:verify", `{"pack":{"code":{"gtin":"09506000134353","serial":"S"}}}`,
			func() error {
				_, err := verification.VerifyPack(bearer(ctx, token), &pb.VerifyPackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: "09506000134353", Serial: "S"})})
				return err
			},
			"pack.code.gtin", "check digit"},
		{"bad barcode", "/v1/packs:dispense", `{"pack":{"barcode":"(01)123"}}`,
			func() error {
				_, err := verification.DispensePack(bearer(ctx, token), &pb.DispensePackRequest{Pack: pb.BarcodeInput("(01)123")})
				return err
			},
			"pack.barcode", ""},
		{"bad location", "/v1/packs:verify", `{"pack":{"barcode":"(01)09506000134352(21)S"},"locationGln":"12"}`,
			func() error {
				_, err := verification.VerifyPack(bearer(ctx, token), &pb.VerifyPackRequest{Pack: pb.BarcodeInput("(01)09506000134352(21)S"), LocationGln: "12"})
				return err
			},
			"locationGln", "13 digits"},
		{"page size", "", "",
			func() error {
				_, err := provenance.ListAlerts(bearer(ctx, token), &pb.ListAlertsRequest{PageSize: 5000})
				return err
			},
			"pageSize", "1–1,000"},
	} {
		if c.path != "" {
			code, field, desc := restViolation(t, n, token, c.path, c.body)
			if code != http.StatusBadRequest || field != c.field || !strings.Contains(desc, c.rule) {
				t.Errorf("%s over REST: HTTP %d, field %q, %q; want 400 on %s naming %q", c.name, code, field, desc, c.field, c.rule)
			}
		}
		code, field, desc := grpcViolation(c.call())
		if code != codes.InvalidArgument || field != c.field || !strings.Contains(desc, c.rule) {
			t.Errorf("%s over gRPC: %v, field %q, %q; want InvalidArgument on %s naming %q", c.name, code, field, desc, c.field, c.rule)
		}
	}
	// A oneof given both ways is refused by the decoder (no field detail).
	req, _ := http.NewRequest(http.MethodPost, "http://"+n.HTTPAddr()+"/v1/packs:verify",
		bytes.NewReader([]byte(`{"pack":{"barcode":"(01)09506000134352(21)S","code":{"gtin":"09506000134352","serial":"S"}}}`)))
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("barcode and code together: %v %v, want HTTP 400", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestPageTokensAreBoundToTheirQuery pages through a pack's history, a
// batch trace's holders and the parties, and checks that the pages add up
// to the whole answer and that a token is refused with another query or
// when it is not one the API issued.
func TestPageTokensAreBoundToTheirQuery(t *testing.T) {
	c := newChain(t, "P1", "P2", "P3")
	ctx := context.Background()
	mfr, ws, pharm, regulator, regToken, at := c.mfr, c.ws, c.pharm, c.regulator, c.regToken, c.at
	provenance := pb.NewProvenanceServiceClient(c.conn)
	pk := packEpc
	a := &api{t: t, n: c.n}

	ship := func(serial, gln string) {
		captureEvent(t, mfr, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_SHIPPING,
			EventTime: at(), Epcs: []*pb.Epc{pk(serial)}, Destinations: owner(gln)})
	}
	receive := func(by *restClient, serial string) {
		captureEvent(t, by, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_RECEIVING,
			EventTime: at(), Epcs: []*pb.Epc{pk(serial)}})
	}
	ship("P1", apiWs)
	receive(ws, "P1")
	ship("P2", apiPharm)
	receive(pharm, "P2")

	// History: pages of 2 add up to the whole history, in ledger order.
	whole, err := provenance.GetPackHistory(bearer(ctx, regToken), &pb.GetPackHistoryRequest{Gtin: apiGTIN, Serial: "P1"})
	if err != nil || len(whole.GetEntries()) != 3 || whole.GetNextPageToken() != "" {
		t.Fatalf("whole history: %d entries, next %q, %v; want commissioning, shipping, receiving on one page", len(whole.GetEntries()), whole.GetNextPageToken(), err)
	}
	var indexes []uint64
	var firstToken string
	for req := (&pb.GetPackHistoryRequest{Gtin: apiGTIN, Serial: "P1", PageSize: 2}); ; {
		page, err := provenance.GetPackHistory(bearer(ctx, regToken), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.GetEntries()) > 2 || page.GetCheckpoint() == nil || page.GetPack().GetCustodianGln() != apiWs {
			t.Fatalf("history page: %v", page)
		}
		for _, e := range page.GetEntries() {
			indexes = append(indexes, e.GetIndex())
		}
		if firstToken == "" {
			firstToken = page.GetNextPageToken()
		}
		if page.GetNextPageToken() == "" {
			break
		}
		req.PageToken = page.GetNextPageToken()
	}
	if len(indexes) != 3 || indexes[0] != whole.GetEntries()[0].GetIndex() || indexes[2] != whole.GetEntries()[2].GetIndex() {
		t.Errorf("paged history indexes %v, want those of %v", indexes, whole.GetEntries())
	}
	// The token of P1's history is refused for P2's, and over REST too.
	_, err = provenance.GetPackHistory(bearer(ctx, regToken), &pb.GetPackHistoryRequest{Gtin: apiGTIN, Serial: "P2", PageToken: firstToken})
	if code, field, desc := grpcViolation(err); code != codes.InvalidArgument || field != "pageToken" || !strings.Contains(desc, "another query") {
		t.Errorf("P1's token for P2's history: %v %q %q, want InvalidArgument on pageToken", code, field, desc)
	}
	wantStatus(t, "P1's token for P2's history over REST", regulator.Get(ctx, "/v1/products/"+apiGTIN+"/packs/P2/history?pageToken="+firstToken, nil),
		http.StatusBadRequest, "pageToken")
	wantStatus(t, "an offset as a token", regulator.Get(ctx, "/v1/products/"+apiGTIN+"/packs/P1/history?pageToken=2", nil),
		http.StatusBadRequest, "pageToken")

	// Trace holders, one per page: the manufacturer (P3), the wholesaler
	// (P1), the pharmacy (P2), in GLN order; the counts are whole on every
	// page.
	var holders []string
	var traceToken string
	for req := (&pb.TraceBatchRequest{Gtin: apiGTIN, Lot: "L1", PageSize: 1}); ; {
		page, err := provenance.TraceBatch(bearer(ctx, regToken), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.GetCounts()) != 3 || len(page.GetHolders()) > 1 {
			t.Fatalf("trace page: %v", page)
		}
		for _, h := range page.GetHolders() {
			holders = append(holders, h.GetGln())
		}
		if traceToken == "" {
			traceToken = page.GetNextPageToken()
		}
		if page.GetNextPageToken() == "" {
			break
		}
		req.PageToken = page.GetNextPageToken()
	}
	if want := []string{apiMfr, apiWs, apiPharm}; strings.Join(holders, ",") != strings.Join(want, ",") {
		t.Errorf("holders by page: %v, want %v", holders, want)
	}
	_, err = provenance.TraceBatch(bearer(ctx, regToken), &pb.TraceBatchRequest{Gtin: apiGTIN, Lot: "L2", PageToken: traceToken})
	if code, field, _ := grpcViolation(err); code != codes.InvalidArgument || field != "pageToken" {
		t.Errorf("a trace token for another lot: %v %q, want InvalidArgument on pageToken", code, field)
	}
	_, err = provenance.GetPackHistory(bearer(ctx, regToken), &pb.GetPackHistoryRequest{Gtin: apiGTIN, Serial: "P1", PageToken: traceToken})
	if code, field, _ := grpcViolation(err); code != codes.InvalidArgument || field != "pageToken" {
		t.Errorf("a trace token for a history: %v %q, want InvalidArgument on pageToken", code, field)
	}

	// Parties (admin): pages of 2, and a parties token refused by products.
	admin := a.as(a.adminToken())
	var parties []string
	var partyToken string
	for tok := ""; ; {
		page := &pb.ListPartiesResponse{}
		if err := admin.Get(ctx, "/v1/parties?pageSize=2&pageToken="+tok, page); err != nil {
			t.Fatal(err)
		}
		for _, p := range page.GetParties() {
			parties = append(parties, p.GetGln())
		}
		if partyToken == "" {
			partyToken = page.GetNextPageToken()
		}
		if tok = page.GetNextPageToken(); tok == "" {
			break
		}
	}
	if len(parties) != 5 { // admin, manufacturer, wholesaler, pharmacy, regulator
		t.Errorf("paged parties %v, want 5", parties)
	}
	wantStatus(t, "a parties token for products", admin.Get(ctx, "/v1/products?pageToken="+partyToken, nil), http.StatusBadRequest, "another query")
}
