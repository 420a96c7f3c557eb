package lifecycle

import (
	"fmt"
	"time"

	"github.com/pedigree-project/pedigree/gs1"
)

// ExpiryEnd returns the instant, in Unix milliseconds, at which the expiry
// day yymmdd ends: midnight UTC after it. A pack is expired at any time at
// or after that instant.
//
// yymmdd is a GS1 AI (17) date exactly as encoded: DD 00 means the last day
// of the month (so 280200 ends on 29 February 2028). The century follows
// the sliding window of the GS1 General Specifications (section 7.12)
// relative to the year of ref (Unix milliseconds, normally the event time),
// as gs1.ExpiryDate reads it. The day is taken in UTC; the event's local
// time zone is not considered.
func ExpiryEnd(yymmdd string, ref int64) (int64, error) {
	day, err := gs1.ExpiryDate(yymmdd, time.UnixMilli(ref))
	if err != nil {
		return 0, fmt.Errorf("lifecycle: expiry: %w", err)
	}
	return day.AddDate(0, 0, 1).UnixMilli(), nil
}

// EffectiveStatus is the status of pack p of batch b at time at (Unix
// milliseconds, the event's time): RECALLED or WITHDRAWN when the batch says
// so (recall first), EXPIRED once the expiry day has ended, else the pack's
// own status. The expiry is the batch's, or the pack's copy when the batch
// record has none; an expiry that is not a valid date never expires (its
// syntax is the gs1 package's business).
func EffectiveStatus(p Pack, b Batch, at int64) Status {
	switch {
	case b.Recalled:
		return StatusRecalled
	case b.Withdrawn:
		return StatusWithdrawn
	}
	exp := b.Expiry
	if exp == "" {
		exp = p.Expiry
	}
	if end, err := ExpiryEnd(exp, at); err == nil && at >= end {
		return StatusExpired
	}
	return p.Status
}
