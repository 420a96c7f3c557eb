package state

import (
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/encoding/protowire"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestAlertStoredBeforeFormat2 reads an alert stored with its evidence as
// format 1 wrote it (map field 10): the evidence comes back, through Alert
// and through the alert listing.
func TestAlertStoredBeforeFormat2(t *testing.T) {
	s := openStore(t)
	var kv []byte
	kv = protowire.AppendTag(kv, 1, protowire.BytesType)
	kv = protowire.AppendString(kv, "scanned_lot")
	kv = protowire.AppendTag(kv, 2, protowire.BytesType)
	kv = protowire.AppendString(kv, "L9")
	old := &pb.Alert{AlertId: "3-0", LedgerIndex: 3}
	old.ProtoReflect().SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, 10, protowire.BytesType), kv))
	b := s.DB().NewBatch()
	if err := PutAlert(b, 3, 0, old); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	a, err := s.Alert(3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := a.EvidenceValue("scanned_lot"); !ok || v != "L9" {
		t.Fatalf("evidence of an old alert: %v", a.GetEvidence())
	}
	n := 0
	if err := s.AlertsNewestFirst(nil, func(a *pb.Alert) bool {
		n++
		if v, _ := a.EvidenceValue("scanned_lot"); v != "L9" {
			t.Errorf("listed alert's evidence: %v", a.GetEvidence())
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("listed %d alerts, want 1", n)
	}
}
