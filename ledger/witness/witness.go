package witness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigree-project/pedigree/ledger"
)

// A Log is a log the witness follows: its origin line and the keys that
// sign its checkpoints (several during a key rotation).
type Log struct {
	// Origin is the first line of the log's checkpoints.
	Origin string
	// Verifiers check the log's signatures.
	Verifiers []note.Verifier
}

// Config configures a Witness.
type Config struct {
	// Signer makes the witness's cosignatures: a cosignature/v1 signer
	// (NewSigner).
	Signer note.Signer
	// Logs are the logs it witnesses; origins are unique.
	Logs []Log
	// Store keeps what it cosigned.
	Store *Store
	// Logger receives refusals that may be evidence of a log's
	// misbehaviour.
	Logger *slog.Logger
}

// Witness cosigns the checkpoints of the logs it follows (see the package
// documentation for its invariants). Its methods are safe for concurrent
// use.
type Witness struct {
	signer note.Signer
	logs   map[string]note.Verifiers
	store  *Store
	logger *slog.Logger

	mu sync.Mutex // held from reading a log's state to storing the new one
}

// An Error is a refusal with the HTTP status the protocol gives it.
type Error struct {
	// Status is the HTTP status code of the answer.
	Status int
	// Size, with Status 409, is the size of the checkpoint the witness
	// last cosigned for the log.
	Size uint64
	// Err says why.
	Err error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %v", e.Status, http.StatusText(e.Status), e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func refuse(status int, format string, args ...any) *Error {
	return &Error{Status: status, Err: fmt.Errorf(format, args...)}
}

// New returns a witness over cfg.
func New(cfg Config) (*Witness, error) {
	if cfg.Signer == nil || cfg.Store == nil || cfg.Logger == nil {
		return nil, errors.New("witness: signer, store and logger are required")
	}
	w := &Witness{signer: cfg.Signer, store: cfg.Store, logger: cfg.Logger, logs: make(map[string]note.Verifiers, len(cfg.Logs))}
	for i, l := range cfg.Logs {
		if l.Origin == "" || strings.ContainsAny(l.Origin, "\n") {
			return nil, fmt.Errorf("witness: log %d: origin must be one non-empty line", i+1)
		}
		if _, dup := w.logs[l.Origin]; dup {
			return nil, fmt.Errorf("witness: log %q is configured twice", l.Origin)
		}
		if len(l.Verifiers) == 0 {
			return nil, fmt.Errorf("witness: log %q: no verifier key", l.Origin)
		}
		w.logs[l.Origin] = note.VerifierList(l.Verifiers...)
	}
	return w, nil
}

// AddCheckpoint runs the add-checkpoint call: it checks req against the
// last checkpoint cosigned for the log, stores the new one and returns the
// witness's cosignature as note signature lines. A refusal is an *Error.
func (w *Witness) AddCheckpoint(ctx context.Context, req Request) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	origin, err := originOf(req.Checkpoint)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "checkpoint: %w", err)
	}
	known, ok := w.logs[origin]
	if !ok {
		return nil, refuse(http.StatusNotFound, "unknown log %q", origin)
	}
	cp, n, err := ledger.OpenCheckpoint(req.Checkpoint, known)
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unverified):
		return nil, refuse(http.StatusForbidden, "checkpoint of %q: no signature by a key trusted for the log", origin)
	case errors.As(err, &invalid):
		w.logger.Warn("witness: checkpoint with a bad signature by the log's key", "origin", origin, "err", err)
		return nil, refuse(http.StatusForbidden, "checkpoint of %q: %w", origin, err)
	case err != nil:
		return nil, refuse(http.StatusBadRequest, "checkpoint: %w", err)
	}
	if req.OldSize > cp.Size {
		return nil, refuse(http.StatusBadRequest, "old size %d is above the checkpoint's size %d", req.OldSize, cp.Size)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	stored, err := w.store.latest(origin)
	if err != nil {
		return nil, err
	}
	var prev ledger.Checkpoint // size 0 when none
	if stored != nil {
		if prev, _, err = ledger.OpenCheckpoint(stored, known); err != nil {
			// A key since removed signed it: its size and root still hold.
			if prev, err = ledger.ParseUnverifiedCheckpoint(stored); err != nil {
				return nil, fmt.Errorf("witness: stored checkpoint of %q: %w", origin, err)
			}
		}
	}
	if req.OldSize != prev.Size {
		return nil, &Error{Status: http.StatusConflict, Size: prev.Size,
			Err: fmt.Errorf("old size %d is not %d, the size last cosigned for %q", req.OldSize, prev.Size, origin)}
	}
	switch {
	case cp.Size == prev.Size:
		if stored != nil && cp.Root != prev.Root {
			w.logger.Warn("witness: two trees of the same size (a fork)", "origin", origin, "size", cp.Size)
			return nil, &Error{Status: http.StatusConflict, Size: prev.Size,
				Err: fmt.Errorf("checkpoint of %q has size %d like the one cosigned, but another root hash", origin, cp.Size)}
		}
	case prev.Size > 0:
		if err := tlog.CheckTree(req.Proof, int64(cp.Size), cp.Root, int64(prev.Size), prev.Root); err != nil {
			w.logger.Warn("witness: checkpoint not consistent with the one cosigned", "origin", origin, "old", prev.Size, "size", cp.Size, "err", err)
			return nil, refuse(http.StatusUnprocessableEntity, "consistency proof from size %d to %d does not verify: %w", prev.Size, cp.Size, err)
		}
	case len(req.Proof) != 0:
		return nil, refuse(http.StatusBadRequest, "the consistency proof must be empty when the old size is 0")
	}
	signed, err := note.Sign(&note.Note{Text: n.Text}, w.signer)
	if err != nil {
		return nil, fmt.Errorf("witness: cosign: %w", err)
	}
	if err := w.store.put(origin, req.Checkpoint); err != nil {
		return nil, err
	}
	return signed[len(n.Text)+1:], nil
}

// originOf returns the origin line of a checkpoint note, without
// checking any signature.
func originOf(msg []byte) (string, error) {
	cp, err := ledger.ParseUnverifiedCheckpoint(msg)
	return cp.Origin, err
}
