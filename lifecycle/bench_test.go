package lifecycle

import (
	"strconv"
	"testing"
	"time"
)

const (
	benchGTIN = "04012345000016"
	benchMfr  = "4012345000009"
	benchPh   = "4098765000003"
)

// benchView is a registry with one product and batch and n loose active
// packs B0…B(n-1) commissioned by benchMfr.
func benchView(n int) *memView {
	v := newMemView()
	v.parties[benchMfr] = Party{GLN: benchMfr, Role: RoleManufacturer}
	v.parties[benchPh] = Party{GLN: benchPh, Role: RolePharmacy}
	v.products[benchGTIN] = Product{GTIN: benchGTIN, Manufacturer: benchMfr}
	v.batches[BatchRef{GTIN: benchGTIN, Lot: "L1"}] = Batch{GTIN: benchGTIN, Lot: "L1", Expiry: "281231"}
	for i := range n {
		s := "B" + strconv.Itoa(i)
		v.packs[PackCode{GTIN: benchGTIN, Serial: s}] = Pack{GTIN: benchGTIN, Serial: s, Lot: "L1", Expiry: "281231",
			Status: StatusActive, Custody: Custody{Custodian: benchMfr, Location: benchMfr}}
	}
	return v
}

var benchTime = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC).UnixMilli()

// BenchmarkApplyDispense is the hot path of ingest: one pack, scanned with
// lot and expiry, dispensed by a pharmacy whose role the pipeline
// authenticated. The view is not updated, so every iteration dispenses an
// active pack.
func BenchmarkApplyDispense(b *testing.B) {
	v := benchView(1)
	ev := &Event{Type: TypeObject, Action: ActionObserve, Step: StepDispensing, EventTime: benchTime,
		Actor: benchPh, ActorRole: RolePharmacy,
		Epcs: []Epc{{Pack: PackCode{GTIN: benchGTIN, Serial: "B0", Lot: "L1", Expiry: "281231"}}}}
	b.ReportAllocs()
	for b.Loop() {
		if res := Apply(v, ev); !res.Applied {
			b.Fatal(res.Reason)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkVerify is the read-only verification a pharmacy terminal makes.
func BenchmarkVerify(b *testing.B) {
	v := benchView(1)
	ev := &Event{EventTime: benchTime, Actor: benchPh, ActorRole: RolePharmacy,
		Epcs: []Epc{{Pack: PackCode{GTIN: benchGTIN, Serial: "B0", Lot: "L1", Expiry: "281231"}}}}
	b.ReportAllocs()
	for b.Loop() {
		if res := Verify(v, ev); !res.Dispensable {
			b.Fatal(res.Reason)
		}
	}
}

// BenchmarkApplyPacking10k packs 10,000 loose packs into a new pallet.
func BenchmarkApplyPacking10k(b *testing.B) {
	const n = 10000
	v := benchView(n)
	ev := &Event{Type: TypeAggregation, Action: ActionAdd, Step: StepPacking, EventTime: benchTime,
		Actor: benchMfr, ActorRole: RoleManufacturer, Parent: "340123450000000002"}
	for i := range n {
		ev.Epcs = append(ev.Epcs, Epc{Pack: PackCode{GTIN: benchGTIN, Serial: "B" + strconv.Itoa(i)}})
	}
	b.ReportAllocs()
	for b.Loop() {
		if res := Apply(v, ev); !res.Applied || res.Affected != n {
			b.Fatal(res.Reason)
		}
	}
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "packs/s")
}

// BenchmarkApplyCommission10k commissions 10,000 serials in one event
// (bulk commissioning target: 1,000,000 serials in 10 s, all layers).
func BenchmarkApplyCommission10k(b *testing.B) {
	const n = 10000
	v := benchView(0)
	ev := &Event{Type: TypeObject, Action: ActionAdd, Step: StepCommissioning, EventTime: benchTime,
		Actor: benchMfr, ActorRole: RoleManufacturer, ILMD: ILMD{Lot: "L1", Expiry: "281231"}}
	for i := range n {
		ev.Epcs = append(ev.Epcs, Epc{Pack: PackCode{GTIN: benchGTIN, Serial: "N" + strconv.Itoa(i)}})
	}
	b.ReportAllocs()
	for b.Loop() {
		if res := Apply(v, ev); !res.Applied || res.Affected != n {
			b.Fatal(res.Reason)
		}
	}
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "packs/s")
}
