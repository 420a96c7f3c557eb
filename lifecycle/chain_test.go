package lifecycle

import (
	"slices"
	"testing"
)

// TestEffectiveChainAgreesWithEffectiveCustody walks loose objects, a
// case on a pallet, a missing parent, a cycle and a chain deeper than the
// limit, and checks that EffectiveChain gives EffectiveCustody's custody
// with the containers it walked.
func TestEffectiveChainAgreesWithEffectiveCustody(t *testing.T) {
	v := newMemView()
	own := Custody{Custodian: "mfr", Location: "mfr"}
	at := func(gln string) Custody { return Custody{Custodian: gln, Location: gln, Tracked: true} }
	v.containers["case"] = Container{Parent: "pallet", Custody: at("stale")}
	v.containers["pallet"] = Container{Custody: at("ws")}
	v.containers["orphan"] = Container{Parent: "gone", Custody: at("orphan-holder")}
	v.containers["a"] = Container{Parent: "b", Custody: at("a")}
	v.containers["b"] = Container{Parent: "a", Custody: at("b")}
	for i := range 10 {
		v.containers[string(rune('0'+i))] = Container{Parent: string(rune('0' + i + 1)), Custody: at(string(rune('0' + i)))}
	}
	for _, c := range []struct {
		parent    string
		custodian string
		chain     []string
	}{
		{"", "mfr", nil},
		{"gone", "mfr", nil},
		{"case", "ws", []string{"case", "pallet"}},
		{"pallet", "ws", []string{"pallet"}},
		{"orphan", "orphan-holder", []string{"orphan"}},
		{"a", "b", []string{"a", "b"}},
		{"0", "7", []string{"0", "1", "2", "3", "4", "5", "6", "7"}},
	} {
		cust, chain := EffectiveChain(v, own, c.parent)
		want, root := EffectiveCustody(v, own, c.parent)
		if cust != want || cust.Custodian != c.custodian || !slices.Equal(chain, c.chain) {
			t.Errorf("parent %q: custody %+v chain %v; want %s (EffectiveCustody: %+v) and %v", c.parent, cust, chain, c.custodian, want, c.chain)
		}
		if len(chain) > 0 && chain[len(chain)-1] != root {
			t.Errorf("parent %q: chain %v ends elsewhere than EffectiveCustody's root %q", c.parent, chain, root)
		}
	}
}
