package lifecycle

import (
	"reflect"
	"regexp"
	"testing"
)

// FuzzApply decodes a short stream of events from the input, drawn from a
// small vocabulary so that they meet real rules, and applies them in order
// to a world holding every status, custody shape and container oddity
// (cycles, dangling parents, chains deeper than maxDepth). Apply must never
// panic, must be deterministic, and its Result must keep its contract.
func FuzzApply(f *testing.F) {
	for _, seed := range [][]byte{
		{},
		{1, 0, 6, 0, 3, 0, 0, 1, 0, 1, 1}, // dispense
		{2, 1, 2, 0, 1, 0, 0, 1, 3, 4, 2, 1, 5, 0, 9, 9},  // packing with containers
		{2, 3, 3, 0, 2, 0, 0, 1, 2, 4, 4, 2, 1},           // unpacking
		{1, 1, 1, 0, 1, 0, 0, 1, 2, 0, 3, 0, 1, 1, 1},     // commissioning
		{1, 0, 4, 0, 2, 0, 0, 3, 0, 2, 4, 6, 4, 7},        // shipping containers
		{1, 0, 11, 6, 1, 7, 0, 0, 0, 0, 0, 2, 0, 1, 1, 2}, // recall
		{1, 0, 12, 0, 3, 0, 3, 1, 0, 1, 2, 1, 0},          // undo
		{1, 0, 9, 0, 4, 0, 0, 4, 0, 4, 8, 9, 10, 11},      // verify odd packs
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v := fuzzWorld()
		in := fuzzInput(data)
		for range 8 {
			if in.done() {
				return
			}
			ev := in.event()
			res := Apply(v, ev)
			if again := Apply(v, ev); !reflect.DeepEqual(res, again) {
				t.Fatalf("Apply is not deterministic for %+v:\n%+v\n%+v", ev, res, again)
			}
			checkResult(t, ev, &res)
			ver := Verify(v, ev)
			checkResult(t, ev, &ver)
			if len(ver.PutPacks)+len(ver.PutContainers)+len(ver.PutBatches) > 0 {
				t.Fatalf("Verify wrote: %+v", ver)
			}
			v.store(&res)
		}
	})
}

var snakeCase = regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)

// checkResult checks the invariants every Result keeps.
func checkResult(t *testing.T, ev *Event, res *Result) {
	t.Helper()
	if res.Applied && res.Refused != 0 {
		t.Fatalf("applied with %d refused: %+v", res.Refused, res)
	}
	if !res.Applied && res.Reason == "" {
		t.Fatalf("refused without a reason: %+v", res)
	}
	atomic := ev.Type == TypeAggregation || ev.Step == StepCommissioning
	if !res.Applied && atomic && len(res.PutPacks)+len(res.PutContainers) > 0 {
		t.Fatalf("refused atomic event wrote: %+v", res)
	}
	for _, a := range res.Alerts {
		if a.Code <= CodeUnspecified || a.Code > CodeUnauthorizedStep || a.Message == "" {
			t.Fatalf("bad alert %+v", a)
		}
		for _, kv := range a.Evidence {
			if !snakeCase.MatchString(kv.Key) {
				t.Fatalf("evidence key %q is not snake_case", kv.Key)
			}
		}
	}
	packs := map[PackCode]bool{}
	for _, p := range res.PutPacks {
		k := PackCode{GTIN: p.GTIN, Serial: p.Serial}
		if packs[k] {
			t.Fatalf("pack %v written twice", k)
		}
		packs[k] = true
	}
	conts := map[string]bool{}
	for _, c := range res.PutContainers {
		if conts[c.SSCC] || c.SSCC == "" {
			t.Fatalf("container %q written twice or unnamed", c.SSCC)
		}
		conts[c.SSCC] = true
		if c.Children < 0 || c.Packs < 0 {
			t.Fatalf("negative counts: %+v", c)
		}
	}
}

// Vocabularies the fuzzer picks from; "" and junk included on purpose.
var (
	fzGLNs    = []string{"", "4012345000009", "4023456000000", "4098765000003", "4098765000010", "4100000000003", "4999999000008", "4033333000016", "4111111000005"}
	fzGTINs   = []string{"04012345000016", "04033333000015", "09876543210982", ""}
	fzSerials = []string{"S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "S11", "NEW1", "NEW2", ""}
	fzLots    = []string{"", "L1", "L2", "L3", "L4", "R1", "LX"}
	fzExpiry  = []string{"", "281231", "280200", "200100", "290101", "2803", "28O231", "281301"}
	fzSSCCs   = []string{"", "C1", "C2", "CX", "CY", "D0", "D9", "NEWC"}
	fzTimes   = []int64{0, -1, 1, 1795000000000, 1800000000000, 1800864000000, 4102444800000, 1 << 62}
)

// fuzzWorld is a small world reachable and unreachable through the rules.
func fuzzWorld() *memView {
	v := newMemView()
	for i, g := range fzGLNs[1:8] {
		v.parties[g] = Party{GLN: g, Role: []Role{RoleManufacturer, RoleWholesaler, RolePharmacy, RolePharmacy, RoleHospitalPharmacy, RoleRegulator, RoleParallelImporter}[i]}
	}
	v.products["04012345000016"] = Product{GTIN: "04012345000016", Manufacturer: fzGLNs[1]}
	v.products["04033333000015"] = Product{GTIN: "04033333000015", Manufacturer: fzGLNs[7]}
	for _, b := range []Batch{
		{GTIN: "04012345000016", Lot: "L1", Expiry: "281231"},
		{GTIN: "04012345000016", Lot: "L2", Expiry: "290101", Recalled: true},
		{GTIN: "04012345000016", Lot: "L3", Expiry: "200100"},
		{GTIN: "04012345000016", Lot: "L4", Expiry: "28O231", Withdrawn: true},
		{GTIN: "04033333000015", Lot: "R1", Expiry: "280200"},
	} {
		v.batches[BatchRef{GTIN: b.GTIN, Lot: b.Lot}] = b
	}
	mfr, whs, ph := fzGLNs[1], fzGLNs[2], fzGLNs[3]
	packs := []Pack{
		{Serial: "S0", Lot: "L1", Status: StatusActive, Custody: Custody{Custodian: mfr}},
		{Serial: "S1", Lot: "L1", Status: StatusActive, Custody: Custody{Custodian: whs, Tracked: true}},
		{Serial: "S2", Lot: "L1", Status: StatusActive, Custody: Custody{Custodian: mfr, Tracked: true, Transit: Transit{From: mfr, To: whs}}},
		{Serial: "S3", Lot: "L1", Status: StatusActive, Parent: "C2"},
		{Serial: "S4", Lot: "L1", Status: StatusSupplied, Decommission: Decommission{Party: ph, Location: ph, Time: 1800000000000, Status: StatusSupplied}},
		{Serial: "S5", Lot: "L1", Status: StatusStolen},
		{Serial: "S6", Lot: "L2", Status: StatusActive},
		{Serial: "S7", Lot: "L3", Status: StatusLocked, Decommission: Decommission{Party: whs, Location: whs, Time: 1800000000000, Status: StatusLocked}},
		{Serial: "S8", Lot: "L4", Status: StatusActive},
		{Serial: "S9", Lot: "L1", Status: StatusActive, Parent: "CX"},
		{Serial: "S10", Lot: "L1", Status: StatusActive, Parent: "D0"},
		{Serial: "S11", Lot: "LX", Status: Status(99), Parent: "GONE"},
	}
	for _, p := range packs {
		p.GTIN, p.Expiry = "04012345000016", "281231"
		v.packs[PackCode{GTIN: p.GTIN, Serial: p.Serial}] = p
	}
	for _, c := range []Container{
		{SSCC: "C1", Custody: Custody{Custodian: whs, Tracked: true}, Children: 1, Packs: 1},
		{SSCC: "C2", Parent: "C1", Children: 1, Packs: 1},
		{SSCC: "CX", Parent: "CY", Children: 1, Packs: 1},
		{SSCC: "CY", Parent: "CX", Children: 1, Packs: 1},
	} {
		v.containers[c.SSCC] = c
	}
	for i := range 10 {
		c := Container{SSCC: "D" + string(rune('0'+i)), Children: 1, Packs: 1, Custody: Custody{Custodian: ph, Tracked: i == 9}}
		if i < 9 {
			c.Parent = "D" + string(rune('1'+i))
		}
		v.containers[c.SSCC] = c
	}
	return v
}

// fuzzInput reads choices from fuzz data; past its end every choice is 0.
type fuzzInput []byte

func (in *fuzzInput) done() bool { return len(*in) == 0 }

func (in *fuzzInput) next() int {
	if len(*in) == 0 {
		return 0
	}
	b := (*in)[0]
	*in = (*in)[1:]
	return int(b)
}

func pick[T any](in *fuzzInput, from []T) T { return from[in.next()%len(from)] }

func (in *fuzzInput) event() *Event {
	ev := &Event{
		Type:        EventType(in.next() % 4),
		Action:      Action(in.next() % 5),
		Step:        Step(in.next() % 14),
		Disposition: Disposition(in.next() % 17),
		Actor:       pick(in, fzGLNs),
		ActorRole:   Role(in.next() % 10),
		EventTime:   pick(in, fzTimes),
	}
	n := in.next() % 5
	for range n {
		if in.next()%3 == 0 {
			ev.Epcs = append(ev.Epcs, Epc{SSCC: pick(in, fzSSCCs)})
			continue
		}
		ev.Epcs = append(ev.Epcs, Epc{Pack: PackCode{GTIN: pick(in, fzGTINs), Serial: pick(in, fzSerials),
			Lot: pick(in, fzLots), Expiry: pick(in, fzExpiry)}})
	}
	switch in.next() % 4 {
	case 1:
		ev.Parent = pick(in, fzSSCCs)
	case 2:
		ev.Destination = pick(in, fzGLNs)
		ev.ReadPoint = pick(in, fzGLNs)
	case 3:
		ev.ILMD = ILMD{Lot: pick(in, fzLots), Expiry: pick(in, fzExpiry)}
		ev.Batches = append(ev.Batches, BatchRef{GTIN: pick(in, fzGTINs), Lot: pick(in, fzLots)})
	}
	return ev
}
