package envelope

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/epcis"
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

// TestProjectCapturedAgreesWithCheckEPCIS projects every event of the
// conformance corpus's capture documents from the bytes the document
// gave for it: where Project takes the event, so does ProjectCaptured,
// and CheckEPCIS, decoding the bytes in full as another node would, takes
// what it made.
func TestProjectCapturedAgreesWithCheckEPCIS(t *testing.T) {
	v, err := epcis.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	c := NewCheckedEPCIS(1 << 12)
	events, projected := 0, 0
	err = filepath.WalkDir("../epcis/testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".jsonld")) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		doc, captured, err := v.DecodeCapture(data)
		if err != nil {
			return nil // refused by the schema or the decoder
		}
		for i, cp := range captured {
			events++
			se, err := c.ProjectCaptured(cp, testActor)
			_, oldErr := NewCheckedEPCIS(1).Project(&doc.Events[i], doc.Namespaces, testActor)
			if (err == nil) != (oldErr == nil) {
				t.Fatalf("%s: event %d: ProjectCaptured says %v, Project %v", path, i, err, oldErr)
			}
			if err != nil {
				continue
			}
			projected++
			if err := CheckEPCIS(se, testActor); err != nil {
				t.Fatalf("%s: event %d: CheckEPCIS refuses what ProjectCaptured made: %v", path, i, err)
			}
			if k, _ := checkedKey(se, testActor); !c.has(k) && se.GetEventId() != "" && se.GetReadPoint() != testActor {
				t.Fatalf("%s: event %d: not remembered as checked", path, i)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if events < 150 || projected < 100 {
		t.Fatalf("%d events, %d projected", events, projected)
	}
	t.Logf("%d events, %d projected", events, projected)
}
