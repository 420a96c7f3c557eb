package lifecycle

import "strconv"

// OutcomeCode classifies a refused or duplicate write, so that programs
// (the API's error codes, clients) never read a reason's words. The numbers
// mirror pedigree.v1.OutcomeCode, so that services convert with a cast.
type OutcomeCode int32

// Outcome codes.
const (
	// OutcomeUnspecified: applied, or a refusal of no other kind.
	OutcomeUnspecified OutcomeCode = 0
	// OutcomeDuplicate: the event ID (or request) was already on the
	// ledger; nothing was done.
	OutcomeDuplicate OutcomeCode = 1
	// OutcomeAlreadyExists: the master-data record already exists.
	OutcomeAlreadyExists OutcomeCode = 2
	// OutcomeNotFound: something the write names is not known.
	OutcomeNotFound OutcomeCode = 3
	// OutcomeNotAuthorized: the sender may not do this (its role, or the
	// object is another party's).
	OutcomeNotAuthorized OutcomeCode = 4
	// OutcomeInvalid: the write contradicts itself or the master data.
	OutcomeInvalid OutcomeCode = 5
	// OutcomeConflict: the object's state forbids it now.
	OutcomeConflict OutcomeCode = 6
)

// String returns the proto name without prefix, e.g. "NOT_FOUND".
func (c OutcomeCode) String() string {
	switch c {
	case OutcomeUnspecified:
		return "UNSPECIFIED"
	case OutcomeDuplicate:
		return "DUPLICATE"
	case OutcomeAlreadyExists:
		return "ALREADY_EXISTS"
	case OutcomeNotFound:
		return "NOT_FOUND"
	case OutcomeNotAuthorized:
		return "NOT_AUTHORIZED"
	case OutcomeInvalid:
		return "INVALID"
	case OutcomeConflict:
		return "CONFLICT"
	}
	return "OutcomeCode(" + strconv.Itoa(int(c)) + ")"
}

// Refusal is why a write is refused: its code and its reason. The zero
// Refusal refuses nothing.
type Refusal struct {
	Code   OutcomeCode
	Reason string
}

// Refused reports whether r refuses the write.
func (r Refusal) Refused() bool { return r.Reason != "" }

// refusal builds a Refusal.
func refusal(code OutcomeCode, reason string) Refusal { return Refusal{Code: code, Reason: reason} }
