package epcis

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// corpusDocuments returns every document of testdata that decodes (JSON-LD
// with Decode, XML with DecodeXML), by path.
func corpusDocuments(t *testing.T) map[string]*Document {
	t.Helper()
	docs := map[string]*Document{}
	err := filepath.WalkDir("testdata", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(path, "testdata/fuzz") {
			return err
		}
		ext := filepath.Ext(path)
		if ext != ".json" && ext != ".jsonld" && ext != ".xml" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var doc *Document
		if ext == ".xml" {
			doc, err = DecodeXML(data)
		} else {
			doc, err = Decode(data)
		}
		if err == nil && len(doc.Events) > 0 {
			docs[path] = doc
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// sameEvents reports the first event where two documents differ, by
// model or by hash.
func sameEvents(t *testing.T, name string, a, b *Document) {
	t.Helper()
	if len(a.Events) != len(b.Events) {
		t.Errorf("%s: %d events, then %d", name, len(a.Events), len(b.Events))
		return
	}
	for i := range a.Events {
		ha, erra := Hash(&a.Events[i])
		hb, errb := Hash(&b.Events[i])
		if erra != nil || errb != nil || ha != hb {
			t.Errorf("%s[%d]: hash %s (%v), then %s (%v)", name, i, ha, erra, hb, errb)
		}
		if !reflect.DeepEqual(a.Events[i], b.Events[i]) {
			ja, _ := json.Marshal(a.Events[i])
			jb, _ := json.Marshal(b.Events[i])
			k := 0
			for k < len(ja) && k < len(jb) && ja[k] == jb[k] {
				k++
			}
			lo := max(k-200, 0)
			t.Errorf("%s[%d]: event differs after the round trip, at\n%s\n%s", name, i, ja[lo:min(len(ja), k+100)], jb[lo:min(len(jb), k+100)])
		}
	}
	if !reflect.DeepEqual(a.IgnoreFields, b.IgnoreFields) {
		t.Errorf("%s: ignoreFields %v, then %v", name, a.IgnoreFields, b.IgnoreFields)
	}
}

// reencode writes doc in XML or JSON-LD and decodes the output.
func reencode(doc *Document, asXML bool) (*Document, error) {
	if asXML {
		out, err := EncodeXML(doc)
		if err != nil {
			return nil, err
		}
		return DecodeXML(out)
	}
	out, err := EncodeJSONLD(doc)
	if err != nil {
		return nil, err
	}
	return Decode(out)
}

// TestRoundTrip encodes every decodable document of the corpus in its own
// binding (JSON-LD with EncodeJSONLD, XML with EncodeXML) and decodes it
// again: the events must come back equal, model and hash.
func TestRoundTrip(t *testing.T) {
	docs := corpusDocuments(t)
	n := map[string]int{}
	features := map[string]int{}
	for path, doc := range docs {
		back, err := reencode(doc, strings.HasSuffix(path, ".xml"))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if back.Type != doc.Type {
			t.Errorf("%s: document type %s, then %s", path, doc.Type, back.Type)
		}
		sameEvents(t, path, doc, back)
		n[filepath.Ext(path)]++
		for i := range doc.Events {
			countFeatures(features, strings.HasSuffix(path, ".xml"), &doc.Events[i])
		}
	}
	t.Logf("round trips: %v; events by feature: %v", n, features)
	for _, f := range []string{"errorDeclaration", "sensorElementList", "extensions", "ilmd", "persistentDisposition", "certificationInfo", "attributes"} {
		for _, b := range []string{"XML", "JSON-LD"} {
			if features[b+" "+f] == 0 && !(f == "attributes" && b == "JSON-LD") {
				t.Errorf("no %s event with %s went through the round trip", b, f)
			}
		}
	}
}

// TestCrossBinding writes every decodable document of the corpus in the
// other binding (XML documents as JSON-LD, JSON-LD documents as XML) and
// decodes it again: every event must keep its hash.
func TestCrossBinding(t *testing.T) {
	docs := corpusDocuments(t)
	n := 0
	for path, doc := range docs {
		back, err := reencode(doc, !strings.HasSuffix(path, ".xml"))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		a, _ := doc.Hashes()
		b, err := back.Hashes()
		if err != nil || strings.Join(a, " ") != strings.Join(b, " ") {
			for i := range a {
				if i < len(back.Events) {
					p1, _ := PreHash(&doc.Events[i])
					p2, _ := PreHash(&back.Events[i])
					if p1 != p2 {
						k := 0
						for k < len(p1) && k < len(p2) && p1[k] == p2[k] {
							k++
						}
						lo := max(k-100, 0)
						t.Errorf("%s[%d]: pre-hash changes:\n%s\n%s", path, i, p1[lo:min(len(p1), k+100)], p2[lo:min(len(p2), k+100)])
						break
					}
				}
			}
			continue
		}
		n++
	}
	t.Logf("%d documents keep their hashes in the other binding", n)
}

// countFeatures counts the parts of ev a round trip must keep.
func countFeatures(m map[string]int, xml bool, ev *Event) {
	b := "JSON-LD "
	if xml {
		b = "XML "
	}
	attrs := false
	visitFields := func(fs []Field) {
		for _, f := range fs {
			attrs = attrs || f.Attr
		}
	}
	visitFields(ev.Extensions)
	for _, se := range ev.SensorElementList {
		for _, r := range se.Reports {
			visitFields(r.Extensions)
		}
	}
	for name, has := range map[string]bool{
		"errorDeclaration": ev.ErrorDeclaration != nil, "sensorElementList": len(ev.SensorElementList) > 0,
		"extensions": len(ev.Extensions) > 0, "ilmd": len(ev.ILMD) > 0, "persistentDisposition": ev.PersistentDisposition != nil,
		"certificationInfo": len(ev.CertificationInfo) > 0, "attributes": attrs,
	} {
		if has {
			m[b+name]++
		}
	}
}

// TestEncodeRefusals checks that what a binding cannot express is refused
// with a FieldError rather than written wrong.
func TestEncodeRefusals(t *testing.T) {
	base := func() Event {
		return Event{Type: ObjectEvent, EventTime: "2026-01-01T00:00:00Z", EventTimeZoneOffset: "+00:00", Action: "ADD", EPCList: []string{}}
	}
	bareTop := base()
	bareTop.Extensions = []Field{{Name: Name{Local: "x"}, Value: "1"}}
	badName := base()
	badName.Extensions = []Field{{Name: Name{Space: "https://ex.org/", Local: "1 x"}, Value: "1"}}
	badChar := base()
	badChar.Extensions = []Field{{Name: Name{Space: "https://ex.org/", Local: "x"}, Value: "a\x00b"}}
	badNumber := base()
	badNumber.QuantityList = []QuantityElement{{EPCClass: "urn:epc:class:lgtin:4012345.011111.L1", Quantity: "many"}}
	badType := base()
	badType.Type = "QuantityEvent"
	for name, tc := range map[string]struct {
		ev        Event
		xml, json bool // refused by EncodeXML, by EncodeJSONLD
	}{
		"bare top-level field": {bareTop, true, true},
		"not an XML name":      {badName, true, false},
		"NUL character":        {badChar, true, false},
		"quantity not number":  {badNumber, false, true},
		"unknown event type":   {badType, true, false},
	} {
		doc := &Document{Events: []Event{tc.ev}}
		for _, enc := range []struct {
			name    string
			f       func(*Document) ([]byte, error)
			refused bool
		}{{"EncodeXML", EncodeXML, tc.xml}, {"EncodeJSONLD", EncodeJSONLD, tc.json}} {
			_, err := enc.f(doc)
			var fe *FieldError
			switch {
			case enc.refused && !errors.As(err, &fe):
				t.Errorf("%s: %s: %v, want a FieldError", name, enc.name, err)
			case !enc.refused && err != nil:
				t.Errorf("%s: %s: %v", name, enc.name, err)
			}
		}
	}
}
