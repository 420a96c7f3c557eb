package entry

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestUpgradeAlert reads an alert as format 1 wrote it (evidence as map
// field 10, keys sorted) and finds the evidence in field 13's list.
func TestUpgradeAlert(t *testing.T) {
	old, err := proto.Marshal(&pb.Alert{AlertId: "7-0", Message: "lot differs"})
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"expected_lot", "L1"}, {"scanned_lot", "L9"}} {
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType)
		e = protowire.AppendString(e, kv[0])
		e = protowire.AppendTag(e, 2, protowire.BytesType)
		e = protowire.AppendString(e, kv[1])
		old = protowire.AppendTag(old, 10, protowire.BytesType)
		old = protowire.AppendBytes(old, e)
	}
	a := &pb.Alert{}
	if err := proto.Unmarshal(old, a); err != nil {
		t.Fatal(err)
	}
	if err := UpgradeAlert(a); err != nil {
		t.Fatal(err)
	}
	if len(a.ProtoReflect().GetUnknown()) != 0 || len(a.GetEvidence()) != 2 {
		t.Fatalf("upgraded: %v", a)
	}
	if v, _ := a.EvidenceValue("scanned_lot"); v != "L9" || a.GetEvidence()[0].GetKey() != "expected_lot" {
		t.Fatalf("evidence %v", a.GetEvidence())
	}
	if err := UpgradeAlert(a); err != nil || len(a.GetEvidence()) != 2 {
		t.Fatalf("a second upgrade changed it: %v, %v", a, err)
	}

	bad := protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1)
	b := &pb.Alert{}
	if err := proto.Unmarshal(bad, b); err != nil {
		t.Fatal(err)
	}
	if err := UpgradeAlert(b); err == nil {
		t.Fatal("an unknown field other than 10 was accepted")
	}
}
