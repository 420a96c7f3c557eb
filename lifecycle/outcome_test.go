package lifecycle

import "testing"

// TestRefusalCodes: every refusal of the pack rules carries the code of
// its kind, and an applied event none.
func TestRefusalCodes(t *testing.T) {
	v := benchView(2)
	b0 := PackCode{GTIN: benchGTIN, Serial: "B0"}
	p := v.packs[b0]
	p.Custody.Tracked = true
	v.packs[b0] = p
	pack := func(gtin, serial, lot string) []Epc {
		return []Epc{{Pack: PackCode{GTIN: gtin, Serial: serial, Lot: lot}}}
	}
	ev := func(actor string, step Step, d Disposition, epcs []Epc) *Event {
		return &Event{Type: TypeObject, Action: ActionObserve, Step: step, Disposition: d, Actor: actor,
			Epcs: epcs, EventTime: benchTime, RecordTime: benchTime}
	}
	for _, c := range []struct {
		name string
		ev   *Event
		want OutcomeCode
	}{
		{"unknown product", ev(benchPh, StepDispensing, DispUnspecified, pack("09506000134369", "X", "")), OutcomeNotFound},
		{"unknown serial", ev(benchMfr, StepDestroying, DispDestroyed, pack(benchGTIN, "nope", "")), OutcomeNotFound},
		{"step not allowed for the role", ev(benchPh, StepCommissioning, DispActive, pack(benchGTIN, "N1", "L1")), OutcomeNotAuthorized},
		{"another party's pack", ev(benchPh, StepDispensing, DispUnspecified, pack(benchGTIN, "B0", "")), OutcomeNotAuthorized},
		{"lot differs", ev(benchMfr, StepDestroying, DispDestroyed, pack(benchGTIN, "B0", "L9")), OutcomeInvalid},
		{"shipping without a destination", ev(benchMfr, StepShipping, DispInTransit, pack(benchGTIN, "B0", "")), OutcomeInvalid},
		{"destroyed", ev(benchMfr, StepDestroying, DispDestroyed, pack(benchGTIN, "B1", "")), OutcomeUnspecified},
		{"destroyed again", ev(benchMfr, StepDestroying, DispDestroyed, pack(benchGTIN, "B1", "")), OutcomeConflict},
	} {
		res := Apply(v, c.ev)
		v.store(&res)
		if res.Code != c.want || res.Applied != (c.want == OutcomeUnspecified) {
			t.Errorf("%s: applied %v, code %s (%s), want code %s", c.name, res.Applied, res.Code, res.Reason, c.want)
		}
	}
}
