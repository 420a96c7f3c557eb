package epcis

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// capturedEvents is what DecodeCapture gives for data with the events of
// doc, decoded from data.
func capturedEvents(data []byte, doc *Document) []Captured {
	_, parts, err := unmarshalCapture(data)
	if err != nil {
		return nil
	}
	return parts.captured(doc)
}

// checkCaptured fails t unless unmarshalCapture reads data as unmarshal
// does and each captured event's bytes decode to exactly its event (and
// are the document's head, the event compacted by encoding/json, and the
// tail), and returns how many events it checked.
func checkCaptured(t *testing.T, name string, data []byte) int {
	t.Helper()
	want, wantErr := unmarshal(data)
	got, parts, err := unmarshalCapture(data)
	if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("%s: unmarshalCapture: %v, unmarshal: %v", name, err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: unmarshalCapture reads\n%#v\nunmarshal\n%#v", name, got, want)
	}
	doc, err := Decode(data)
	if err != nil {
		return 0
	}
	captured := parts.captured(doc)
	for i, c := range captured {
		var b bytes.Buffer
		b.Write(parts.head())
		if err := json.Compact(&b, parts.events[i]); err != nil {
			t.Fatalf("%s: event %d: %v", name, i, err)
		}
		b.WriteString(CaptureTail)
		if !bytes.Equal(c.Bytes(), b.Bytes()) {
			t.Fatalf("%s: event %d: kept as\n%s\nnot as encoding/json compacts it\n%s", name, i, c.Bytes(), b.Bytes())
		}
		if c.Event() != &doc.Events[i] {
			t.Fatalf("%s: captured event %d is not the document's", name, i)
		}
		back, err := Decode(c.Bytes())
		if err != nil {
			t.Fatalf("%s: event %d: its bytes do not decode: %v\n%s", name, i, err, c.Bytes())
		}
		if len(back.Events) != 1 || !reflect.DeepEqual(back.Events[0], doc.Events[i]) {
			t.Fatalf("%s: event %d: its bytes decode to another event:\n%#v\nwant\n%#v\nbytes %s", name, i, back.Events, doc.Events[i], c.Bytes())
		}
		if bytes.ContainsAny(c.Bytes(), "\n\t") {
			t.Fatalf("%s: event %d: whitespace kept in %s", name, i, c.Bytes())
		}
	}
	return len(captured)
}

// TestCapturedDecodesToItsEvent splits every JSON document of the
// conformance corpus that decodes into its events' one-event documents,
// and decodes each back: it must be the event, field for field.
func TestCapturedDecodesToItsEvent(t *testing.T) {
	docs, events := 0, 0
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".jsonld")) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := checkCaptured(t, path, data); n > 0 {
			docs++
			events += n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if docs < 140 || events < 200 {
		t.Fatalf("only %d documents, %d events split", docs, events)
	}
	t.Logf("%d documents, %d events", docs, events)
}

// TestCapturedReadsMembersAsDecodeDoes splits documents whose members
// repeat, are escaped or spread over lines: the last value counts, as in
// Decode, and a document of another form is not split.
func TestCapturedReadsMembersAsDecodeDoes(t *testing.T) {
	ev := func(serial string) string {
		return `{"type":"ObjectEvent","eventTime":"2026-11-30T09:00:00Z","eventTimeZoneOffset":"+00:00","action":"ADD",` +
			`"bizStep":"commissioning","epcList":["urn:epc:id:sgtin:4012345.011111.` + serial + `"],"ex:note":"n"}`
	}
	for name, tc := range map[string]struct {
		doc   string
		split bool
	}{
		"plain":             {`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"ex":"https://ex.com/"}],"type":"EPCISDocument","epcisBody":{"eventList":[` + ev("A") + `,` + ev("B") + `]}}`, true},
		"repeated context":  {`{"@context":{"ex":"https://one.com/"},"@context":{"ex":"https://two.com/"},"epcisBody":{"eventList":[` + ev("A") + `]}}`, true},
		"repeated body":     {`{"@context":{"ex":"https://ex.com/"},"epcisBody":{"eventList":[` + ev("A") + `]},"epcisBody":{"eventList":[` + ev("B") + `,` + ev("C") + `]}}`, true},
		"repeated list":     {`{"@context":{"ex":"https://ex.com/"},"epcisBody":{"eventList":[` + ev("A") + `],"eventList":[` + ev("B") + `]}}`, true},
		"escaped names":     {`{"\u0040context":{"ex":"https://ex.com/"},"epcis\u0042ody":{"event\u004cist":[` + ev("A") + `]}}`, true},
		"ignoreFields":      {`{"@context":{"ex":"https://ex.com/"},"ignoreFields":["ex:note"],"ex:ignoreFields":"ex:other","epcisBody":{"eventList":[` + ev("A") + `]}}`, true},
		"whitespace":        {"{\n  \"@context\" : { \"ex\" : \"https://ex.com/\" },\n  \"epcisBody\" : { \"eventList\" : [\n " + strings.ReplaceAll(ev("A"), ",", " ,\n\t") + " ] } }", true},
		"list made null":    {`{"@context":{"ex":"https://ex.com/"},"epcisBody":{"eventList":[` + ev("A") + `],"eventList":null,"event":` + ev("B") + `}}`, false},
		"single event body": {`{"@context":{"ex":"https://ex.com/"},"epcisBody":{"event":` + ev("A") + `}}`, false},
	} {
		t.Run(name, func(t *testing.T) {
			doc, err := Decode([]byte(tc.doc))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := capturedEvents([]byte(tc.doc), doc) != nil; got != tc.split {
				t.Fatalf("split %v, want %v", got, tc.split)
			}
			checkCaptured(t, name, []byte(tc.doc))
		})
	}
}

// TestUnmarshalCaptureReadsAsUnmarshal reads documents large enough for
// their events to be read on all cores, and broken ones, as unmarshal
// does: the same tree, or the same error.
func TestUnmarshalCaptureReadsAsUnmarshal(t *testing.T) {
	doc := string(benchDocument(200))
	at := strings.Index(doc, "S150")
	for name, data := range map[string]string{
		"many events":         doc,
		"invalid UTF-8 late":  doc[:at] + "\xff" + doc[at+1:],
		"syntax error late":   doc[:at] + `"` + doc[at:],
		"data after the end":  doc + "{}",
		"cut short":           doc[:len(doc)-2],
		"repeated body":       strings.Replace(doc, `"epcisBody":`, `"epcisBody":{"eventList":[1,2]},"epcisBody":`, 1),
		"list then not list":  strings.TrimSuffix(doc, "}}") + `,"eventList":{}}}`,
		"body then not body":  strings.TrimSuffix(doc, "}") + `,"epcisBody":[]}`,
		"not an object":       "[" + doc + "]",
		"items not objects":   `{"epcisBody":{"eventList":[` + strings.Repeat(`1,"a",null,[],`, 40) + `true]}}`,
		"kept member invalid": `{"@context":{"ex":"\ud800"},"epcisBody":{"eventList":[]}}`,
	} {
		t.Run(name, func(t *testing.T) {
			checkCaptured(t, name, []byte(data))
		})
	}
	if n := checkCaptured(t, "many events", []byte(doc)); n != 200 {
		t.Fatalf("%d events captured, want 200", n)
	}
}

// FuzzCaptured holds the construction on any document Decode reads.
func FuzzCaptured(f *testing.F) {
	f.Add(benchDocument(3))
	f.Add(benchDocument(parallelFrom + 1))
	f.Add([]byte(`{"@context":{"ex":"https://ex.com/"},"ignoreFields":["ex:note"],"epcisBody":{"eventList":[` + benchEvent + `]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkCaptured(t, "fuzz", data)
	})
}
