package epcis

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateJSONVerdicts checks every document of testdata listed in
// derived_schema_validation.tsv against the embedded schema: the verdict
// (VALID/INVALID) must be the one listed, and a refusal names a JSON
// pointer and a rule.
func TestValidateJSONVerdicts(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, "testdata/derived_schema_validation.tsv")
	var checked int
	for _, l := range lines[1:] {
		cols := strings.Split(l, "\t")
		file, verdict := cols[0], cols[1]
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			continue
		}
		checked++
		err = v.Validate(data)
		switch {
		case verdict == "VALID" && err != nil:
			t.Errorf("%s: listed VALID, got %v", file, err)
		case verdict == "INVALID" && err == nil:
			t.Errorf("%s: listed INVALID (%s), validated", file, cols[2])
		case err != nil:
			var se *SchemaError
			if !errors.As(err, &se) || se.Rule == "" {
				t.Errorf("%s: %v is no SchemaError with a rule", file, err)
			}
			t.Logf("%s: %v", filepath.Base(file), err)
		}
	}
	if checked < 100 {
		t.Fatalf("only %d listed documents found in testdata", checked)
	}
}

// TestValidateJSONErrors checks the pointer and rule of refusals.
func TestValidateJSONErrors(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	const head = `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2024-01-01T00:00:00Z","epcisBody":{"eventList":[`
	for _, tc := range []struct {
		name, doc, pointer, rule string
	}{
		{"bad action", head + `{"type":"ObjectEvent","eventTime":"2024-01-01T00:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:0614141.107346.2018"],"action":"CREATE"}]}}`,
			"/epcisBody/eventList/0/action", "enum"},
		{"quantity text", head + `{"type":"ObjectEvent","eventTime":"2024-01-01T00:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","quantity":"twenty"}]}]}}`,
			"/epcisBody/eventList/0/quantityList/0/quantity", "type"},
		{"no context", `{"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2024-01-01T00:00:00Z","epcisBody":{"eventList":[]}}`,
			"", "required"},
		{"not JSON", `{"type":`, "", "json"},
		{"trailing data", `{} {}`, "", "json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Validate([]byte(tc.doc))
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a SchemaError", err)
			}
			if se.Pointer != tc.pointer || se.Rule != tc.rule {
				t.Errorf("got pointer %q rule %q (%v), want %q %q", se.Pointer, se.Rule, err, tc.pointer, tc.rule)
			}
		})
	}
	if err := ValidateJSON([]byte(head + `]}}`)); err != nil {
		t.Errorf("empty event list: %v", err)
	}
}

// TestValidateJSONSize checks that a document over MaxJSONSize is refused
// before it is parsed.
func TestValidateJSONSize(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	big := append([]byte(`"`), bytes.Repeat([]byte("a"), MaxJSONSize)...)
	err = v.Validate(append(big, '"'))
	var se *SchemaError
	if !errors.As(err, &se) || se.Rule != "size" {
		t.Fatalf("got %v, want a size SchemaError", err)
	}
}

// eventOf cuts a JSON pointer to the event it is in,
// "/epcisBody/eventList/N".
func eventOf(pointer string) string {
	parts := strings.SplitN(pointer, "/", 5)
	return strings.Join(parts[:min(len(parts), 4)], "/")
}

// TestValidateEventsOneByOne checks that a capture document long enough to
// have its events checked one by one on all cores (each against the schema
// of its type) gets the verdict of the whole schema: every listed document
// that is an EPCISDocument, its events repeated past parallelFrom, is
// checked both ways, and a refusal names the same event when the whole
// schema names one.
func TestValidateEventsOneByOne(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, "testdata/derived_schema_validation.tsv")
	var checked, refused int
	for _, l := range lines[1:] {
		file := strings.Split(l, "\t")[0]
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			continue
		}
		tree, err := unmarshal(data)
		if err != nil {
			continue
		}
		root, _ := tree.(map[string]any)
		body, _ := root["epcisBody"].(map[string]any)
		events, ok := body["eventList"].([]any)
		if root["type"] != "EPCISDocument" || !ok || len(events) == 0 {
			continue
		}
		long := make([]any, 0, parallelFrom+len(events))
		for len(long) < parallelFrom {
			long = append(long, events...)
		}
		body["eventList"] = long
		whole := schemaErr(v.schema.Validate(tree), "")
		byEvent := v.validateTree(tree)
		checked++
		if (whole == nil) != (byEvent == nil) {
			t.Errorf("%s: the whole schema says %v, event by event %v", file, whole, byEvent)
			continue
		}
		if whole == nil {
			continue
		}
		refused++
		w, e := whole.(*SchemaError), byEvent.(*SchemaError)
		// Which of several faults of one event is named first follows
		// the validator's map order; the event named must be the same.
		if strings.HasPrefix(w.Pointer, "/epcisBody/eventList/") && eventOf(w.Pointer) != eventOf(e.Pointer) {
			t.Errorf("%s: the whole schema refuses %s (%s), event by event %s (%s)", file, w.Pointer, w.Rule, e.Pointer, e.Rule)
		}
	}
	if checked < 50 || refused == 0 {
		t.Fatalf("only %d capture documents checked, %d refused", checked, refused)
	}
	t.Logf("%d capture documents, %d refused", checked, refused)
}

// TestShapeRulesHoldForTheEmbeddedSchema checks that the embedded schema
// leaves the shape members of every standard event type to be strings,
// and that a schema reading one of their values turns the shapes off for
// the types it concerns.
func TestShapeRulesHoldForTheEmbeddedSchema(t *testing.T) {
	r := newShapeRules(jsonSchema)
	for _, typ := range []EventType{ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent} {
		if !r.ok[string(typ)] {
			t.Errorf("%s: the shape rules do not hold for the embedded schema", typ)
		}
	}
	patterned := bytes.Replace(jsonSchema, []byte(`"time": {`), []byte(`"time": {"pattern": "^2",`), 1)
	if bytes.Equal(patterned, jsonSchema) {
		t.Fatal("the schema has no time definition to change")
	}
	if r := newShapeRules(patterned); r.ok[string(ObjectEvent)] || r.ok[string(AggregationEvent)] {
		t.Errorf("a pattern on eventTime left the shapes on: %v", r.ok)
	}
	if r := newShapeRules([]byte(`{"definitions": {}, "patternProperties": {}}`)); len(r.ok) != 0 {
		t.Errorf("patternProperties left the shapes on: %v", r.ok)
	}
}

// TestValidateShapesKeepEachEventsVerdict checks, on a document of events
// of one shape, that what the shape leaves out is still checked event by
// event: a repeated EPC (uniqueItems), a member that is no string, and a
// change outside the shape members are each refused at their event.
func TestValidateShapesKeepEachEventsVerdict(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, bad, pointer, rule string
	}{
		{"repeated EPC", `"epcList":["urn:epc:id:sgtin:0614141.107346.1","urn:epc:id:sgtin:0614141.107346.1"]`, "/epcisBody/eventList/80/epcList", "uniqueItems"},
		{"time not a string", `"epcList":["urn:epc:id:sgtin:0614141.107346.1","urn:epc:id:sgtin:0614141.107346.2"],"recordTime":20`, "/epcisBody/eventList/80/recordTime", "type"},
		{"bad step", `"epcList":["urn:epc:id:sgtin:0614141.107346.1","urn:epc:id:sgtin:0614141.107346.2"],"bizStep":7`, "/epcisBody/eventList/80/bizStep", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2024-01-01T00:00:00Z","epcisBody":{"eventList":[`)
			for i := range 100 {
				if i > 0 {
					b.WriteByte(',')
				}
				members := fmt.Sprintf(`"epcList":["urn:epc:id:sgtin:0614141.107346.%d","urn:epc:id:sgtin:0614141.107346.%d"]`, i, 1000+i)
				if i == 80 {
					members = tc.bad
				}
				fmt.Fprintf(&b, `{"type":"ObjectEvent","eventTime":"2024-01-01T00:00:%02dZ","eventTimeZoneOffset":"+00:00","action":"OBSERVE",%s}`, i%60, members)
			}
			b.WriteString(`]}}`)
			err := v.Validate([]byte(b.String()))
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a SchemaError", err)
			}
			if eventOf(se.Pointer) != "/epcisBody/eventList/80" || (tc.rule != "" && (se.Pointer != tc.pointer || se.Rule != tc.rule)) {
				t.Errorf("got %s (%s), want %s (%s)", se.Pointer, se.Rule, tc.pointer, tc.rule)
			}
		})
	}
}
