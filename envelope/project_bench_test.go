package envelope

import (
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pedigree-project/pedigree/epcis"
)

// benchCaptureDocument is a capture document of n commissioning events of
// new packs, as a manufacturer's line sends them (no event IDs: each gets
// its CBV 2.0 hash).
func benchCaptureDocument(n int) []byte {
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

// BenchmarkProject measures, per event of a capture document, what the
// node does to each after decoding the document: the projection with the
// captured bytes checked (Project) and its parts. cpu-µs/event
// is the process's CPU time, which holds on a shared machine.
func BenchmarkProject(b *testing.B) {
	doc, err := epcis.Decode(benchCaptureDocument(1000))
	if err != nil {
		b.Fatal(err)
	}
	const actor = "9506000134352"
	captured := make([][]byte, len(doc.Events))
	for i := range doc.Events {
		if captured[i], err = EncodeCaptured(&doc.Events[i], doc.Namespaces); err != nil {
			b.Fatal(err)
		}
	}
	perEvent := func(b *testing.B, fn func(i int) error) {
		b.ReportAllocs()
		cpu0 := processCPU()
		n := 0
		for b.Loop() {
			if err := fn(n % len(doc.Events)); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/1e3, "cpu-µs/event")
	}
	b.Run("project", func(b *testing.B) {
		perEvent(b, func(i int) error { _, err := Project(&doc.Events[i], doc.Namespaces, actor); return err })
	})
	b.Run("project-captured", func(b *testing.B) {
		v, err := epcis.NewValidator()
		if err != nil {
			b.Fatal(err)
		}
		_, parts, err := v.DecodeCapture(benchCaptureDocument(1000))
		if err != nil || len(parts) != 1000 {
			b.Fatalf("%d parts, %v", len(parts), err)
		}
		perEvent(b, func(i int) error { _, err := ProjectCaptured(parts[i], actor); return err })
	})
	b.Run("from-epcis", func(b *testing.B) {
		perEvent(b, func(i int) error { _, err := FromEPCIS(&doc.Events[i], actor); return err })
	})
	b.Run("encode-captured", func(b *testing.B) {
		perEvent(b, func(i int) error { _, err := EncodeCaptured(&doc.Events[i], doc.Namespaces); return err })
	})
	b.Run("decode-captured", func(b *testing.B) {
		perEvent(b, func(i int) error { _, err := DecodeCaptured(captured[i]); return err })
	})
}

// processCPU is the CPU time the process used so far, in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
