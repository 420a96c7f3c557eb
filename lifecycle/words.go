package lifecycle

import (
	"strconv"
	"strings"
	"time"
)

// The helpers below phrase alerts and reasons for people: a pharmacist at
// the counter, an inspector reading the alert stream. Dates are UTC, ISO
// 8601.

// stamp formats Unix milliseconds as an ISO 8601 UTC timestamp, with
// milliseconds only when there are any.
func stamp(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.999Z07:00")
}

// day formats Unix milliseconds as an ISO 8601 UTC date.
func day(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.DateOnly)
}

// boolString is "true" or "false".
func boolString(b bool) string { return strconv.FormatBool(b) }

// orNone is s, or "none" when s is empty.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// statusVerb says what happened to a pack that has status s.
func statusVerb(s Status) string {
	switch s {
	case StatusActive:
		return "active"
	case StatusSupplied:
		return "dispensed"
	case StatusCheckedOut:
		return "checked out"
	case StatusSample:
		return "taken as a sample"
	case StatusFreeSample:
		return "handed out as a free sample"
	case StatusStolen:
		return "reported stolen"
	}
	return strings.ToLower(strings.ReplaceAll(s.String(), "_", " "))
}

// stepNoun names a step as the object of "scanned for …" or "perform …".
func stepNoun(s Step, d Disposition) string {
	switch s {
	case StepInspecting:
		return "verification"
	case StepUndoDecommission:
		return "undo of a decommission"
	case StepReturning:
		return "a saleable return"
	case StepDestroying:
		return "destruction"
	case StepHolding:
		if d == DispWithdrawn {
			return "withdrawal"
		}
		return "recall"
	}
	return strings.ToLower(strings.ReplaceAll(s.String(), "_", " "))
}

// stepDeed says what a step does to an object, as in "may not …".
func stepDeed(s Step, d Disposition) string {
	switch s {
	case StepShipping:
		return "ship it"
	case StepReceiving:
		return "receive it"
	case StepReturning:
		return "take it back"
	case StepDispensing:
		return "dispense it"
	case StepDecommissioning:
		if d == DispStolen {
			return "report it stolen"
		}
		return "decommission it"
	case StepDestroying:
		return "destroy it"
	case StepPacking:
		return "pack it"
	case StepUnpacking:
		return "unpack it"
	case StepInspecting:
		return "verify it"
	}
	return "act on it"
}

// roleNoun names a role with its article: "a pharmacy", "an admin".
func roleNoun(r Role) string {
	switch r {
	case RoleUnspecified:
		return "a party without a role"
	case RoleAdmin:
		return "an admin"
	}
	return "a " + strings.ToLower(strings.ReplaceAll(r.String(), "_", " "))
}

// registeredExpiry is the expiry a pack's scan is compared with: its
// batch's, or the pack's copy when the batch record has none.
func registeredExpiry(p Pack, b Batch) string {
	if b.Expiry != "" {
		return b.Expiry
	}
	return p.Expiry
}

// statusReason explains why a pack whose effective status is batch-level
// (recalled, withdrawn, expired) is refused. It is a reason, not an alert:
// these packs raise no falsification alert. at is the event's time.
func (pc *packCtx) statusReason(at int64) string {
	p := pc.pack
	switch pc.eff {
	case StatusRecalled:
		return "pack is RECALLED: lot " + p.Lot + " of GTIN " + p.GTIN + " was recalled"
	case StatusWithdrawn:
		return "pack is WITHDRAWN: lot " + p.Lot + " of GTIN " + p.GTIN + " was withdrawn"
	}
	exp := registeredExpiry(p, pc.batch)
	msg := "pack is EXPIRED: expiry " + exp
	if end, err := ExpiryEnd(exp, at); err == nil {
		msg += " (" + day(end-1) + ")"
	}
	return msg + " has passed"
}
