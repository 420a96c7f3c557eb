package writer

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
)

// TestOutcomeErrorByCode: a refused or duplicate outcome is answered by
// its code, whatever its reason says; a rules' refusal checked before
// submitting is answered by the same table.
func TestOutcomeErrorByCode(t *testing.T) {
	for _, c := range []struct {
		out  *pb.Outcome
		want codes.Code
	}{
		{&pb.Outcome{Applied: true}, codes.OK},
		{&pb.Outcome{Duplicate: true, Code: pb.OutcomeCode_OUTCOME_CODE_DUPLICATE, Reason: "recorded at entry 3"}, codes.AlreadyExists},
		{&pb.Outcome{Duplicate: true, Reason: "recorded at entry 3"}, codes.AlreadyExists},
		{&pb.Outcome{Code: pb.OutcomeCode_OUTCOME_CODE_ALREADY_EXISTS, Reason: "x"}, codes.AlreadyExists},
		{&pb.Outcome{Code: pb.OutcomeCode_OUTCOME_CODE_NOT_FOUND, Reason: "x is already gone"}, codes.NotFound},
		{&pb.Outcome{Code: pb.OutcomeCode_OUTCOME_CODE_NOT_AUTHORIZED, Reason: "x"}, codes.PermissionDenied},
		{&pb.Outcome{Code: pb.OutcomeCode_OUTCOME_CODE_INVALID, Reason: "x"}, codes.InvalidArgument},
		{&pb.Outcome{Code: pb.OutcomeCode_OUTCOME_CODE_CONFLICT, Reason: "pack is already dispensed"}, codes.FailedPrecondition},
		{&pb.Outcome{Reason: "already something, of no kind"}, codes.FailedPrecondition},
		{&pb.Outcome{Code: 99, Reason: "a code from a newer node"}, codes.FailedPrecondition},
	} {
		err := OutcomeError(c.out)
		got := codes.OK
		if ae := (*apierr.Error)(nil); errors.As(err, &ae) {
			got = ae.Code
			if ae.Msg != c.out.GetReason() {
				t.Errorf("%v: message %q, want the reason", c.out, ae.Msg)
			}
		} else if err != nil {
			t.Errorf("%v: %v, want an *apierr.Error", c.out, err)
		}
		if got != c.want {
			t.Errorf("%v: %v, want %v", c.out, got, c.want)
		}
		if c.out.GetDuplicate() || c.out.GetApplied() || c.out.GetCode() > pb.OutcomeCode_OUTCOME_CODE_CONFLICT {
			continue
		}
		r := lifecycle.Refusal{Code: lifecycle.OutcomeCode(c.out.GetCode()), Reason: c.out.GetReason()}
		if ae := (*apierr.Error)(nil); !errors.As(Refused(r), &ae) || ae.Code != c.want {
			t.Errorf("refusal %v: %v, want %v", r, Refused(r), c.want)
		}
	}
	if Refused(lifecycle.Refusal{}) != nil {
		t.Error("the zero Refusal is answered with an error")
	}
}
