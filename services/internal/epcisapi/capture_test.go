package epcisapi

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"
)

// FuzzAsDocument: the body of POST /epcis/events never panics the
// wrapping of one event into a document nor its preparation; a document is
// kept as it is, anything else wrapped is a JSON document of one event.
func FuzzAsDocument(f *testing.F) {
	f.Add(read(&testing.T{}, filepath.Join(corpus, "JSON", "Example_9.6.1-ObjectEvent.jsonld")))
	f.Add([]byte(`{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-01-01T00:00:00Z","eventTimeZoneOffset":"+00:00","epcList":[]}`))
	f.Add([]byte(`{"@context":{"ex":"https://example.com/"},"type":"ObjectEvent","ex:a":1}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"type":7}`))
	p, err := NewPreparer(Limits{MaxEvents: 10, MaxBytes: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := asDocument(body, now)
		if err != nil {
			return
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(doc, &top); err != nil {
			t.Fatalf("wrapped %q into invalid JSON %q: %v", body, doc, err)
		}
		var typ string
		_ = json.Unmarshal(top["type"], &typ)
		if typ != "EPCISDocument" && typ != "EPCISQueryDocument" {
			t.Fatalf("wrapped %q into a %q", body, typ)
		}
		var in map[string]any
		_ = json.Unmarshal(body, &in)
		if (in["type"] == "EPCISDocument" || in["type"] == "EPCISQueryDocument") && !bytes.Equal(doc, body) {
			t.Fatalf("a document was changed: %q → %q", body, doc)
		}
		_, _ = p.Prepare(doc, JSON, actor, Proceed)
	})
}

// TestAsDocument wraps one event, keeping its context, and keeps a
// document as it is.
func TestAsDocument(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	ev := `{"@context":{"ex":"https://example.com/"},"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-11-30T09:00:00Z","eventTimeZoneOffset":"+00:00",` +
		`"epcList":["https://id.gs1.org/01/09506000134352/21/A"],"bizStep":"inspecting","ex:note":"kept"}`
	doc, err := asDocument([]byte(ev), now)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPreparer(Limits{})
	if err != nil {
		t.Fatal(err)
	}
	prep, err := p.Prepare(doc, JSON, actor, Rollback)
	if err != nil || prep.Total != 1 || len(prep.Events) != 1 || !bytes.Contains(prep.Events[0].GetEpcis(), []byte(`"kept"`)) {
		t.Fatalf("wrapped event %s: %+v %v", doc, prep, err)
	}
	whole := read(t, filepath.Join(corpus, "JSON", "Example_9.6.1-ObjectEvent.jsonld"))
	if got, err := asDocument(whole, now); err != nil || !bytes.Equal(got, whole) {
		t.Fatalf("a document was changed: %v", err)
	}
	if _, err := asDocument([]byte(`[]`), now); err == nil {
		t.Fatal("a JSON array was taken for an event")
	}
}

// TestEventOf: the field a ledger check names locates the event.
func TestEventOf(t *testing.T) {
	for _, tc := range []struct {
		in   string
		k    int
		rest string
	}{
		{"capture.events[12].epcs[0].pack", 12, "/epcs[0]/pack"},
		{"capture.events[3]", 3, ""},
		{"capture.events", -1, ""},
		{"capture.events[x].a", -1, ""},
		{"party.gln", -1, ""},
	} {
		if k, rest := eventOf(tc.in); k != tc.k || rest != tc.rest {
			t.Errorf("eventOf(%q) = %d, %q; want %d, %q", tc.in, k, rest, tc.k, tc.rest)
		}
	}
}
