package epcis

import (
	"strconv"
	"strings"
	"testing"
)

// benchEvent is a typical single-pack event: a pharmacy dispensing one
// serialised pack.
const benchEvent = `{
  "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
  "type": "ObjectEvent",
  "eventTime": "2026-03-14T09:26:53.589+01:00",
  "eventTimeZoneOffset": "+01:00",
  "epcList": ["urn:epc:id:sgtin:4012345.011111.K7Q2M9X4"],
  "action": "OBSERVE",
  "bizStep": "dispensing",
  "disposition": "dispensed",
  "readPoint": {"id": "urn:epc:id:sgln:4012345.00005.0"},
  "bizLocation": {"id": "urn:epc:id:sgln:4012345.00005.0"}
}`

// BenchmarkHash hashes an already decoded single-pack ObjectEvent.
func BenchmarkHash(b *testing.B) {
	ev, err := DecodeEvent([]byte(benchEvent))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Hash(ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkHashJSON decodes and hashes the same event from its JSON bytes,
// as the node does for an incoming event without an eventID.
func BenchmarkHashJSON(b *testing.B) {
	data := []byte(benchEvent)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := HashJSON(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// benchDocument is a capture document of n commissioning events, each of
// a new pack, as a manufacturer's line sends them.
func benchDocument(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-30T10:00:00Z","epcisBody":{"eventList":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"type":"ObjectEvent","eventTime":"2026-11-30T09:00:00.000Z","eventTimeZoneOffset":"+00:00","action":"ADD","bizStep":"commissioning","disposition":"active",` +
			`"epcList":["https://id.gs1.org/01/09506000134352/21/S` + strconv.Itoa(i) + `"],"ilmd":{"cbvmda:lotNumber":"L1"}}`)
	}
	b.WriteString(`]}}`)
	return []byte(b.String())
}

// BenchmarkCaptureSteps measures, per event of a 1,000-event capture
// document, each step the capture interface takes: the schema check, the
// JSON-LD decoding, the event hash and the compact encoding of each event
// alone, as it is kept with the event on the ledger.
func BenchmarkCaptureSteps(b *testing.B) {
	const n = 1000
	data := benchDocument(n)
	v, err := NewValidator()
	if err != nil {
		b.Fatal(err)
	}
	doc, err := Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	perEvent := func(b *testing.B) { b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1e3, "µs/event") }
	b.Run("validate", func(b *testing.B) {
		for b.Loop() {
			if err := v.Validate(data); err != nil {
				b.Fatal(err)
			}
		}
		perEvent(b)
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := Decode(data); err != nil {
				b.Fatal(err)
			}
		}
		perEvent(b)
	})
	b.Run("hash", func(b *testing.B) {
		for b.Loop() {
			for i := range doc.Events {
				if _, err := Hash(&doc.Events[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
		perEvent(b)
	})
	b.Run("encode-one", func(b *testing.B) {
		for b.Loop() {
			for i := range doc.Events {
				if _, err := EncodeJSONLDCompact(&Document{Namespaces: doc.Namespaces, Events: doc.Events[i : i+1]}); err != nil {
					b.Fatal(err)
				}
			}
		}
		perEvent(b)
	})
}
