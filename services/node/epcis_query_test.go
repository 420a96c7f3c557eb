package node

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/epcis"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/epcisapi"
)

const apiRegulator = "4000007000009"

// epcisGet sends GET path to the node's HTTP port with token and accept
// (none when empty), and returns the answer.
func epcisGet(t testing.TB, n *Node, token, path, accept string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.HTTPAddr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// queryDoc GETs path and decodes the EPCISQueryDocument, JSON-LD (checked
// against the GS1 schema) or XML.
func queryDoc(t testing.TB, n *Node, token, path string, asXML bool) ([]epcis.Event, http.Header) {
	t.Helper()
	accept := "application/ld+json"
	if asXML {
		accept = "application/xml"
	}
	status, h, body := epcisGet(t, n, token, path, accept)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	var doc *epcis.Document
	var err error
	if asXML {
		doc, err = epcis.DecodeXML(body)
	} else {
		if err := epcis.ValidateJSON(body); err != nil {
			t.Fatalf("GET %s: the query document fails the GS1 schema: %v\n%s", path, err, body)
		}
		doc, err = epcis.Decode(body)
	}
	if err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
	if doc.Type != "EPCISQueryDocument" {
		t.Fatalf("GET %s: a %s", path, doc.Type)
	}
	return doc.Events, h
}

// captureClient returns a CaptureService client of n and the context that
// authenticates token.
func captureClient(t testing.TB, n *Node, token string) (pb.CaptureServiceClient, context.Context) {
	t.Helper()
	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewCaptureServiceClient(conn), metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
}

// TestEPCISQueryReturnsTheGS1ExamplesAsCaptured captures every event of
// the GS1 example documents (JSON-LD and XML) that prepares, and queries
// each document's events back by their IDs, as JSON-LD (valid against the
// GS1 schema) and as XML: each comes back with the ID the node gave it,
// a record time, and the same CBV 2.0 hash as the event sent.
func TestEPCISQueryReturnsTheGS1ExamplesAsCaptured(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	mfr := a.party(apiMfr, pb.Role_ROLE_MANUFACTURER)
	capture, ctx := captureClient(t, n, mfr)
	prep, err := epcisapi.NewPreparer(epcisapi.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, dir := range []string{"JSON", "XML"} {
		err := filepath.WalkDir(filepath.Join("../../epcis/testdata/gs1-EPCIS", dir), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".jsonld") || strings.HasSuffix(p, ".xml")) {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var sent, landed int
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		format := epcisapi.JSON
		if strings.HasSuffix(f, ".xml") {
			format = epcisapi.XML
		}
		p, err := prep.Prepare(body, format, apiMfr, epcisapi.Proceed)
		if err != nil || len(p.Events) == 0 {
			continue
		}
		want := map[string]string{} // event ID → CBV 2.0 hash of the event sent
		for _, se := range p.Events {
			ev, err := envelope.DecodeCaptured(se.GetEpcis())
			if err != nil {
				t.Fatal(err)
			}
			if want[se.GetEventId()], err = epcis.Hash(ev); err != nil {
				t.Fatal(err)
			}
			sent++
			if _, err := capture.CaptureEvent(ctx, &pb.CaptureEventRequest{Event: se, Wait: true}); err != nil {
				t.Logf("%s: event %s: %v", filepath.Base(f), se.GetEventId(), err)
			}
		}
		ids := slices.Sorted(func(yield func(string) bool) {
			for id := range want {
				if !yield(id) {
					return
				}
			}
		})
		path := "/epcis/events?perPage=1000&EQ_eventID=" + url.QueryEscape(strings.Join(ids, "|"))
		for _, asXML := range []bool{false, true} {
			got, _ := queryDoc(t, n, mfr, path, asXML)
			if !asXML {
				landed += len(got)
			}
			for _, ev := range got {
				h, err := epcis.Hash(&ev)
				if err != nil {
					t.Fatal(err)
				}
				if want[ev.EventID] != h {
					t.Errorf("%s (xml %v): event %s comes back with hash %s, sent with %s", filepath.Base(f), asXML, ev.EventID, h, want[ev.EventID])
				}
				if _, err := time.Parse(time.RFC3339Nano, ev.RecordTime); err != nil {
					t.Errorf("%s: event %s: recordTime %q", filepath.Base(f), ev.EventID, ev.RecordTime)
				}
			}
			if len(got) == 0 {
				t.Errorf("%s: none of its %d events came back", filepath.Base(f), len(ids))
			}
		}
		// One by one, by the escaped ID.
		for _, id := range ids[:1] {
			got, _ := queryDoc(t, n, mfr, "/epcis/events/"+url.PathEscape(id), false)
			if len(got) != 1 || got[0].EventID != id {
				t.Errorf("GET /epcis/events/%s: %d events", id, len(got))
			}
		}
	}
	t.Logf("%d documents, %d events sent, %d on the ledger", len(files), sent, landed)
	if sent < 40 || landed < sent*3/4 {
		t.Fatalf("%d events sent, %d came back", sent, landed)
	}
}
