package epcisapi

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pedigree-project/pedigree/envelope"
)

const (
	actor  = "4000001000005"
	corpus = "../../../epcis/testdata/gs1-EPCIS"
)

func preparer(t *testing.T, l Limits) *Preparer {
	t.Helper()
	p, err := NewPreparer(l)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPrepareGS1Examples prepares every GS1 example document, JSON-LD and
// XML: each is read whole, each event is prepared or named with its
// position, ID and the member at fault, every prepared event passes the
// ingest's check, and rollback prepares nothing when any event is refused.
func TestPrepareGS1Examples(t *testing.T) {
	p := preparer(t, Limits{})
	var files []string
	for _, dir := range []string{filepath.Join(corpus, "JSON"), filepath.Join(corpus, "XML")} {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".jsonld") || strings.HasSuffix(path, ".xml")) {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) < 20 {
		t.Fatalf("found %d example documents under %s", len(files), corpus)
	}
	var events, prepared int
	for _, f := range files {
		format := JSON
		if strings.HasSuffix(f, ".xml") {
			format = XML
		}
		body := read(t, f)
		got, err := p.Prepare(body, format, actor, Proceed)
		if err != nil {
			var de *DocError
			if !errors.As(err, &de) || de.Status != 400 {
				t.Errorf("%s: %v is not a 400 DocError", f, err)
			}
			t.Logf("%s: refused whole: %v", filepath.Base(f), err)
			continue
		}
		events += got.Total
		prepared += len(got.Events)
		if len(got.Events)+len(got.Errors) != got.Total || len(got.Positions) != len(got.Events) {
			t.Errorf("%s: %d prepared + %d refused of %d", f, len(got.Events), len(got.Errors), got.Total)
		}
		for _, se := range got.Events {
			if len(se.GetEpcis()) == 0 || envelope.CheckEPCISIn(got.EPCISHead, se, actor) != nil {
				t.Errorf("%s: a prepared event does not pass the ingest's check", f)
			}
		}
		for _, e := range got.Errors {
			if e.EventID == "" || e.Msg == "" {
				t.Errorf("%s: refusal %+v names no event ID or reason", f, e)
			}
		}
		rb, err := p.Prepare(body, format, actor, Rollback)
		if err != nil || (len(got.Errors) > 0) != (len(rb.Events) == 0) {
			t.Errorf("%s: rollback prepared %d events with %d refusals (%v)", f, len(rb.Events), len(rb.Errors), err)
		}
	}
	t.Logf("%d documents, %d events, %d prepared", len(files), events, prepared)
	if prepared != events {
		// Every event of an example EPCIS document is captured: what the
		// rules do not track is recorded without them (not_applied).
		t.Fatalf("%d of %d example events prepared", prepared, events)
	}
}

// TestPrepareRefuses: the limits, a schema violation located by its JSON
// pointer, an XML error by its line, headers.
func TestPrepareRefuses(t *testing.T) {
	example := read(t, filepath.Join(corpus, "JSON", "Example_9.6.1-ObjectEvent.jsonld"))
	cases := []struct {
		name   string
		limits Limits
		body   string
		format Format
		status int
		field  string
	}{
		{"file size", Limits{MaxBytes: 100}, string(example), JSON, 413, "GS1-EPCIS-Capture-File-Size-Limit"},
		{"event count", Limits{MaxEvents: 1}, string(example), JSON, 413, "GS1-EPCIS-Capture-Limit"},
		{"schema", Limits{}, strings.Replace(string(example), `"action": "OBSERVE"`, `"action": "CREATE"`, 1), JSON, 400, "/epcisBody/eventList/0/action"},
		{"not JSON", Limits{}, `{"type":`, JSON, 400, ""},
		{"XML", Limits{}, "<epcis:EPCISDocument xmlns:epcis=\"urn:epcglobal:epcis:xsd:2\">\n<EPCISBody><EventList>\n<ObjectEvent><action>CREATE</action></ObjectEvent>\n</EventList></EPCISBody></epcis:EPCISDocument>", XML, 400, ""},
	}
	for _, c := range cases {
		_, err := preparer(t, c.limits).Prepare([]byte(c.body), c.format, actor, Rollback)
		var de *DocError
		if !errors.As(err, &de) || de.Status != c.status || (c.field != "" && de.Field != c.field) {
			t.Errorf("%s: %v, want %d naming %q", c.name, err, c.status, c.field)
		}
		if c.name == "XML" && (de == nil || de.Line != 3) {
			t.Errorf("XML: %+v, want the error on line 3", de)
		}
	}
	if _, err := ParseBehaviour("retry"); err == nil {
		t.Error("behaviour retry accepted")
	}
	for h, want := range map[string]Behaviour{"": Rollback, "ROLLBACK": Rollback, "proceed": Proceed} {
		if b, err := ParseBehaviour(h); err != nil || b != want {
			t.Errorf("behaviour %q: %v %v", h, b, err)
		}
	}
	for ct, want := range map[string]Format{"application/ld+json": JSON, "application/json; charset=utf-8": JSON, "application/xml": XML, "text/xml": XML} {
		if f, err := FormatOf(ct); err != nil || f != want {
			t.Errorf("Content-Type %q: %v %v", ct, f, err)
		}
	}
	for _, ct := range []string{"text/plain", "application/json; charset=latin1", "", "application/"} {
		var de *DocError
		if _, err := FormatOf(ct); !errors.As(err, &de) || de.Status != 415 {
			t.Errorf("Content-Type %q: %v, want 415", ct, err)
		}
	}
}

// FuzzPrepare: no body panics the preparer, and a refusal is a DocError.
func FuzzPrepare(f *testing.F) {
	f.Add([]byte(`{"type":"EPCISDocument"}`), false)
	f.Add(read(&testing.T{}, filepath.Join(corpus, "JSON", "Example_9.6.1-ObjectEvent.jsonld")), false)
	p, err := NewPreparer(Limits{MaxBytes: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, xml bool) {
		format := JSON
		if xml {
			format = XML
		}
		if _, err := p.Prepare(body, format, actor, Proceed); err != nil {
			var de *DocError
			if !errors.As(err, &de) {
				t.Fatalf("%v is not a DocError", err)
			}
		}
	})
}

// openepcis is the OpenEPCIS test resources' folder of EPCIS documents.
const openepcis = "../../../epcis/testdata/openepcis-test-resources/core/src/main/resources"

// TestPrepareOpenEPCISDocuments: every OpenEPCIS capture document (EPCIS
// 2.0 JSON-LD and XML, EPCIS 1.2 XML) that the GS1 JSON schema accepts is
// prepared whole, no event refused; the ones the schema refuses (as the
// derived schema verdicts record) are refused whole with a location.
func TestPrepareOpenEPCISDocuments(t *testing.T) {
	p := preparer(t, Limits{})
	invalid := schemaInvalid(t)
	var docs, events int
	for _, dir := range []string{"2.0/EPCIS/JSON/Capture/Documents", "2.0/EPCIS/XML/Capture/Documents", "1.2/EPCIS/XML/Capture/Documents"} {
		files, err := filepath.Glob(filepath.Join(openepcis, dir, "*"))
		if err != nil || len(files) < 10 {
			t.Fatalf("%s: %d documents, %v", dir, len(files), err)
		}
		for _, f := range files {
			format := JSON
			if strings.HasSuffix(f, ".xml") {
				format = XML
			}
			got, err := p.Prepare(read(t, f), format, actor, Rollback)
			rel := strings.TrimPrefix(f, "../../../epcis/testdata/")
			if invalid[rel] || xsdInvalid[strings.TrimPrefix(rel, "openepcis-test-resources/core/src/main/resources/")] != "" {
				var de *DocError
				if !errors.As(err, &de) || de.Msg == "" {
					t.Errorf("%s: the schema refuses it, Prepare gave %v", rel, err)
				}
				continue
			}
			if err != nil || len(got.Errors) > 0 || len(got.Events) != got.Total {
				t.Errorf("%s: %v %+v", rel, err, got)
				continue
			}
			docs++
			events += got.Total
		}
	}
	t.Logf("%d documents, %d events prepared", docs, events)
}

// xsdInvalid lists the OpenEPCIS XML capture documents outside the
// Invalid folders that the EPCIS XSD (or the standard's text) refuses,
// with the reason; the JSON ones are in the derived schema verdicts.
var xsdInvalid = map[string]string{
	"2.0/EPCIS/XML/Capture/Documents/JumbledFieldsOrder.xml":                   "elements out of the XSD sequence",
	"1.2/EPCIS/XML/Capture/Documents/Jumbled_attributes_order.xml":             "elements out of the XSD sequence",
	"1.2/EPCIS/XML/Capture/Documents/ObjectEvent_all_possible_fields.xml":      "ilmd in an OBSERVE event (ILMD only with ADD; the JSON schema refuses the same)",
	"1.2/EPCIS/XML/Capture/Documents/TransactionEvent_all_possible_fields.xml": "declarationTime without seconds (xsd:dateTime requires them)",
}

// TestPrepareRefusesOpenEPCISInvalid: every document of the OpenEPCIS
// Invalid capture folders is refused whole, with the location of the
// problem (a JSON pointer or an XML line) and the rule.
func TestPrepareRefusesOpenEPCISInvalid(t *testing.T) {
	p := preparer(t, Limits{})
	for _, dir := range []string{"2.0/EPCIS/JSON/Capture/Invalid", "2.0/EPCIS/XML/Capture/Invalid"} {
		files, err := filepath.Glob(filepath.Join(openepcis, dir, "*"))
		if err != nil || len(files) < 5 {
			t.Fatalf("%s: %d documents, %v", dir, len(files), err)
		}
		for _, f := range files {
			format := JSON
			if strings.HasSuffix(f, ".xml") {
				format = XML
			}
			_, err := p.Prepare(read(t, f), format, actor, Proceed)
			var de *DocError
			if !errors.As(err, &de) || de.Status != 400 || de.Msg == "" ||
				(de.Field == "" && de.Line == 0 && !strings.Contains(de.Msg, "missing property")) { // a property missing at the root has no pointer
				t.Errorf("%s: %v, want a 400 naming where", filepath.Base(f), err)
				continue
			}
			t.Logf("%s: %v", filepath.Base(f), err)
		}
	}
}

// schemaInvalid reads the derived schema verdicts: the documents the GS1
// JSON schema refuses, by path under epcis/testdata.
func schemaInvalid(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, l := range strings.Split(string(read(t, "../../../epcis/testdata/derived_schema_validation.tsv")), "\n") {
		if f := strings.Split(l, "\t"); len(f) >= 2 && f[1] == "INVALID" {
			out[f[0]] = true
		}
	}
	return out
}
