package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// resolverGet sends GET url with accept and does not follow redirects.
func resolverGet(t *testing.T, url, accept string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// resolverFixture is a node with a product, an active batch L1 (packs
// S1–S4, S2 dispensed) and a recalled batch L2 (pack R1), and a clock.
type resolverFixture struct {
	n     *Node
	a     *api
	clock *testClock
	base  string
	mfr   *restClient
	pharm *restClient
	glns  []string
}

func newResolverFixture(t *testing.T) *resolverFixture {
	t.Helper()
	cfg := testConfig(t.TempDir())
	clock := &testClock{}
	clock.Set(time.Now())
	cfg.now = clock.Now
	cfg.Resolver.Rate = 0
	n := startNode(t, cfg)
	t.Cleanup(func() { shutdown(t, n) })
	a := &api{t: t, n: n}
	ctx := context.Background()
	mfr := a.as(a.party(apiMfr, pb.Role_ROLE_MANUFACTURER))
	pharm := a.as(a.party(apiPharm, pb.Role_ROLE_PHARMACY))
	commissionBatch(t, mfr, "L1", "S1", "S2", "S3", "S4")
	if err := mfr.Post(ctx, "/v1/products/"+apiGTIN+"/batches", &pb.Batch{Lot: "L2", Expiry: "281000"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := mfr.Post(ctx, "/v1/products/"+apiGTIN+"/batches/L2:commission", &pb.CommissionSerialsRequest{Serials: []string{"R1"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := mfr.Post(ctx, "/v1/products/"+apiGTIN+"/batches/L2:recall", &pb.RecallBatchRequest{Reason: "contamination"}, nil); err != nil {
		t.Fatal(err)
	}
	pk := &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: apiGTIN, Serial: "S2"}}}
	at := timestamppb.New(clock.Now().Add(-time.Hour))
	captureEvent(t, mfr, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE,
		BizStep: pb.BizStep_BIZ_STEP_SHIPPING, EventTime: at, Epcs: []*pb.Epc{pk},
		Destinations: []*pb.SourceDest{{Type: pb.SourceDestType_SOURCE_DEST_TYPE_OWNING_PARTY, Gln: apiPharm}}})
	captureEvent(t, pharm, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE,
		BizStep: pb.BizStep_BIZ_STEP_RECEIVING, EventTime: timestamppb.New(at.AsTime().Add(time.Minute)), Epcs: []*pb.Epc{pk}})
	if err := pharm.Post(ctx, "/v1/packs:dispense", &pb.DispensePackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "S2"})}, nil); err != nil {
		t.Fatal(err)
	}
	return &resolverFixture{n: n, a: a, clock: clock, base: "http://" + n.HTTPAddr(), mfr: mfr, pharm: pharm,
		glns: []string{apiMfr, apiPharm, DefaultAdminGLN, "Party " + apiMfr, "Party " + apiPharm, "Pedigree administrator"}}
}

// page fetches a resolver page as a phone's browser does and checks what
// every page must hold and must not.
func (f *resolverFixture) page(t *testing.T, path string, status int, words ...string) string {
	t.Helper()
	resp, body := resolverGet(t, f.base+path, "text/html,application/xhtml+xml,*/*;q=0.8")
	if resp.StatusCode != status {
		t.Fatalf("GET %s = %d, want %d: %s", path, resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	for _, w := range words {
		if !strings.Contains(body, w) {
			t.Errorf("GET %s: page does not say %q:\n%s", path, w, body)
		}
	}
	for _, g := range f.glns {
		if strings.Contains(body, g) {
			t.Errorf("GET %s: page names %q", path, g)
		}
	}
	h := resp.Header
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'none'") {
		t.Errorf("GET %s: CSP %q", path, csp)
	}
	if h.Get("Set-Cookie") != "" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" {
		t.Errorf("GET %s: headers %v", path, h)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "style=") || strings.Contains(body, "http://") && !strings.Contains(path, "http") {
		t.Errorf("GET %s: page has script, inline style or an absolute link:\n%s", path, body)
	}
	return body
}

const (
	rsvGenuine = "Genuine pack"
	rsvUnknown = "Unknown pack: possible counterfeit"
	rsvNotGen  = "Not genuine"
	rsvFull    = "Scan the full code"
)

// TestResolverPage: what a patient's phone shows for each kind of pack,
// with no holder named, and that the checks are not scans: nothing reaches
// the ledger and no alert is raised.
func TestResolverPage(t *testing.T) {
	f := newResolverFixture(t)
	g := "/01/" + apiGTIN
	for _, c := range []struct {
		name, path string
		status     int
		words      []string
	}{
		{"genuine", g + "/10/L1/21/S1?17=281200", 200, []string{rsvGenuine, "may be used", "Paracetamol", "S1", "L1"}},
		{"genuine behind a leading path", "/qr/pack" + g + "/10/L1/21/S1?17=281200", 200, []string{rsvGenuine}},
		{"genuine, lot in the query", g + "/21/S1?10=L1&17=281200", 200, []string{rsvGenuine}},
		{"unknown serial", g + "/10/L1/21/NOPE1?17=281200", 200, []string{rsvUnknown, "Do not use", "pharmacist"}},
		{"unknown product", "/01/09506000134376/10/L1/21/S1?17=281200", 200, []string{rsvUnknown, "Not registered"}},
		{"wrong lot", g + "/10/L2/21/S1?17=281200", 200, []string{rsvNotGen, "Do not use"}},
		{"wrong expiry", g + "/10/L1/21/S1?17=281100", 200, []string{rsvNotGen}},
		{"missing expiry", g + "/10/L1/21/S1", 200, []string{rsvFull, "cannot be confirmed genuine"}},
		{"missing lot", g + "/21/S1?17=281200", 200, []string{rsvFull}},
		{"recalled", g + "/10/L2/21/R1?17=281000", 200, []string{"Recalled: do not use"}},
		{"dispensed", g + "/10/L1/21/S2?17=281200", 200, []string{"Already dispensed"}},
		{"bad check digit", "/01/09506000134353/10/L1/21/S1?17=281200", 400, []string{"could not be checked", "check digit"}},
		{"markup in a serial is text", g + "/10/L1/21/%3Cscript%3E?17=281200", 200, []string{rsvUnknown, "&lt;script&gt;"}},
		{"qualifiers out of order", g + "/21/S1/10/L1?17=281200", 400, []string{"could not be checked"}},
		{"GTIN only", g, 400, []string{"does not identify one pack"}},
		{"compressed", "/ARHE4WhIYqEQNy", 400, []string{"compressed GS1 Digital Link"}},
		{"too long", g + "/10/L1/21/S1?17=281200&x=" + strings.Repeat("a", 600), 414, []string{"longer than"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := f.page(t, c.path, c.status, c.words...)
			if c.status == 200 && !strings.HasPrefix(c.name, "genuine") && strings.Contains(body, rsvGenuine) {
				t.Errorf("says genuine:\n%s", body)
			}
		})
	}
	// Expired: the same pack after its batch's expiry (December 2028).
	f.clock.Set(time.Date(2029, 1, 15, 12, 0, 0, 0, time.UTC))
	f.page(t, g+"/10/L1/21/S1?17=281200", 200, "Expired: do not use")
	f.clock.Set(time.Now())

	// The stylesheet the pages link to is served; nothing else under /resolver/.
	resp, css := resolverGet(t, f.base+"/resolver/assets/resolver.css", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(css, ".verdict") {
		t.Errorf("stylesheet: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := resolverGet(t, f.base+"/resolver/assets/answer.html", ""); resp.StatusCode != 404 {
		t.Errorf("a template as an asset: %d, want 404", resp.StatusCode)
	}
	// The REST API and health are still the gateway's.
	if resp, _ := resolverGet(t, f.base+"/healthz", ""); resp.StatusCode != 200 {
		t.Errorf("/healthz = %d", resp.StatusCode)
	}

	// Read-only: a synchronous write after the checks is on the ledger
	// after anything they could have submitted; no alert names the unknown
	// serial or the mismatching scans.
	if err := f.pharm.Post(context.Background(), "/v1/packs:verify", &pb.VerifyPackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "NOPE2"})}, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.mfr.Post(context.Background(), "/v1/products/"+apiGTIN+"/batches/L1:withdraw", &pb.WithdrawBatchRequest{}, nil); err != nil {
		t.Fatal(err)
	}
	alerts := &pb.ListAlertsResponse{}
	if err := f.a.as(f.a.adminToken()).Get(context.Background(), "/v1/alerts", alerts); err != nil {
		t.Fatal(err)
	}
	var sawControl bool
	for _, al := range alerts.GetAlerts() {
		js, _ := json.Marshal(al.GetEvidence())
		s := al.GetMessage() + string(js)
		sawControl = sawControl || strings.Contains(s, "NOPE2")
		if strings.Contains(s, "NOPE1") || al.GetCode() == pb.AlertCode_ALERT_CODE_BATCH_MISMATCH || al.GetCode() == pb.AlertCode_ALERT_CODE_EXPIRY_MISMATCH {
			t.Errorf("a resolver check raised an alert: %v", al)
		}
	}
	if !sawControl {
		t.Fatalf("the pharmacy's verification of an unknown serial raised no alert either: %v", alerts)
	}
	f.page(t, g+"/10/L1/21/S1?17=281200", 200, "Withdrawn: do not use")

	// Regulators see counts of answers by kind, no identifiers.
	_, metrics := resolverGet(t, "http://"+f.n.MetricsAddr()+"/metrics", "")
	for _, want := range []string{`pedigree_resolver_answers_total{answer="unknown"} 3`, `pedigree_resolver_answers_total{answer="mismatch"} 2`,
		`pedigree_resolver_answers_total{answer="invalid"} 5`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(metrics, "NOPE1") || strings.Contains(metrics, apiGTIN) {
		t.Errorf("metrics carry an identifier")
	}
}
