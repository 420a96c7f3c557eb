package epcisapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/epcis"
	"github.com/pedigree-project/pedigree/ledger"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// smallQuery is a query handler over a ledger of packs*benchSteps events
// (buildBenchLedger) that examines at most work entries per page.
func smallQuery(t *testing.T, packs, work int) (*Query, context.Context) {
	t.Helper()
	opts := ledger.PebbleOptions()
	opts.Logger = quietPebble{}
	store, err := state.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	log, err := ledger.Open(store.DB(), ledger.Options{Origin: "test.example/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	buildBenchLedger(t, store, log, packs)
	authn, err := auth.NewAuthenticator(store)
	if err != nil {
		t.Fatal(err)
	}
	q, err := NewQuery(QueryConfig{Store: store, Ledger: log, Authenticator: authn, Commits: noCommits{}, Logger: slog.New(slog.DiscardHandler), PageWork: work})
	if err != nil {
		t.Fatal(err)
	}
	return q, auth.WithPrincipal(context.Background(), &auth.Principal{Party: &pb.Party{Gln: benchParty, Role: pb.Role_ROLE_MANUFACTURER}})
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic("pebble: fatal: " + format)
}

// pages follows the next links of path and returns the event IDs of every
// page, and the number of pages.
func pages(t *testing.T, q *Query, ctx context.Context, path string) ([]string, int) {
	t.Helper()
	var ids []string
	n := 0
	for path != "" {
		if n++; n > 1000 {
			t.Fatal("more than 1000 pages")
		}
		w := httptest.NewRecorder()
		q.ServeHTTP(w, httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil))
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		if err := epcis.ValidateJSON(w.Body.Bytes()); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		doc, err := epcis.Decode(w.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range doc.Events {
			ids = append(ids, ev.EventID)
		}
		path = ""
		if l := w.Header().Get("Link"); l != "" {
			path = strings.TrimSuffix(strings.TrimPrefix(l, "<"), `>; rel="next"`)
			if w.Header().Get("GS1-Next-Page-Token-Expires") == "" {
				t.Error("a next link without GS1-Next-Page-Token-Expires")
			}
		}
	}
	return ids, n
}

// TestPagesBoundTheirWork checks that a page examines at most PageWork
// ledger entries, answering short (or empty) pages with a next link, and
// that following the links returns every matching event once, in ledger
// order, with the index (MATCH_epc) and without (a walk of the ledger).
func TestPagesBoundTheirWork(t *testing.T) {
	const packs = 8
	q, ctx := smallQuery(t, packs, 5)
	all, n := pages(t, q, ctx, "/epcis/events?perPage=3")
	if len(all) != packs*benchSteps || n < packs*benchSteps/5 {
		t.Fatalf("%d events in %d pages, want %d in at least %d", len(all), n, packs*benchSteps, packs*benchSteps/5)
	}
	seen := map[string]bool{}
	for _, id := range all {
		if seen[id] {
			t.Fatalf("event %s twice", id)
		}
		seen[id] = true
	}
	// The last pack's dispensing only: the walk crosses empty pages.
	last := benchScanEvent((packs-1)*benchSteps+3, time.Time{}).GetEventId()
	if got, n := pages(t, q, ctx, "/epcis/events?EQ_bizStep=dispensing&MATCH_epc="+url.QueryEscape("urn:epc:idpat:sgtin:9506000.013435.*")+"&EQ_eventID="+url.QueryEscape(last)); len(got) != 1 || got[0] != last || n != 1 {
		t.Errorf("by event ID: %v in %d pages", got, n)
	}
	got, n := pages(t, q, ctx, "/epcis/events?EQ_bizStep=dispensing&MATCH_epc="+url.QueryEscape("urn:epc:idpat:sgtin:9506000.013435.*"))
	if len(got) != packs || n < 2 {
		t.Errorf("dispensing by pattern: %d events in %d pages, want %d in several", len(got), n, packs)
	}
	got, _ = pages(t, q, ctx, "/epcis/events?MATCH_epc="+url.QueryEscape("https://id.gs1.org/01/"+benchGTIN+"/21/"+benchSerial(3)))
	if len(got) != benchSteps {
		t.Errorf("by the pack log: %d events, want %d", len(got), benchSteps)
	}
}

// TestCollections lists the vocabularies: the fixed ones, and the read
// points seen in a page's walk (with a next link past the bound).
func TestCollections(t *testing.T) {
	q, ctx := smallQuery(t, 2, 5)
	for path, want := range map[string]string{
		"/epcis/eventTypes":   `"TransformationEvent"`,
		"/epcis/bizSteps/":    `"void_shipping"`,
		"/epcis/dispositions": `"in_transit"`,
		"/epcis/readPoints":   `"https://id.gs1.org/414/` + benchParty + `"`,
	} {
		w := httptest.NewRecorder()
		q.ServeHTTP(w, httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) || !strings.Contains(w.Body.String(), `"type":"Collection"`) {
			t.Errorf("%s: %d %s, want a Collection with %s", path, w.Code, w.Body, want)
		}
		if path == "/epcis/readPoints" && w.Header().Get("Link") == "" {
			t.Errorf("%s: no next link past the page's bound", path)
		}
	}
}
