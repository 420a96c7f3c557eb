package envelope

import (
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestCheckedEPCISDecidesAsCheckEPCIS checks that the memory of checked
// events answers exactly as CheckEPCIS: an event it passed passes again;
// the same event changed in any field, or captured by another party, is
// checked in full and refused as CheckEPCIS refuses it; a refused event is
// not remembered; and the oldest events are forgotten past its capacity.
func TestCheckedEPCISDecidesAsCheckEPCIS(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 21))
	c := NewCheckedEPCIS(8)
	var evs []*pb.ScanEvent
	for range 8 {
		ev := captured(t, genScanEvent(r))
		if err := c.Check(ev, testActor); err != nil {
			t.Fatalf("agreeing event refused: %v", err)
		}
		evs = append(evs, ev)
	}
	for _, ev := range evs {
		k, _ := checkedKey(ev, testActor)
		if !c.has(k) {
			t.Fatal("a checked event is not remembered")
		}
		if err := c.Check(ev, testActor); err != nil {
			t.Fatalf("a remembered event refused: %v", err)
		}
		changed := proto.Clone(ev).(*pb.ScanEvent)
		changed.BizStep = pb.BizStep_BIZ_STEP_DESTROYING
		if changed.GetBizStep() == ev.GetBizStep() {
			changed.BizStep = pb.BizStep_BIZ_STEP_SHIPPING
		}
		want := CheckEPCIS(changed, testActor)
		if got := c.Check(changed, testActor); want == nil || got == nil || got.Error() != want.Error() {
			t.Fatalf("changed event: got %v, CheckEPCIS says %v", got, want)
		}
		if k, _ := checkedKey(changed, testActor); c.has(k) {
			t.Fatal("a refused event was remembered")
		}
		if k, _ := checkedKey(ev, "4023456000000"); c.has(k) {
			t.Fatal("an event is remembered for another party")
		}
	}
	more := captured(t, genScanEvent(r))
	if err := c.Check(more, testActor); err != nil {
		t.Fatal(err)
	}
	if k, _ := checkedKey(evs[0], testActor); c.has(k) {
		t.Error("the oldest event is still remembered past the capacity")
	}
	if k, _ := checkedKey(evs[1], testActor); !c.has(k) {
		t.Error("the second oldest event was forgotten too early")
	}
	var none *CheckedEPCIS
	if err := none.Check(evs[0], testActor); err != nil {
		t.Errorf("nil memory: %v", err)
	}
}

// TestProjectAgreesWithCheckEPCIS checks that Project gives the scan event
// CheckEPCIS passes, with the captured bytes of the event, remembered as
// checked; and that an event CheckEPCIS would refuse is refused.
func TestProjectAgreesWithCheckEPCIS(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 2))
	c := NewCheckedEPCIS(1024)
	for range 200 {
		e, err := EPCIS(genScanEvent(r), testActor)
		if err != nil {
			t.Fatal(err)
		}
		se, err := c.Project(e, nil, testActor)
		if err != nil {
			t.Fatalf("project: %v", err)
		}
		if err := CheckEPCIS(se, testActor); err != nil {
			t.Fatalf("CheckEPCIS refuses what Project made: %v", err)
		}
		if k, _ := checkedKey(se, testActor); !c.has(k) {
			t.Fatal("a projected event is not remembered")
		}
	}
	e, err := EPCIS(genScanEvent(r), testActor)
	if err != nil {
		t.Fatal(err)
	}
	e.Action = "CREATE"
	if _, err := c.Project(e, nil, testActor); err == nil {
		t.Error("an event of no action was projected")
	}
}
