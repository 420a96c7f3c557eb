package sdk

import (
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// Verdict is what became of one event of a ledger entry.
type Verdict int

const (
	// Refused: the rules refused the event (the outcome's reason says
	// why), or the entry has no outcome for it.
	Refused Verdict = iota
	// Applied: the event changed the state.
	Applied
	// Duplicate: the event was recorded before (the reason names that
	// ledger entry); nothing changed.
	Duplicate
)

// String is the verdict as `pedigree scan` prints it.
func (v Verdict) String() string {
	switch v {
	case Applied:
		return "applied"
	case Duplicate:
		return "duplicate"
	}
	return "refused"
}

// EventResult is one event's outcome in a ledger entry.
type EventResult struct {
	// EventID is the event's EPCIS eventID.
	EventID string
	// Outcome is the ledger's outcome of the event, never nil (empty when
	// the entry has none for it).
	Outcome *pb.Outcome
	// Verdict classifies the outcome.
	Verdict Verdict
}

// EventResults decodes a ledger entry's outcomes: one result per event
// the entry names, in order. It is the one reading of Outcome.applied and
// Outcome.duplicate that the SDK, the CLI, the simulator and the benchmark
// share.
func EventResults(e *pb.LedgerEntry) []EventResult {
	ids, outs := e.GetEventIds(), e.GetOutcomes()
	n := max(len(ids), len(outs))
	res := make([]EventResult, n)
	for i := range n {
		r := EventResult{Outcome: &pb.Outcome{}}
		if i < len(ids) {
			r.EventID = ids[i]
		}
		if i < len(outs) && outs[i] != nil {
			r.Outcome = outs[i]
		}
		switch {
		case r.Outcome.GetApplied():
			r.Verdict = Applied
		case r.Outcome.GetDuplicate():
			r.Verdict = Duplicate
		}
		res[i] = r
	}
	return res
}
