package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	bt "github.com/pedigree-project/pedigree/services/internal/console/browsertest"
)

// consoleFixture is a node with a manufacturer, a wholesaler, a pharmacy
// and a regulator, product apiGTIN with lot L1 (serials S1–S5, expiry
// 281200), and S2 packed in a case and a pallet, shipped to the
// wholesaler, unpacked, shipped on to the pharmacy and received there.
type consoleFixture struct {
	n             *Node
	base          string
	tok           map[string]string // token by GLN
	rest          map[string]*restClient
	case_, pallet string
}

func newConsoleFixture(t *testing.T) *consoleFixture {
	t.Helper()
	cfg := testConfig(t.TempDir())
	cfg.Resolver.Rate = 0
	n := startNode(t, cfg)
	t.Cleanup(func() { shutdown(t, n) })
	a := &api{t: t, n: n}
	f := &consoleFixture{n: n, base: "http://" + n.HTTPAddr(), tok: map[string]string{}, rest: map[string]*restClient{}}
	for gln, role := range map[string]pb.Role{apiMfr: pb.Role_ROLE_MANUFACTURER, apiWs: pb.Role_ROLE_WHOLESALER,
		apiPharm: pb.Role_ROLE_PHARMACY, apiReg: pb.Role_ROLE_REGULATOR} {
		f.tok[gln] = a.party(gln, role)
		f.rest[gln] = a.as(f.tok[gln])
	}
	mfr, ws, pharm := f.rest[apiMfr], f.rest[apiWs], f.rest[apiPharm]
	commissionBatch(t, mfr, "L1", "S1", "S2", "S3", "S4", "S5")
	pk := func(s string) *pb.Epc { return &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: apiGTIN, Serial: s}}} }
	box := func(s string) *pb.Epc { return &pb.Epc{Id: &pb.Epc_Sscc{Sscc: s}} }
	clock := time.Now().Add(-time.Hour)
	at := func() *timestamppb.Timestamp { clock = clock.Add(time.Minute); return timestamppb.New(clock) }
	to := func(gln string) []*pb.SourceDest {
		return []*pb.SourceDest{{Type: pb.SourceDestType_SOURCE_DEST_TYPE_OWNING_PARTY, Gln: gln}}
	}
	f.case_, f.pallet = ssccFor("7"), ssccFor("8")
	for _, step := range []struct {
		by *restClient
		ev *pb.ScanEvent
	}{
		{mfr, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_AGGREGATION, Action: pb.Action_ACTION_ADD, BizStep: pb.BizStep_BIZ_STEP_PACKING, Parent: box(f.case_), Epcs: []*pb.Epc{pk("S2"), pk("S3")}}},
		{mfr, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_AGGREGATION, Action: pb.Action_ACTION_ADD, BizStep: pb.BizStep_BIZ_STEP_PACKING, Parent: box(f.pallet), Epcs: []*pb.Epc{box(f.case_)}}},
		{mfr, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_SHIPPING, Epcs: []*pb.Epc{box(f.pallet)}, Destinations: to(apiWs)}},
		{ws, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_RECEIVING, Epcs: []*pb.Epc{box(f.pallet)}}},
		{ws, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_AGGREGATION, Action: pb.Action_ACTION_DELETE, BizStep: pb.BizStep_BIZ_STEP_UNPACKING, Parent: box(f.case_), Epcs: []*pb.Epc{pk("S2")}}},
		{ws, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_SHIPPING, Epcs: []*pb.Epc{pk("S2")}, Destinations: to(apiPharm)}},
		{pharm, &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_RECEIVING, Epcs: []*pb.Epc{pk("S2")}}},
	} {
		step.ev.EventTime = at()
		captureEvent(t, step.by, step.ev)
	}
	return f
}

// browser opens a tab signed in as the party gln, on the page sign-in
// leads to.
func (f *consoleFixture) browser(t *testing.T, gln, landing string) context.Context {
	t.Helper()
	ctx := bt.New(t)
	f.signIn(t, ctx, gln, landing)
	return ctx
}

func (f *consoleFixture) signIn(t *testing.T, ctx context.Context, gln, landing string) {
	t.Helper()
	bt.Do(t, ctx, "sign in as "+gln,
		chromedp.Navigate(f.base+"/ui/signin"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), f.tok[gln]+kb.Enter))
	bt.WaitText(t, ctx, "#who", "Party "+gln)
	bt.WaitText(t, ctx, "h1", landing)
}

// scan types code into the counter's scan field as a keyboard-wedge
// scanner does (ending with Enter) and returns the verdict's heading once
// the answer is in.
func scan(t *testing.T, ctx context.Context, code string) string {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#recent li').length`))
	if err != nil {
		t.Fatal(err)
	}
	bt.Do(t, ctx, "scan "+code, chromedp.SendKeys(chromedp.ID("scan"), code+kb.Enter))
	bt.WaitCount(t, ctx, "#recent li", n+1)
	head, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("verdict-head")))
	if err != nil {
		t.Fatal(err)
	}
	return head
}

func wantVerdict(t *testing.T, ctx context.Context, what, got, want, class string) {
	t.Helper()
	cls, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('verdict').className`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(got), strings.ToLower(want)) || !strings.Contains(cls, class) {
		t.Fatalf("%s: verdict %q (%s), want %q (%s)", what, got, cls, want, class)
	}
	bt.Screenshot(t, ctx, what)
}

// TestConsolePharmacyCounter: a pharmacist signs in, scans a genuine pack
// typed by a keyboard-wedge scanner (GS stand-in '|'), dispenses it, scans
// it again and reads "already dispensed"; a counterfeit shows red; undo
// brings a decommissioned pack back; sign-out forgets the token.
func TestConsolePharmacyCounter(t *testing.T) {
	f := newConsoleFixture(t)
	ctx := bt.New(t)
	bt.Do(t, ctx, "a tablet's screen", chromedp.EmulateViewport(768, 1024))
	bt.Do(t, ctx, "open the sign-in page", chromedp.Navigate(f.base+"/ui/signin"))
	bt.CheckAccessible(t, ctx, "sign-in page")
	f.signIn(t, ctx, apiPharm, "Pharmacy counter")
	bt.WaitText(t, ctx, "#who", "Pharmacy")

	wedge := "01" + apiGTIN + "17281200" + "10L1|21S1" // element string, GS typed as '|'
	wantVerdict(t, ctx, "genuine pack", scan(t, ctx, wedge), "May dispense", "ok")
	bt.CheckAccessible(t, ctx, "counter, green")
	// By keyboard alone: from the scan field, Tab to the dispense button
	// (its focus visible) and press Enter.
	bt.Do(t, ctx, "tab to dispense", chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab))
	focus, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(e => e.id + ' ' + getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth)(document.activeElement)`))
	if err != nil || focus != "dispense solid 3px" {
		t.Fatalf("after three Tabs the focus is %q (%v), want the dispense button with a visible outline", focus, err)
	}
	bt.Do(t, ctx, "dispense", chromedp.KeyEvent(kb.Enter))
	bt.WaitText(t, ctx, "#action-status", "Dispensed")
	bt.Screenshot(t, ctx, "dispensed")
	wantVerdict(t, ctx, "dispensed pack scanned again", scan(t, ctx, wedge), "already dispensed", "stop")

	counterfeit := "(01)" + apiGTIN + "(17)281200(10)L1(21)FAKE99"
	wantVerdict(t, ctx, "counterfeit", scan(t, ctx, counterfeit), "counterfeit suspected", "stop")
	bt.CheckAccessible(t, ctx, "counter, red")

	dl := f.base + "/01/" + apiGTIN + "/10/L1/21/S4?17=281200" // a Digital Link QR code
	wantVerdict(t, ctx, "digital link", scan(t, ctx, dl), "May dispense", "ok")
	bt.Do(t, ctx, "decommission",
		chromedp.SetValue(chromedp.ID("decommission-reason"), "DECOMMISSION_REASON_CHECKED_OUT"),
		chromedp.Click(chromedp.ID("decommission")))
	bt.WaitText(t, ctx, "#action-status", "Decommissioned: Checked out")
	bt.Do(t, ctx, "undo", chromedp.Click(chromedp.ID("undo")))
	bt.WaitText(t, ctx, "#action-status", "active again")
	bt.WaitCount(t, ctx, "#recent li", 7)
	bt.Screenshot(t, ctx, "undone")

	p := &pb.GetPackResponse{}
	if err := f.rest[apiReg].Get(context.Background(), "/v1/products/"+apiGTIN+"/packs/S4", p); err != nil || p.GetStatus() != pb.PackStatus_PACK_STATUS_ACTIVE {
		t.Fatalf("S4 after undo: %v %v, want active", p.GetStatus(), err)
	}
	bt.Do(t, ctx, "sign out", chromedp.Click(chromedp.ID("signout")))
	bt.WaitText(t, ctx, "h1", "Sign in")
	left, err := chromedp.Run(ctx, chromedp.Evaluate[int](`sessionStorage.length`))
	if err != nil || left != 0 {
		t.Fatalf("after sign-out sessionStorage holds %d items (%v)", left, err)
	}
}

// TestConsoleRecallOnManufacturerScreenTurnsCounterRed: the manufacturer
// registers a batch, commissions it with a progress bar, and recalls it
// after a confirmation; the pharmacy's answer for a pack of it turns from
// "may dispense" to "recalled"; the trace shows where the packs are.
func TestConsoleRecallOnManufacturerScreenTurnsCounterRed(t *testing.T) {
	f := newConsoleFixture(t)
	mctx := f.browser(t, apiMfr, "Products and batches")
	bt.WaitText(t, mctx, "#products tbody", "Paracetamol")
	bt.Do(t, mctx, "register batch L9",
		chromedp.SendKeys(chromedp.ID("b-gtin"), apiGTIN),
		chromedp.SendKeys(chromedp.ID("b-lot"), "L9"),
		chromedp.SendKeys(chromedp.ID("b-expiry"), "281100"),
		chromedp.Click(chromedp.ID("batch-create")))
	bt.WaitText(t, mctx, "#batch-status", "Registered lot L9")
	bt.Do(t, mctx, "commission", chromedp.SetValue(chromedp.ID("c-count"), "30"), chromedp.Click(chromedp.CSS("#commission-form button")))
	bt.WaitText(t, mctx, "#commission-status", "Commissioned 30 serials")
	if v, err := chromedp.Run(mctx, chromedp.Evaluate[bool](`(p => p.value === p.max && p.max > 0)(document.getElementById('commission-progress'))`)); err != nil || !v {
		t.Fatalf("progress bar not full after commissioning (%v)", err)
	}
	bt.Screenshot(t, mctx, "commissioned")
	bt.CheckAccessible(t, mctx, "manufacturer")

	packs := &pb.ListBatchPacksResponse{}
	if err := f.rest[apiMfr].Get(context.Background(), "/v1/products/"+apiGTIN+"/batches/L9/packs", packs); err != nil || len(packs.GetPacks()) != 30 {
		t.Fatalf("batch L9 packs: %d, %v", len(packs.GetPacks()), err)
	}
	code := fmt.Sprintf("(01)%s(17)281100(10)L9(21)%s", apiGTIN, packs.GetPacks()[0].GetSerial())
	pctx := f.browser(t, apiPharm, "Pharmacy counter")
	wantVerdict(t, pctx, "before the recall", scan(t, pctx, code), "May dispense", "ok")

	bt.Do(t, mctx, "recall with confirmation",
		chromedp.SendKeys(chromedp.ID("r-reason"), "contamination"),
		chromedp.Click(chromedp.ID("recall")),
		chromedp.WaitVisible(chromedp.ID("confirm-yes")))
	bt.Screenshot(t, mctx, "recall confirmation")
	bt.Do(t, mctx, "confirm recall", chromedp.Click(chromedp.ID("confirm-yes")))
	bt.WaitText(t, mctx, "#batch-status", "L9 recalled")
	bt.WaitText(t, mctx, "#batch-fields", "recalled")

	wantVerdict(t, pctx, "after the recall", scan(t, pctx, code), "recalled", "stop")

	bt.Do(t, mctx, "trace", chromedp.Click(chromedp.ID("trace-link")))
	bt.WaitText(t, mctx, "#trace-counts tbody", "recalled")
	bt.WaitText(t, mctx, "#trace-counts tbody", "Party "+apiMfr)
	bt.WaitText(t, mctx, "#trace-counts tbody", "30")
	bt.Screenshot(t, mctx, "trace")
	bt.CheckAccessible(t, mctx, "trace")
}

// verifyAPI sends a verification of code as the pharmacy.
func (f *consoleFixture) verifyAPI(t *testing.T, code string) *pb.VerifyPackResponse {
	t.Helper()
	r := &pb.VerifyPackResponse{}
	if err := f.rest[apiPharm].Post(context.Background(), "/v1/packs:verify", &pb.VerifyPackRequest{Pack: pb.BarcodeInput(code)}, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// alertOf returns the ID of the alert raised about the pack of serial.
func (f *consoleFixture) alertOf(t *testing.T, serial string) string {
	t.Helper()
	r := &pb.ListAlertsResponse{}
	if err := f.rest[apiReg].Get(context.Background(), "/v1/alerts?gtin="+apiGTIN, r); err != nil {
		t.Fatal(err)
	}
	for _, a := range r.GetAlerts() {
		if a.GetEpc().GetPack().GetSerial() == serial {
			return a.GetAlertId()
		}
	}
	t.Fatalf("no alert about %s in %v", serial, r.GetAlerts())
	return ""
}

// TestConsoleRegulatorReviewsAlertToClosed: an alert raised at a counter
// shows in the regulator's queue, a new one arrives live, and the
// regulator takes one on and closes it with a comment.
func TestConsoleRegulatorReviewsAlertToClosed(t *testing.T) {
	f := newConsoleFixture(t)
	f.verifyAPI(t, "(01)"+apiGTIN+"(17)281200(10)L1(21)FAKE1")
	ctx := f.browser(t, apiReg, "Alert queue")
	bt.WaitText(t, ctx, "#live", "Live")
	bt.WaitText(t, ctx, "#alerts tbody", "FAKE1")

	f.verifyAPI(t, "(01)"+apiGTIN+"(17)281200(10)L1(21)FAKE2")
	bt.WaitText(t, ctx, "#live-news", "New alert")
	bt.WaitText(t, ctx, "#alerts tbody", "FAKE2")
	bt.Screenshot(t, ctx, "alert queue live")

	id := f.alertOf(t, "FAKE1")
	// The rows are redrawn as the queue changes: fill them in through the page.
	review := func(status, comment string) {
		t.Helper()
		bt.Do(t, ctx, "review "+status, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			document.getElementById('r-status-%[1]s').value = %[2]q;
			document.getElementById('r-comment-%[1]s').value = %[3]q;
			document.querySelector('form[data-alert="%[1]s"] button').click(); })()`, id, status, comment)))
	}
	review("ALERT_STATUS_INVESTIGATING", "asking the pharmacy for the pack")
	bt.WaitText(t, ctx, `tr[data-alert="`+id+`"]`, "Investigating")
	bt.WaitText(t, ctx, `tr[data-alert="`+id+`"]`, "asking the pharmacy")
	review("ALERT_STATUS_CLOSED_FALSE_POSITIVE", "scanning error, pack found genuine")
	bt.WaitText(t, ctx, `tr[data-alert="`+id+`"]`, "Closed: false positive")
	bt.WaitText(t, ctx, `tr[data-alert="`+id+`"]`, "scanning error")
	bt.Screenshot(t, ctx, "alert closed")
	bt.CheckAccessible(t, ctx, "alert queue")

	bt.Do(t, ctx, "filter open alerts", chromedp.SetValue(chromedp.ID("f-status"), "ALERT_STATUS_OPEN"), chromedp.Click(chromedp.CSS("#alert-filters button")))
	bt.WaitNone(t, ctx, `#alerts tbody tr[data-alert="`+id+`"]`)
	bt.WaitText(t, ctx, "#alerts tbody", "FAKE2")
	got := &pb.GetAlertResponse{}
	if err := f.rest[apiReg].Get(context.Background(), "/v1/alerts/"+id, got); err != nil || got.GetAlert().GetStatus() != pb.AlertStatus_ALERT_STATUS_CLOSED_FALSE_POSITIVE {
		t.Fatalf("alert %s: %v %v", id, got.GetAlert().GetStatus(), err)
	}
}

// TestConsolePackTimelineProofs: the regulator's timeline of a pack that
// travelled through a case and a pallet shows each step's party and place,
// the route and the containers, and "proofs verified in this browser"; a
// proof tampered on its way to the browser shows "proof FAILED". The
// ledger page checks the checkpoint and an entry's inclusion.
func TestConsolePackTimelineProofs(t *testing.T) {
	f := newConsoleFixture(t)
	ctx := f.browser(t, apiReg, "Alert queue")
	page := f.base + "/ui/pack?gtin=" + apiGTIN + "&serial=S2"
	bt.Do(t, ctx, "open the timeline", chromedp.Navigate(page))
	bt.WaitText(t, ctx, "#proof-status", "proofs verified in this browser")
	for _, want := range []string{"Commissioned", "Packed", "Shipped", "Received", "Unpacked", "Party " + apiWs, "Party " + apiPharm, f.pallet} {
		bt.WaitText(t, ctx, "#timeline", want)
	}
	bt.WaitText(t, ctx, "#containers", f.case_)
	bt.WaitText(t, ctx, "#containers", f.pallet)
	stops, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#route svg circle').length`))
	if err != nil || stops != 3 {
		t.Fatalf("route has %d stops (%v), want manufacturer, wholesaler, pharmacy", stops, err)
	}
	bt.WaitText(t, ctx, "#route svg title", fmt.Sprintf("Party %s (%[1]s) → Party %s (%[2]s) → Party %s (%[3]s)", apiMfr, apiWs, apiPharm))
	bt.Screenshot(t, ctx, "pack timeline verified")
	bt.CheckAccessible(t, ctx, "pack timeline")

	// Tamper with one proof hash of the history on its way to the page.
	ictx, stop := context.WithCancel(ctx)
	paused := chromedp.Events(ictx, fetch.RequestPaused)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: "*/packs/S2/history*", RequestStage: fetch.RequestStageResponse}}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for ev, err := range paused {
			if err != nil {
				done <- nil
				return
			}
			body, err := chromedp.Call(ctx, fetch.GetResponseBody, fetch.GetResponseBodyParams{RequestID: ev.RequestID})
			if err == nil {
				var b []byte
				if b, err = tamperHistory(body.Body); err == nil {
					_, err = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID,
						ResponseCode: ev.ResponseStatusCode, ResponseHeaders: ev.ResponseHeaders, Body: b})
				}
			}
			if err != nil {
				done <- err
				return
			}
		}
	}()
	bt.Do(t, ctx, "reload the timeline", chromedp.Navigate(page))
	bt.WaitText(t, ctx, "#proof-status", "proof FAILED")
	bt.WaitText(t, ctx, "#timeline", "proof FAILED")
	bt.Screenshot(t, ctx, "pack timeline tampered")
	stop()
	if err := <-done; err != nil {
		t.Fatalf("tampering: %v", err)
	}
	if _, err := chromedp.Call(ctx, fetch.Disable, struct{}{}); err != nil {
		t.Fatal(err)
	}

	bt.Do(t, ctx, "open the ledger page", chromedp.Navigate(f.base+"/ui/ledger"))
	bt.WaitText(t, ctx, "#proof-status", "Checkpoint signature verified in this browser")
	bt.Do(t, ctx, "check an entry", chromedp.SendKeys(chromedp.ID("e-index"), "3"+kb.Enter))
	bt.WaitText(t, ctx, "#entry-status", "proofs verified in this browser")
	bt.WaitText(t, ctx, "#entry-status", "hashed here")
	bt.Screenshot(t, ctx, "ledger")
	bt.CheckAccessible(t, ctx, "ledger")
	bt.Do(t, ctx, "open the home page", chromedp.Navigate(f.base+"/ui/"))
	bt.WaitText(t, ctx, "#home-party", "Regulator")
	bt.CheckAccessible(t, ctx, "home")
}

// tamperHistory flips one bit of the first proof hash of the last entry of
// a GetPackHistory answer.
func tamperHistory(body []byte) ([]byte, error) {
	var h map[string]any
	if err := json.Unmarshal(body, &h); err != nil {
		return nil, err
	}
	entries, _ := h["entries"].([]any)
	if len(entries) == 0 {
		return nil, fmt.Errorf("history has no entries: %s", body)
	}
	e, _ := entries[len(entries)-1].(map[string]any)
	proof, _ := e["inclusionProof"].([]any)
	if len(proof) == 0 {
		return nil, fmt.Errorf("last entry has no proof: %v", e)
	}
	s, _ := proof[0].(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("proof hash %q: %v", s, err)
	}
	b[0] ^= 1
	proof[0] = base64.StdEncoding.EncodeToString(b)
	return json.Marshal(h)
}

// TestConsoleResolverInBrowser: what a phone's browser shows for a
// genuine, an unknown and a recalled pack, and their GS1 linksets.
func TestConsoleResolverInBrowser(t *testing.T) {
	f := newConsoleFixture(t)
	ctx := context.Background()
	mfr := f.rest[apiMfr]
	if err := mfr.Post(ctx, "/v1/products/"+apiGTIN+"/batches", &pb.Batch{Lot: "L2", Expiry: "281000"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := mfr.Post(ctx, "/v1/products/"+apiGTIN+"/batches/L2:commission", &pb.CommissionSerialsRequest{Serials: []string{"R1"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := mfr.Post(ctx, "/v1/products/"+apiGTIN+"/batches/L2:recall", &pb.RecallBatchRequest{Reason: "contamination"}, nil); err != nil {
		t.Fatal(err)
	}
	b := bt.New(t)
	for _, tc := range []struct {
		name, path, page string
		recalled         bool
	}{
		{"genuine", "/01/" + apiGTIN + "/10/L1/21/S5?17=281200", "Genuine pack", false},
		{"unknown", "/01/" + apiGTIN + "/10/L1/21/NOPE7?17=281200", "Unknown pack: possible counterfeit", false},
		{"recalled", "/01/" + apiGTIN + "/10/L2/21/R1?17=281000", "Recalled: do not use", true},
	} {
		bt.Do(t, b, "open "+tc.name, chromedp.Navigate(f.base+tc.path))
		bt.WaitText(t, b, "h1", tc.page)
		bt.Screenshot(t, b, "resolver "+tc.name)
		sep := "&"
		bt.Do(t, b, "linkset of "+tc.name, chromedp.Navigate(f.base+tc.path+sep+"linkType=all"))
		text := bt.WaitText(t, b, "body", "linkset")
		var ls struct {
			Linkset []map[string]json.RawMessage `json:"linkset"`
		}
		if err := json.Unmarshal([]byte(text), &ls); err != nil || len(ls.Linkset) != 1 {
			t.Fatalf("%s: linkset %q: %v", tc.name, text, err)
		}
		if _, ok := ls.Linkset[0]["https://gs1.org/voc/verificationService"]; !ok {
			t.Errorf("%s: linkset has no verificationService: %s", tc.name, text)
		}
		bt.Screenshot(t, b, "linkset "+tc.name)
		if !tc.recalled {
			continue
		}
		var links []struct{ Href string }
		if err := json.Unmarshal(ls.Linkset[0]["https://gs1.org/voc/recallStatus"], &links); err != nil || len(links) != 1 {
			t.Fatalf("recalled pack's linkset has no recallStatus link: %s", text)
		}
		bt.Do(t, b, "follow recallStatus", chromedp.Navigate(links[0].Href))
		bt.WaitText(t, b, "body", "true")
	}
}
