// The enums of package lifecycle mirror pedigree.v1's number for number, so
// that services convert with a cast. This external test (package
// lifecycle_test) is the only place the generated code is imported: the
// lifecycle package itself depends on the standard library and gs1 alone.
package lifecycle_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

func TestEnumsMirrorProto(t *testing.T) {
	for _, e := range []struct {
		prefix string
		names  map[int32]string
		str    func(int32) string
	}{
		{"PACK_STATUS_", pb.PackStatus_name, func(n int32) string { return lifecycle.Status(n).String() }},
		{"ROLE_", pb.Role_name, func(n int32) string { return lifecycle.Role(n).String() }},
		{"BIZ_STEP_", pb.BizStep_name, func(n int32) string { return lifecycle.Step(n).String() }},
		{"DISPOSITION_", pb.Disposition_name, func(n int32) string { return lifecycle.Disposition(n).String() }},
		{"ACTION_", pb.Action_name, func(n int32) string { return lifecycle.Action(n).String() }},
		{"EVENT_TYPE_", pb.EventType_name, func(n int32) string { return lifecycle.EventType(n).String() }},
		{"ALERT_CODE_", pb.AlertCode_name, func(n int32) string { return lifecycle.Code(n).String() }},
		{"OUTCOME_CODE_", pb.OutcomeCode_name, func(n int32) string { return lifecycle.OutcomeCode(n).String() }},
		{"ALERT_STATUS_", pb.AlertStatus_name, func(n int32) string { return lifecycle.AlertStatus(n).String() }},
	} {
		for n := int32(0); n <= int32(len(e.names)); n++ {
			want, ok := e.names[n]
			want = strings.TrimPrefix(want, e.prefix)
			if !ok {
				want = "(" + strconv.Itoa(int(n)) + ")"
			}
			if got := e.str(n); !strings.HasSuffix(got, want) {
				t.Errorf("%s%d: lifecycle says %s, proto says %s", e.prefix, n, got, want)
			}
		}
	}
}
