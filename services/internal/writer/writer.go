// Package writer is how the API services write: every write becomes an
// envelope from the authenticated caller, is checked with the pipeline's own
// validation (so a bad field is InvalidArgument at once, naming the field),
// goes through the stream, and, when asked, returns the ledger's outcome.
//
// A refused write is answered by its outcome's code (pedigree.v1.OutcomeCode,
// set by the rules), never by the reason's words: OutcomeError. The API
// services check the rules of package lifecycle that depend only on the
// caller before they submit, and answer a refusal by the same table
// (Refused).
//
// Invariants: no write reaches the state except through the stream; a
// response never claims an outcome the ledger did not commit.
package writer

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/ingest"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/services/internal/submit"
)

// Writer submits envelopes on behalf of API callers.
type Writer struct {
	store  *state.Store
	sub    *submit.Submitter
	logger *slog.Logger
	// Now is the clock for default event times.
	Now func() time.Time
}

// New returns a Writer.
func New(store *state.Store, sub *submit.Submitter, logger *slog.Logger) (*Writer, error) {
	if store == nil || sub == nil || logger == nil {
		return nil, errors.New("writer: store, submitter and logger are required")
	}
	return &Writer{store: store, sub: sub, logger: logger, Now: time.Now}, nil
}

// Store is the node state the writer validates against.
func (w *Writer) Store() *state.Store { return w.store }

// Logger is the writer's logger.
func (w *Writer) Logger() *slog.Logger { return w.logger }

// Caller returns the authenticated caller or Unauthenticated.
func Caller(ctx context.Context) (*auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, &apierr.Error{Code: codes.Unauthenticated, Msg: "authorization: missing bearer token"}
	}
	return p, nil
}

// Envelope returns an envelope from the caller.
func Envelope(p *auth.Principal) *pb.Envelope {
	return &pb.Envelope{PartyGln: p.Party.GetGln(), ApiTokenId: p.TokenID}
}

// Submit validates env and puts it on the stream, and returns once it is
// durable on this node's ledger; with wait it also returns the ledger
// entry (without the envelope bytes). Errors are *apierr.Error.
func (w *Writer) Submit(ctx context.Context, env *pb.Envelope, wait bool) (submit.Result, error) {
	if err := w.validate(env); err != nil {
		return submit.Result{}, err
	}
	res, err := w.sub.Submit(ctx, env, wait)
	if err != nil {
		return res, w.mapError(ctx, err)
	}
	if err := w.idConflict(env, res); err != nil {
		return res, err
	}
	tellSequence(ctx, res.Sequence)
	return res, nil
}

// Publish validates env and puts it on the stream without waiting for the
// ledger; call Durable before telling the caller it is stored.
func (w *Writer) Publish(ctx context.Context, env *pb.Envelope) (submit.Result, error) {
	if err := w.validate(env); err != nil {
		return submit.Result{}, err
	}
	res, err := w.sub.Publish(ctx, env)
	return res, w.mapError(ctx, err)
}

// Durable waits until stream sequence seq is durable on this node's
// ledger.
func (w *Writer) Durable(ctx context.Context, seq uint64) error {
	if err := w.sub.Durable(ctx, seq); err != nil {
		return w.mapError(ctx, err)
	}
	tellSequence(ctx, seq)
	return nil
}

func (w *Writer) validate(env *pb.Envelope) error {
	if err := ingest.Validate(w.store, env, env.GetPartyGln(), w.Now()); err != nil {
		var ve *ingest.ValidationError
		if errors.As(err, &ve) {
			return apierr.Invalid(ve.Field, "%s", ve.Msg)
		}
		return err
	}
	return nil
}

func (w *Writer) mapError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, submit.ErrOverloaded):
		return &apierr.Error{Code: codes.ResourceExhausted, Msg: "the ledger is busy: retry in a few seconds"}
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return &apierr.Error{Code: codes.Unavailable, Msg: "the ledger did not answer in time; the write may still be recorded: retry with the same event ID"}
	}
	return err
}

// idConflict answers AlreadyExists, naming the event ID, when the single
// event of env reuses an event ID its party recorded for another event:
// whether the ledger refused it (its outcome says so), or the stream took
// it for a retry of that event (same message ID within the duplicate
// window), in which case the entry found is the other event's and is not
// the answer. Writes of several events report a reused ID in that event's
// outcome only.
func (w *Writer) idConflict(env *pb.Envelope, res submit.Result) error {
	if len(env.GetCapture().GetEvents()) != 1 {
		return nil
	}
	if outs := res.Entry.GetOutcomes(); len(outs) == 1 && ingest.IsIDConflict(outs[0]) {
		return &apierr.Error{Code: codes.AlreadyExists, Msg: outs[0].GetReason()}
	}
	if !res.Duplicate {
		return nil
	}
	reason, err := ingest.ConflictingRetry(w.store, env)
	if err != nil {
		return err
	}
	if reason != "" {
		return &apierr.Error{Code: codes.AlreadyExists, Msg: reason}
	}
	return nil
}

// Outcome returns the single outcome of a master-data write, as an error
// (OutcomeError) when it was refused.
func Outcome(res submit.Result) (*pb.Outcome, error) {
	outs := res.Entry.GetOutcomes()
	if len(outs) != 1 {
		return nil, errors.New("writer: ledger entry without one outcome")
	}
	return outs[0], OutcomeError(outs[0])
}

// outcomeCodes maps the code of a refused (or duplicate) outcome to the
// API's error code. A refusal of no other kind is FailedPrecondition.
var outcomeCodes = [...]codes.Code{
	pb.OutcomeCode_OUTCOME_CODE_UNSPECIFIED:    codes.FailedPrecondition,
	pb.OutcomeCode_OUTCOME_CODE_DUPLICATE:      codes.AlreadyExists,
	pb.OutcomeCode_OUTCOME_CODE_ALREADY_EXISTS: codes.AlreadyExists,
	pb.OutcomeCode_OUTCOME_CODE_NOT_FOUND:      codes.NotFound,
	pb.OutcomeCode_OUTCOME_CODE_NOT_AUTHORIZED: codes.PermissionDenied,
	pb.OutcomeCode_OUTCOME_CODE_INVALID:        codes.InvalidArgument,
	pb.OutcomeCode_OUTCOME_CODE_CONFLICT:       codes.FailedPrecondition,
}

// OutcomeCode is the API's error code for a refused or duplicate outcome
// of that code: DUPLICATE and ALREADY_EXISTS AlreadyExists, NOT_FOUND
// NotFound, NOT_AUTHORIZED PermissionDenied, INVALID InvalidArgument,
// CONFLICT and any other FailedPrecondition.
func OutcomeCode(c pb.OutcomeCode) codes.Code {
	if c >= 0 && int(c) < len(outcomeCodes) {
		return outcomeCodes[c]
	}
	return codes.FailedPrecondition
}

// Refused is nil when r refuses nothing, and otherwise the error answering
// the refusal, by the same table as a ledger outcome (OutcomeCode): the API
// services check the rules of package lifecycle before they submit, so as
// to answer at once what the ledger would refuse.
func Refused(r lifecycle.Refusal) error {
	if !r.Refused() {
		return nil
	}
	return &apierr.Error{Code: OutcomeCode(pb.OutcomeCode(r.Code)), Msg: r.Reason}
}

// OutcomeError is nil for an applied outcome, and otherwise the error
// answering it, by its code (OutcomeCode); a duplicate without a code is
// AlreadyExists.
func OutcomeError(o *pb.Outcome) error {
	switch {
	case o.GetApplied():
		return nil
	case o.GetDuplicate() && o.GetCode() == pb.OutcomeCode_OUTCOME_CODE_UNSPECIFIED:
		return &apierr.Error{Code: codes.AlreadyExists, Msg: o.GetReason()}
	}
	return &apierr.Error{Code: OutcomeCode(o.GetCode()), Msg: o.GetReason()}
}
