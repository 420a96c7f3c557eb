package entry

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// UpgradeAlert moves the evidence of an alert unmarshalled from format 1
// bytes (alert field 10, a map, now reserved, so that protobuf kept it as
// unknown fields) into Evidence, in the map's order (sorted by key), and
// drops the unknown fields. It is for copies of alerts kept outside the
// ledger (the node's alert table) written before format 2; an alert
// without unknown fields is left as it is. Fields other than 10 are
// refused: they would be data this version cannot read.
func UpgradeAlert(a *pb.Alert) error {
	raw := a.ProtoReflect().GetUnknown()
	if len(raw) == 0 {
		return nil
	}
	var ev []*pb.EvidenceItem
	for b := raw; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num != 10 || typ != protowire.BytesType {
			return fmt.Errorf("%w: alert: unknown field %d", ErrNonCanonical, num)
		}
		v, m := protowire.ConsumeBytes(b[n:])
		if m < 0 {
			return fmt.Errorf("%w: alert: evidence: bad length", ErrNonCanonical)
		}
		kv := &pb.EvidenceItem{}
		if _, err := decodeMapEntry(v, kv); err != nil {
			return fmt.Errorf("alert: evidence: %w", err)
		}
		ev = append(ev, kv)
		b = b[n+m:]
	}
	if len(a.GetEvidence()) > 0 {
		return fmt.Errorf("%w: alert: evidence in both formats", ErrNonCanonical)
	}
	a.Evidence = ev
	a.ProtoReflect().SetUnknown(nil)
	return nil
}
