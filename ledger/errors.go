package ledger

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers test for them with errors.Is; the API layer maps
// them to status codes in one place (suggested gRPC code in brackets).
var (
	// ErrOutOfRange reports an index or tree size beyond the committed log
	// [OutOfRange].
	ErrOutOfRange = errors.New("ledger: out of range")

	// ErrInvalidArgument reports arguments that are wrong whatever the log
	// size, such as an inclusion proof for index ≥ tree size [InvalidArgument].
	ErrInvalidArgument = errors.New("ledger: invalid argument")

	// ErrStalePending reports a Pending that can no longer be committed:
	// the log moved on since it was staged, or its batch was not committed
	// [Internal: a caller bug].
	ErrStalePending = errors.New("ledger: stale pending")

	// ErrNoSigner reports a Checkpoint request on a log opened without a
	// signing key [FailedPrecondition].
	ErrNoSigner = errors.New("ledger: no checkpoint signer")

	// ErrNoCheckpoint reports that no checkpoint has been stored yet
	// [NotFound].
	ErrNoCheckpoint = errors.New("ledger: no checkpoint")

	// ErrCorrupt reports stored ledger data that contradicts itself.
	// Verify returns a *VerifyError, which matches ErrCorrupt [DataLoss].
	ErrCorrupt = errors.New("ledger: corrupt")
)

// A VerifyError names the first problem Verify found in a ledger: the
// object at fault and the first entry index it affects.
type VerifyError struct {
	// Index is the first entry index the problem affects. For a tile hash it
	// is the first leaf under that hash; for a checkpoint it is the
	// checkpoint's tree size, or the log size if the log is shorter.
	Index uint64
	// Object names what is wrong, e.g. "entry 41", "tile L0/N3",
	// "checkpoint 5 (size 1200)", "size metadata".
	Object string
	// Problem says what is wrong with it, e.g. "chain hash mismatch".
	Problem string
	// Err is the error of VerifyEntries' entry check that found the
	// problem, or nil.
	Err error
}

// Error returns "ledger: <object>: <problem>".
func (e *VerifyError) Error() string {
	return fmt.Sprintf("ledger: %s: %s", e.Object, e.Problem)
}

// Is reports that a VerifyError is an ErrCorrupt.
func (e *VerifyError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns the entry check's error, if that found the problem.
func (e *VerifyError) Unwrap() error { return e.Err }

func entryError(i uint64, format string, args ...any) *VerifyError {
	return &VerifyError{Index: i, Object: fmt.Sprintf("entry %d", i), Problem: fmt.Sprintf(format, args...)}
}

func tileError(level int, n int64, index uint64, format string, args ...any) *VerifyError {
	return &VerifyError{Index: index, Object: fmt.Sprintf("tile L%d/N%d", level, n), Problem: fmt.Sprintf(format, args...)}
}

func checkpointError(seq, size, index uint64, format string, args ...any) *VerifyError {
	return &VerifyError{
		Index:   index,
		Object:  fmt.Sprintf("checkpoint %d (size %d)", seq, size),
		Problem: fmt.Sprintf(format, args...),
	}
}
