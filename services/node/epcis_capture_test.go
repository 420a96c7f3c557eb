package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger/entry"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/epcisapi"
	"github.com/pedigree-project/pedigree/subjects"
)

// TestEPCISCaptureOfGS1Examples captures every GS1 example document
// (JSON-LD and XML) whose events all prepare today: each is accepted
// (202), its job finishes, and its receipt verifies offline; each event is
// recorded or refused by the ledger's rules (examples name products no
// party registered), and in each format some documents are recorded
// whole.
func TestEPCISCaptureOfGS1Examples(t *testing.T) {
	f := newEPCISFixture(t, testConfig(t.TempDir()))
	for _, set := range []struct {
		dir, ext, ctype string
		format          epcisapi.Format
	}{{"JSON", ".jsonld", "application/ld+json", epcisapi.JSON}, {"XML", ".xml", "application/xml", epcisapi.XML}} {
		docs := fullyPrepared(t, filepath.Join(gs1Examples, set.dir), set.ext, set.format, apiMfr)
		whole := 0
		for name, doc := range docs {
			v := finishedJob(t, f.n, f.mfr, postCapture(t, f.n, f.mfr, set.ctype, doc, ""))
			if v.Receipt == nil {
				t.Fatalf("%s: finished job without a receipt", name)
			}
			verifyReceipt(t, f.n, v.Receipt)
			got := outcomes(v.Receipt)
			if got["recorded"]+got["refused"]+got["duplicate"] != len(v.Receipt.Events) || len(v.Receipt.Events) == 0 {
				t.Errorf("%s: outcomes %v of %d events", name, got, len(v.Receipt.Events))
			}
			if v.Success != (got["refused"] == 0) || v.FinishedAt == "" || v.CaptureErrorBehaviour != "rollback" {
				t.Errorf("%s: success %v with outcomes %v; finished %q; behaviour %q", name, v.Success, got, v.FinishedAt, v.CaptureErrorBehaviour)
			}
			if v.Success {
				whole++
			}
		}
		t.Logf("%s: %d documents captured, %d recorded whole", set.dir, len(docs), whole)
		if whole == 0 {
			t.Errorf("%s: no example document was recorded whole", set.dir)
		}
	}
}

// TestEPCISCaptureRollbackProceedAndRetry: with rollback, one bad event
// means nothing reaches the ledger and the job fails at once, naming the
// event; with proceed, the others are recorded. The same document sent
// again records nothing twice: its events are duplicates of the first.
// XML is captured as JSON-LD is.
func TestEPCISCaptureRollbackProceedAndRetry(t *testing.T) {
	f := newEPCISFixture(t, testConfig(t.TempDir()))
	n := f.n
	doc := commissionDoc(serials("RB", 5), 2)

	size := n.ledger.Size()
	v := finishedJob(t, n, f.mfr, postCapture(t, n, f.mfr, "application/ld+json", doc, "rollback"))
	if v.Success || len(v.Errors) != 1 || v.Errors[0].Instance != "/epcisBody/eventList/2" || v.Receipt != nil {
		t.Fatalf("rollback: %+v", v)
	}
	if n.ledger.Size() != size {
		t.Fatalf("rollback grew the ledger from %d to %d entries", size, n.ledger.Size())
	}

	v = finishedJob(t, n, f.mfr, postCapture(t, n, f.mfr, "application/ld+json", doc, "proceed"))
	if v.Success || len(v.Errors) != 1 || v.Receipt == nil || outcomes(v.Receipt)["recorded"] != 4 {
		t.Fatalf("proceed: %+v", v)
	}
	verifyReceipt(t, n, v.Receipt)
	for _, e := range v.Receipt.Events {
		if e.Position == 2 || e.LedgerIndex == nil || !strings.HasPrefix(e.EventID, "ni:///sha-256;") {
			t.Errorf("proceed: event %+v", e)
		}
	}

	// The same document again: nothing new.
	size = n.ledger.Size()
	again := finishedJob(t, n, f.mfr, postCapture(t, n, f.mfr, "application/ld+json", doc, "proceed"))
	if got := outcomes(again.Receipt); got["duplicate"] != 4 || again.Success || len(again.Errors) != 1 {
		t.Fatalf("retry: outcomes %v, errors %v", got, again.Errors)
	}
	for i, e := range again.Receipt.Events {
		if e.DuplicateOf == nil || *e.DuplicateOf != *v.Receipt.Events[i].LedgerIndex {
			t.Errorf("retry: event %s is a duplicate of %v, want %d", e.EventID, e.DuplicateOf, *v.Receipt.Events[i].LedgerIndex)
		}
	}
	verifyReceipt(t, n, again.Receipt)
	if n.ledger.Size() != size {
		t.Errorf("the retried document grew the ledger from %d to %d entries", size, n.ledger.Size())
	}

	// XML of other packs, through the same path.
	xmlDoc := toXML(t, commissionDoc(serials("XML", 3), -1))
	x := finishedJob(t, n, f.mfr, postCapture(t, n, f.mfr, "application/xml", xmlDoc, ""))
	if !x.Success || outcomes(x.Receipt)["recorded"] != 3 {
		t.Fatalf("XML: %+v", x)
	}
	verifyReceipt(t, n, x.Receipt)

	// With its entries' bytes, which hash to the leaves proven.
	resp, body := epcisDo(t, n, http.MethodGet, "/epcis/capture/"+x.CaptureID+"?entries=true", f.mfr, "", nil, nil)
	var withData epcisapi.JobView
	if err := json.Unmarshal(body, &withData); err != nil || resp.StatusCode != http.StatusOK || len(withData.Receipt.Entries) == 0 {
		t.Fatalf("receipt with entries: HTTP %d %s", resp.StatusCode, body)
	}
	for _, e := range withData.Receipt.Entries {
		if tlog.RecordHash(e.Data) != tlog.Hash(e.LeafHash) {
			t.Errorf("entry %d: its bytes do not hash to its leaf", e.LedgerIndex)
		}
	}
}

// TestEPCISCaptureRefusals: over each limit 413 (a body declared too
// large is refused unread, one that lies about its size is read no
// further than the limit), an unknown media type 415, a schema violation
// 400 with its JSON pointer, an XML error 400 with its line, no token 401;
// each a problem+json with the version headers.
func TestEPCISCaptureRefusals(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.EPCISCapture = epcisapi.Limits{MaxEvents: 3, MaxBytes: 4096}
	f := newEPCISFixture(t, cfg)
	n := f.n
	problemOf := func(what string, resp *http.Response, body []byte, status int, field string) map[string]any {
		t.Helper()
		var p map[string]any
		if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s: HTTP %d %s %s, want %d problem+json", what, resp.StatusCode, resp.Header.Get("Content-Type"), body, status)
		}
		if p["status"] != float64(status) || p["type"] == "" || p["title"] == "" || p["pointer"] != field || resp.Header.Get("GS1-EPCIS-Version") != "2.0.0" || resp.Header.Get("GS1-CBV-Version") != "2.0.0" {
			t.Fatalf("%s: problem %v (headers %v), want status %d at %q", what, p, resp.Header, status, field)
		}
		return p
	}
	resp, body := epcisDo(t, n, http.MethodPost, "/epcis/capture", f.mfr, "application/ld+json", commissionDoc(serials("L", 4), -1), nil)
	problemOf("4 events", resp, body, http.StatusRequestEntityTooLarge, "GS1-EPCIS-Capture-Limit")
	if resp.Header.Get("GS1-EPCIS-Capture-Limit") != "3" || resp.Header.Get("GS1-EPCIS-Capture-File-Size-Limit") != "4096" {
		t.Errorf("413 without the limits: %v", resp.Header)
	}

	// Declared too large: refused before any of the body is sent.
	status, text := rawRequest(t, n, "POST /epcis/capture HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+f.mfr+
		"\r\nContent-Type: application/ld+json\r\nContent-Length: 67108864\r\n\r\n")
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(text, "GS1-EPCIS-Capture-File-Size-Limit") {
		t.Errorf("declared 64 MiB: HTTP %d %s", status, text)
	}
	// Chunked, no length: answered once the limit is passed, while the
	// client has not finished sending.
	chunk := strings.Repeat("a", 8192)
	status, text = rawRequest(t, n, "POST /epcis/capture HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+f.mfr+
		"\r\nContent-Type: application/ld+json\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\n"+chunk+"\r\n")
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked over the limit: HTTP %d %s", status, text)
	}

	resp, body = epcisDo(t, n, http.MethodPost, "/epcis/capture", f.mfr, "text/csv", []byte("a,b"), nil)
	problemOf("CSV", resp, body, http.StatusUnsupportedMediaType, "Content-Type")

	bad := bytes.Replace(commissionDoc(serials("S", 2), -1), []byte(`"action":"ADD"`), []byte(`"action":"ADDED"`), 1)
	resp, body = epcisDo(t, n, http.MethodPost, "/epcis/capture", f.mfr, "application/json", bad, nil)
	problemOf("schema", resp, body, http.StatusBadRequest, "/epcisBody/eventList/0/action")

	x := toXML(t, commissionDoc(serials("X", 2), -1))
	lines := bytes.Split(x, []byte("\n"))
	at := len(lines) / 2
	lines[at] = append([]byte("<broken"), lines[at]...)
	resp, body = epcisDo(t, n, http.MethodPost, "/epcis/capture", f.mfr, "application/xml", bytes.Join(lines, []byte("\n")), nil)
	if p := problemOfLine(t, resp, body); p == 0 {
		t.Errorf("XML error: no line in %s", body)
	}

	resp, body = epcisDo(t, n, http.MethodPost, "/epcis/capture", "", "application/json", commissionDoc(serials("S", 1), -1), nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: HTTP %d %s", resp.StatusCode, body)
	}
	resp, body = epcisDo(t, n, http.MethodPost, "/epcis/capture", f.mfr, "application/json", commissionDoc(serials("S", 1), -1), map[string]string{"GS1-Capture-Error-Behaviour": "sometimes"})
	problemOf("behaviour", resp, body, http.StatusBadRequest, "GS1-Capture-Error-Behaviour")
}

// TestEPCISCaptureJobsAreTheParty's: a party lists its own jobs, newest
// first, page by page; another party's job is not found (404, not 403).
func TestEPCISCaptureJobsAreThePartys(t *testing.T) {
	f := newEPCISFixture(t, testConfig(t.TempDir()))
	n := f.n
	var locs []string
	for i := range 3 {
		locs = append(locs, postCapture(t, n, f.mfr, "application/ld+json", commissionDoc(serials("J"+strconv.Itoa(i), 1), -1), ""))
	}
	resp, body := epcisDo(t, n, http.MethodGet, locs[0], f.mfr2, "", nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another party's job: HTTP %d %s", resp.StatusCode, body)
	}
	resp, _ = epcisDo(t, n, http.MethodGet, "/epcis/capture/nonsense", f.mfr, "", nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a malformed capture ID: HTTP %d", resp.StatusCode)
	}
	var got []string
	next := "/epcis/capture?perPage=2"
	for next != "" {
		resp, body := epcisDo(t, n, http.MethodGet, next, f.mfr, "", nil, nil)
		var page []epcisapi.JobView
		if err := json.Unmarshal(body, &page); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("list: HTTP %d %s", resp.StatusCode, body)
		}
		for _, j := range page {
			got = append(got, "/epcis/capture/"+j.CaptureID)
		}
		next = ""
		if l := resp.Header.Get("Link"); l != "" {
			next = strings.TrimPrefix(strings.SplitN(l, ">", 2)[0], "<")
		}
	}
	if len(got) != 3 || got[0] != locs[2] || got[2] != locs[0] {
		t.Fatalf("jobs listed %v, want %v newest first", got, locs)
	}
	resp, body = epcisDo(t, n, http.MethodGet, "/epcis/capture", f.mfr2, "", nil, nil)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "[]" {
		t.Fatalf("another party's list: HTTP %d %s", resp.StatusCode, body)
	}
}

// TestEPCISOptionsAndSingleEvents: OPTIONS announces the versions, limits
// and behaviours; POST /epcis/events takes one event (201 with its
// Location and receipt), refuses two, and answers 409 for an event ID the
// party used for another event.
func TestEPCISOptionsAndSingleEvents(t *testing.T) {
	f := newEPCISFixture(t, testConfig(t.TempDir()))
	n := f.n
	for _, path := range []string{"/epcis", "/epcis/capture", "/epcis/events"} {
		resp, _ := epcisDo(t, n, http.MethodOptions, path, "", "", nil, nil)
		h := resp.Header
		if resp.StatusCode != http.StatusNoContent || h.Get("Allow") == "" || h.Get("GS1-EPCIS-Version") != "2.0.0" || h.Get("GS1-CBV-Version") != "2.0.0" ||
			h.Get("GS1-EPCIS-Capture-Limit") != "10000" || h.Get("GS1-EPCIS-Capture-File-Size-Limit") == "" || h.Get("GS1-Capture-Error-Behaviour") != "rollback, proceed" ||
			h.Get("GS1-EPCIS-Min") == "" || h.Get("GS1-EPCIS-Max") != "2.0.0" || len(h.Values("GS1-Extensions")) == 0 {
			t.Errorf("OPTIONS %s: HTTP %d %v", path, resp.StatusCode, h)
		}
	}
	event := `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"ObjectEvent","eventID":"urn:uuid:7f3c2a52-1f7e-4c5e-9a0e-3f1c9d2b4a11",` +
		`"eventTime":"2026-11-30T09:00:00.000Z","eventTimeZoneOffset":"+00:00","action":"ADD","bizStep":"commissioning","disposition":"active",` +
		`"epcList":["https://id.gs1.org/01/` + apiGTIN + `/21/EV-1"],"ilmd":{"cbvmda:lotNumber":"L1"}}`
	resp, body := epcisDo(t, n, http.MethodPost, "/epcis/events", f.mfr, "application/ld+json", []byte(event), nil)
	var v epcisapi.JobView
	if err := json.Unmarshal(body, &v); err != nil || resp.StatusCode != http.StatusCreated ||
		resp.Header.Get("Location") != "/epcis/events/urn:uuid:7f3c2a52-1f7e-4c5e-9a0e-3f1c9d2b4a11" || !v.Success || v.Receipt == nil {
		t.Fatalf("one event: HTTP %d %v %s", resp.StatusCode, resp.Header, body)
	}
	verifyReceipt(t, n, v.Receipt)

	resp, body = epcisDo(t, n, http.MethodPost, "/epcis/events", f.mfr, "application/ld+json", commissionDoc(serials("EV2", 2), -1), nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("two events: HTTP %d %s", resp.StatusCode, body)
	}
	other := strings.Replace(event, "EV-1", "EV-9", 1)
	resp, body = epcisDo(t, n, http.MethodPost, "/epcis/events", f.mfr, "application/ld+json", []byte(other), nil)
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("a used event ID: HTTP %d %s", resp.StatusCode, body)
	}
}

// TestEPCISCaptureJobFinishesAfterARestart: a node stopped right after it
// answered 202 finishes the job when it starts again.
func TestEPCISCaptureJobFinishesAfterARestart(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, testConfig(dir))
	a := &api{t: t, n: n}
	mfr := a.party(apiMfr, pb.Role_ROLE_MANUFACTURER)
	ctx := context.Background()
	if err := a.as(mfr).Post(ctx, "/v1/products", &pb.Product{Gtin: apiGTIN, Name: "Paracetamol"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.as(mfr).Post(ctx, "/v1/products/"+apiGTIN+"/batches", &pb.Batch{Lot: "L1", Expiry: "281200"}, nil); err != nil {
		t.Fatal(err)
	}
	// The ledger's consumer is paused, so the job cannot finish before
	// the stop; the next start makes the consumer anew.
	consumer := "ledger-" + n.nodeKeyID
	if _, err := n.js.PauseConsumer(ctx, subjects.ScanStream, consumer, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	loc := postCapture(t, n, mfr, "application/ld+json", commissionDoc(serials("RS", 250), -1), "")
	resp, body := epcisDo(t, n, http.MethodGet, loc, mfr, "", nil, nil)
	if !strings.Contains(string(body), `"running":true`) {
		t.Fatalf("before the restart: HTTP %d %s", resp.StatusCode, body)
	}
	shutdown(t, n)

	n = startNode(t, testConfig(dir))
	defer shutdown(t, n)
	v := finishedJob(t, n, mfr, loc)
	if !v.Success || outcomes(v.Receipt)["recorded"] != 250 {
		t.Fatalf("after the restart: %+v", v)
	}
	verifyReceipt(t, n, v.Receipt)
}

// TestEPCISCaptureStoppedByAFullStreamKeepsWhatWasPublished: when the
// stream fills up half-way through a capture, the answer is 429, and the
// job keeps the events the stream took, which reach the ledger, and
// names the first one that was not published.
func TestEPCISCaptureStoppedByAFullStreamKeepsWhatWasPublished(t *testing.T) {
	f := newEPCISFixture(t, testConfig(t.TempDir()))
	n := f.n
	ctx := context.Background()
	doc := commissionDoc(serials("FULL", 500), -1)
	s, err := n.js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := info.Config
	cfg.MaxBytes = int64(info.State.Bytes) + int64(len(doc))*2/3
	if _, err := n.js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	resp, body := epcisDo(t, n, http.MethodPost, "/epcis/capture", f.mfr, "application/ld+json", doc, nil)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("capture into a full stream: HTTP %d %s", resp.StatusCode, body)
	}
	_, body = epcisDo(t, n, http.MethodGet, "/epcis/capture", f.mfr, "", nil, nil)
	var jobs []epcisapi.JobView
	if err := json.Unmarshal(body, &jobs); err != nil || len(jobs) != 1 {
		t.Fatalf("jobs: %s", body)
	}
	v := finishedJob(t, n, f.mfr, "/epcis/capture/"+jobs[0].CaptureID)
	got := outcomes(v.Receipt)
	if v.Success || len(v.Errors) != 1 || got["recorded"] == 0 || got["recorded"] != len(v.Receipt.Events) || got["recorded"]%100 != 0 ||
		v.Errors[0].Instance != "/epcisBody/eventList/"+strconv.Itoa(got["recorded"]) {
		t.Fatalf("job after a full stream: outcomes %v, errors %+v", got, v.Errors)
	}
	verifyReceipt(t, n, v.Receipt)
}

// TestEPCISCaptureJobsPastTheirRetentionAreDeleted: a finished capture job
// older than --epcis-job-retention is deleted by the sweep (its state is
// then 404), while the events it captured stay on the ledger and in the
// query.
func TestEPCISCaptureJobsPastTheirRetentionAreDeleted(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.EPCISJobRetention = time.Nanosecond
	f := newEPCISFixture(t, cfg)
	loc := postCapture(t, f.n, f.mfr, "application/ld+json", commissionDoc(serials("R", 2), -1), "")
	if v := finishedJob(t, f.n, f.mfr, loc); !v.Success {
		t.Fatalf("capture: %+v", v)
	}
	n, err := f.n.epcisCapture.SweepJobs()
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d deleted, %v; want 1", n, err)
	}
	if resp, body := epcisDo(t, f.n, http.MethodGet, loc, f.mfr, "", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a deleted job: HTTP %d %s", resp.StatusCode, body)
	}
	resp, body := epcisDo(t, f.n, http.MethodGet, "/epcis/events?EQ_bizStep=commissioning", f.mfr, "", nil, nil)
	if resp.StatusCode != http.StatusOK || strings.Count(string(body), `"ObjectEvent"`) != 2 {
		t.Fatalf("the captured events after the job went: HTTP %d %s", resp.StatusCode, body)
	}
}

// TestEPCISCapturedEventInAPackHistoryIsItsWholeDocument: an event
// captured as EPCIS keeps its document's members once per envelope on the
// ledger (Capture.epcis_head); the pack's history gives it with its whole
// one-event document, which decodes to the event captured.
func TestEPCISCapturedEventInAPackHistoryIsItsWholeDocument(t *testing.T) {
	f := newEPCISFixture(t, testConfig(t.TempDir()))
	if v := finishedJob(t, f.n, f.mfr, postCapture(t, f.n, f.mfr, "application/ld+json", commissionDoc(serials("HIST", 2), -1), "")); !v.Success {
		t.Fatalf("capture: %+v", v)
	}
	a := &api{t: t, n: f.n}
	var h pb.GetPackHistoryResponse
	if err := a.as(f.mfr).Get(context.Background(), "/v1/products/"+apiGTIN+"/packs/HIST-1/history", &h); err != nil {
		t.Fatal(err)
	}
	if len(h.GetEntries()) != 1 {
		t.Fatalf("history: %d entries, want the commissioning", len(h.GetEntries()))
	}
	ev, err := envelope.DecodeCaptured(h.GetEntries()[0].GetEvent().GetEpcis())
	if err != nil {
		t.Fatalf("the event's EPCIS bytes in the history: %v", err)
	}
	if len(ev.EPCList) != 1 || !strings.HasSuffix(ev.EPCList[0], "/21/HIST-1") {
		t.Fatalf("the history's event names %v", ev.EPCList)
	}
}

// TestEPCISCaptureOfADocumentWithALargeHead: every event's document is
// read with its capture's epcis_head, so a document whose head is large
// (here an @context of thousands of namespace prefixes) is published in
// envelopes of fewer events (envelope.MaxEventsSharingHead), and is
// recorded whole.
func TestEPCISCaptureOfADocumentWithALargeHead(t *testing.T) {
	f := newEPCISFixture(t, testConfig(t.TempDir()))
	var prefixes strings.Builder
	for i := range 3000 {
		if i > 0 {
			prefixes.WriteByte(',')
		}
		fmt.Fprintf(&prefixes, `"ex%d":"https://ns.example.com/extension/%d/"`, i, i)
	}
	doc := commissionDoc(serials("HEAD", 100), -1)
	doc = bytes.Replace(doc, []byte(`epcis-context.jsonld"]`), []byte(`epcis-context.jsonld",{`+prefixes.String()+`}]`), 1)
	if !bytes.Contains(doc, []byte(`"ex2999"`)) {
		t.Fatal("the document's @context was not extended")
	}
	v := finishedJob(t, f.n, f.mfr, postCapture(t, f.n, f.mfr, "application/ld+json", doc, ""))
	if !v.Success || outcomes(v.Receipt)["recorded"] != 100 {
		t.Fatalf("capture: success %v, outcomes %v, errors %+v", v.Success, outcomes(v.Receipt), v.Errors)
	}
	verifyReceipt(t, f.n, v.Receipt)
	_, body := epcisDo(t, f.n, http.MethodGet, "/epcis/capture/"+v.CaptureID+"?entries=true", f.mfr, "", nil, nil)
	var withData epcisapi.JobView
	if err := json.Unmarshal(body, &withData); err != nil || withData.Receipt == nil {
		t.Fatalf("receipt with entries: %s", body)
	}
	var heads int
	for _, e := range withData.Receipt.Entries {
		le, err := entry.Decode(e.Data)
		if err != nil {
			t.Fatalf("entry %d: %v", e.LedgerIndex, err)
		}
		var signed pb.SignedEnvelope
		var env pb.Envelope
		if err := proto.Unmarshal(le.GetEnvelope(), &signed); err != nil {
			t.Fatalf("entry %d: %v", e.LedgerIndex, err)
		}
		if err := proto.Unmarshal(signed.GetEnvelope(), &env); err != nil {
			t.Fatalf("entry %d: %v", e.LedgerIndex, err)
		}
		c := env.GetCapture()
		if max := envelope.MaxEventsSharingHead(len(c.GetEpcisHead())); len(c.GetEvents()) > max || len(c.GetEpcisHead()) < 100_000 {
			t.Errorf("entry %d: %d events share a head of %d bytes, at most %d may", e.LedgerIndex, len(c.GetEvents()), len(c.GetEpcisHead()), max)
		}
		heads++
	}
	if want := (100 + envelope.MaxEventsSharingHead(100_000) - 1) / envelope.MaxEventsSharingHead(100_000); heads < want {
		t.Errorf("%d envelopes, want at least %d", heads, want)
	}
}
