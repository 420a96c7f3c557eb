package epcis

import "testing"

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
