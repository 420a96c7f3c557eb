package envelope

import (
	"bytes"
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

// TestCheckedEPCISRemembersEnvelopes checks that the memory knows the
// envelopes remembered, byte for byte: the same envelope with any byte
// changed, or made for another party, is not known; and the oldest are
// forgotten past its capacity.
func TestCheckedEPCISRemembersEnvelopes(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 21))
	c := NewCheckedEPCIS(8)
	body := func(party string, evs ...*pb.ScanEvent) []byte {
		b, err := Marshal(&pb.Envelope{PartyGln: party, Body: &pb.Envelope_Capture{Capture: &pb.Capture{Events: evs}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var bodies [][]byte
	for range 8 {
		b := body(testActor, captured(t, genScanEvent(r)), captured(t, genScanEvent(r)))
		c.Remember(Digest(b))
		bodies = append(bodies, b)
	}
	for _, b := range bodies {
		if !c.Checked(Digest(b)) {
			t.Fatal("a remembered envelope is not known")
		}
		for _, at := range []int{0, len(b) / 2, len(b) - 1} {
			changed := bytes.Clone(b)
			changed[at] ^= 1
			if c.Checked(Digest(changed)) {
				t.Fatalf("an envelope changed at byte %d is known", at)
			}
		}
	}
	ev := captured(t, genScanEvent(r))
	c.Remember(Digest(body(testActor, ev)))
	if c.Checked(Digest(body("4023456000000", ev))) {
		t.Error("an envelope is known for another party")
	}
	if c.Checked(Digest(bodies[0])) {
		t.Error("the oldest envelope is still known past the capacity")
	}
	if !c.Checked(Digest(bodies[1])) {
		t.Error("the second oldest envelope was forgotten too early")
	}
	var none *CheckedEPCIS
	none.Remember(Digest(bodies[1]))
	if none.Checked(Digest(bodies[1])) {
		t.Error("a nil memory knows an envelope")
	}
}

// TestProjectAgreesWithCheckEPCIS checks that Project gives the scan event
// CheckEPCIS passes, with the captured bytes of the event; and that an
// event CheckEPCIS would refuse is refused.
func TestProjectAgreesWithCheckEPCIS(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 2))
	for range 200 {
		e, err := EPCIS(genScanEvent(r), testActor)
		if err != nil {
			t.Fatal(err)
		}
		se, err := Project(e, nil, testActor)
		if err != nil {
			t.Fatalf("project: %v", err)
		}
		if err := CheckEPCIS(se, testActor); err != nil {
			t.Fatalf("CheckEPCIS refuses what Project made: %v", err)
		}
	}
	e, err := EPCIS(genScanEvent(r), testActor)
	if err != nil {
		t.Fatal(err)
	}
	e.Action = "CREATE"
	if _, err := Project(e, nil, testActor); err == nil {
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
			se, err := ProjectCaptured(cp, testActor)
			_, oldErr := Project(&doc.Events[i], doc.Namespaces, testActor)
			if (err == nil) != (oldErr == nil) {
				t.Fatalf("%s: event %d: ProjectCaptured says %v, Project %v", path, i, err, oldErr)
			}
			if err != nil {
				continue
			}
			projected++
			if err := CheckEPCISIn(cp.Head(), se, testActor); err != nil {
				t.Fatalf("%s: event %d: CheckEPCIS refuses what ProjectCaptured made: %v", path, i, err)
			}
			whole := proto.Clone(se).(*pb.ScanEvent)
			whole.Epcis = cp.Bytes()
			if err := CheckEPCIS(whole, testActor); err != nil {
				t.Fatalf("%s: event %d: CheckEPCIS refuses it kept whole: %v", path, i, err)
			}
			if !bytes.Equal(CapturedDocument(cp.Head(), se.GetEpcis()), cp.Bytes()) {
				t.Fatalf("%s: event %d: its document is not the head, the event and the tail", path, i)
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
