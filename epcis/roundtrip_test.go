package epcis

import (
	"encoding/json"
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

// TestRoundTrip encodes every decodable document of the corpus in its own
// binding (JSON-LD with EncodeJSONLD, XML with EncodeXML) and decodes it
// again: the events must come back equal, model and hash.
func TestRoundTrip(t *testing.T) {
	docs := corpusDocuments(t)
	n := map[string]int{}
	for path, doc := range docs {
		var out []byte
		var err error
		var back *Document
		if strings.HasSuffix(path, ".xml") {
			if out, err = EncodeXML(doc); err == nil {
				back, err = DecodeXML(out)
			}
		} else {
			if out, err = EncodeJSONLD(doc); err == nil {
				back, err = Decode(out)
			}
		}
		if err != nil {
			t.Errorf("%s: %v\n%s", path, err, out)
			continue
		}
		if back.Type != doc.Type {
			t.Errorf("%s: document type %s, then %s", path, doc.Type, back.Type)
		}
		sameEvents(t, path, doc, back)
		n[filepath.Ext(path)]++
	}
	t.Logf("round trips: %v", n)
}

// TestCrossBinding writes every decodable document of the corpus in the
// other binding (XML documents as JSON-LD, JSON-LD documents as XML) and
// decodes it again: every event must keep its hash.
func TestCrossBinding(t *testing.T) {
	docs := corpusDocuments(t)
	n := 0
	for path, doc := range docs {
		var out []byte
		var err error
		var back *Document
		if strings.HasSuffix(path, ".xml") {
			if out, err = EncodeJSONLD(doc); err == nil {
				back, err = Decode(out)
			}
		} else {
			if out, err = EncodeXML(doc); err == nil {
				back, err = DecodeXML(out)
			}
		}
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
