package epcis

import (
	"errors"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the document and event decoders and
// hashes whatever decodes. Nothing may panic; a decoded event must hash,
// and hash the same twice, and a decoded document must come back from
// EncodeJSONLD with the same hashes; errors from decoding must be FieldErrors or JSON
// syntax errors. Seeds live in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(benchEvent))
	f.Add([]byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"ex":"https://ex.org/"}],"type":"EPCISDocument","epcisBody":{"eventList":[{"type":"AggregationEvent","eventTime":"2020-01-01T00:00:00.99951+14:00","eventTimeZoneOffset":"+14:00","action":"ADD","parentID":"urn:epc:id:sscc:0614141.1234567890","childEPCs":["https://example.com/01/9506000134352/21/a%21b?x=1"],"ex:a":{"ex:b":[1e3,"01.50",true,null]}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if doc, err := Decode(data); err == nil {
			for i := range doc.Events {
				checkHash(t, &doc.Events[i])
			}
			checkJSONRoundTrip(t, doc)
		} else {
			checkErr(t, err)
		}
		if ev, err := DecodeEvent(data); err == nil {
			checkHash(t, ev)
		} else {
			checkErr(t, err)
		}
	})
}

func checkHash(t *testing.T, ev *Event) {
	t.Helper()
	h1, err := Hash(ev)
	if err != nil {
		t.Fatalf("decoded event does not hash: %v", err)
	}
	h2, _ := Hash(ev)
	if h1 != h2 || len(h1) != len("ni:///sha-256;?ver=CBV2.0")+64 {
		t.Fatalf("hash %q then %q", h1, h2)
	}
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) && !strings.HasPrefix(err.Error(), "epcis: invalid JSON") {
		t.Fatalf("unexpected error type %T: %v", err, err)
	}
}

// checkJSONRoundTrip writes doc as JSON-LD and reads it again: the hashes
// must not change. A document EncodeJSONLD refuses must be refused with a
// FieldError.
func checkJSONRoundTrip(t *testing.T, doc *Document) {
	t.Helper()
	out, err := EncodeJSONLD(doc)
	if err != nil {
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("EncodeJSONLD: %v", err)
		}
		return
	}
	back, err := Decode(out)
	if err != nil {
		t.Fatalf("encoded document does not decode: %v\n%s", err, out)
	}
	h1, _ := doc.Hashes()
	h2, err := back.Hashes()
	if err != nil || strings.Join(h1, " ") != strings.Join(h2, " ") {
		t.Fatalf("hashes change in the JSON-LD round trip: %v\n%v\n%v\n%s", err, h1, h2, out)
	}
}
