package witness

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/pedigree-project/pedigree/ledger"
)

// A TooFewSignaturesError says that a checkpoint carries fewer valid
// signatures from trusted keys than required.
type TooFewSignaturesError struct {
	// Size is the checkpoint's size.
	Size uint64
	// Have is the number of trusted keys whose signature verifies.
	Have int
	// Want is the number required.
	Want int
	// Signers name the trusted keys that signed; Others the keys not
	// trusted that signed too.
	Signers, Others []string
}

func (e *TooFewSignaturesError) Error() string {
	msg := fmt.Sprintf("the checkpoint of size %d carries %d valid signature(s) from trusted keys, fewer than the %d required", e.Size, e.Have, e.Want)
	if len(e.Signers) > 0 {
		msg += " (signed by " + strings.Join(e.Signers, ", ") + ")"
	}
	if len(e.Others) > 0 {
		msg += "; also signed by keys not trusted: " + strings.Join(e.Others, ", ")
	}
	return msg
}

// VerifyCheckpoint opens a signed checkpoint note with the trusted
// verifiers (log keys and witness keys alike) and requires valid
// signatures from at least min distinct trusted keys. A signature by a
// trusted key that does not verify fails it; signatures by other keys are
// ignored. It returns the checkpoint and the verified signatures.
func VerifyCheckpoint(msg []byte, trusted []note.Verifier, min int) (ledger.Checkpoint, []note.Signature, error) {
	if min < 1 {
		return ledger.Checkpoint{}, nil, fmt.Errorf("minimum signatures: must be at least 1, got %d", min)
	}
	if len(trusted) == 0 {
		return ledger.Checkpoint{}, nil, errors.New("no trusted keys")
	}
	type id struct {
		name string
		hash uint32
	}
	seen := map[id]bool{}
	var unique []note.Verifier
	for _, v := range trusted {
		if k := (id{v.Name(), v.KeyHash()}); !seen[k] {
			seen[k] = true
			unique = append(unique, v)
		}
	}
	cp, n, err := ledger.OpenCheckpoint(msg, note.VerifierList(unique...))
	var unverified *note.UnverifiedNoteError
	if errors.As(err, &unverified) {
		body, perr := ledger.ParseUnverifiedCheckpoint(msg)
		if perr != nil {
			return ledger.Checkpoint{}, nil, err
		}
		return ledger.Checkpoint{}, nil, &TooFewSignaturesError{Size: body.Size, Want: min, Others: names(unverified.Note.UnverifiedSigs)}
	}
	if err != nil {
		return ledger.Checkpoint{}, nil, err
	}
	if len(n.Sigs) < min {
		return ledger.Checkpoint{}, nil, &TooFewSignaturesError{Size: cp.Size, Have: len(n.Sigs), Want: min, Signers: names(n.Sigs), Others: names(n.UnverifiedSigs)}
	}
	return cp, n.Sigs, nil
}

func names(sigs []note.Signature) []string {
	out := make([]string, len(sigs))
	for i, s := range sigs {
		out[i] = fmt.Sprintf("%s+%08x", s.Name, s.Hash)
	}
	return out
}
