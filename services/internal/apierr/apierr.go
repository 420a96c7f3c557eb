package apierr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pedigree-project/pedigree/ledger"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// Error is an error the caller may see.
type Error struct {
	// Code is the gRPC code.
	Code codes.Code
	// Field names the request field at fault, when there is one (proto
	// field path, e.g. "pack.barcode").
	Field string
	// Msg says what is wrong, for a person.
	Msg string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// GRPCStatus is the error as a gRPC status: the code and the message, and
// for an error about a field a google.rpc.BadRequest detail naming the
// field and the rule it broke (grpc-gateway gives it to REST clients in
// the body's "details").
func (e *Error) GRPCStatus() *status.Status {
	st := status.New(e.Code, e.Error())
	if e.Field == "" {
		return st
	}
	withDetails, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
		{Field: e.Field, Description: e.Msg},
	}})
	if err != nil {
		return st
	}
	return withDetails
}

// Invalid reports a field that breaks a rule (InvalidArgument, HTTP 400).
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: codes.InvalidArgument, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// NotFound reports a missing resource (HTTP 404).
func NotFound(format string, args ...any) *Error {
	return &Error{Code: codes.NotFound, Msg: fmt.Sprintf(format, args...)}
}

// Denied reports a caller who may not do this (PermissionDenied, HTTP 403).
func Denied(format string, args ...any) *Error {
	return &Error{Code: codes.PermissionDenied, Msg: fmt.Sprintf(format, args...)}
}

// Status converts err to a gRPC status error. Unrecognised errors are logged
// and become Internal.
func Status(ctx context.Context, logger *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	var ae *Error
	switch {
	case errors.As(err, &ae):
		return ae.GRPCStatus().Err()
	case status.Code(err) != codes.Unknown:
		return err
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, ledger.ErrOutOfRange):
		return status.Error(codes.OutOfRange, err.Error())
	case errors.Is(err, ledger.ErrInvalidArgument):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, ledger.ErrNoCheckpoint), errors.Is(err, state.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	}
	logger.ErrorContext(ctx, "internal error", "err", err)
	return status.Error(codes.Internal, "internal error")
}
