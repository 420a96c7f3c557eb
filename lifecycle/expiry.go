package lifecycle

import "time"

// expiryError is an ExpiryEnd error; a constant type keeps the package free
// of mutable state.
type expiryError string

// Error returns the message.
func (e expiryError) Error() string { return string(e) }

const (
	errExpirySyntax expiryError = "lifecycle: expiry is not six digits YYMMDD"
	errExpiryDate   expiryError = "lifecycle: expiry names no calendar day"
)

// ExpiryEnd returns the instant, in Unix milliseconds, at which the expiry
// day yymmdd ends: midnight UTC after it. A pack is expired at any time at
// or after that instant.
//
// yymmdd is a GS1 AI (17) date exactly as encoded: DD 00 means the last day
// of the month (so 280200 ends on 29 February 2028). The century follows
// the sliding window of the GS1 General Specifications (section 7.12)
// relative to the year of ref (Unix milliseconds, normally the event time):
// a YY 51 to 99 years ahead of ref's two-digit year falls in the previous
// century, one 50 to 99 years behind in the next, anything else in ref's
// century. The day is taken in UTC; the event's local time zone is not
// considered.
func ExpiryEnd(yymmdd string, ref int64) (int64, error) {
	if len(yymmdd) != 6 {
		return 0, errExpirySyntax
	}
	var n [3]int
	for i := range n {
		hi, lo := yymmdd[2*i], yymmdd[2*i+1]
		if hi < '0' || hi > '9' || lo < '0' || lo > '9' {
			return 0, errExpirySyntax
		}
		n[i] = int(hi-'0')*10 + int(lo-'0')
	}
	yy, mm, dd := n[0], n[1], n[2]
	if mm < 1 || mm > 12 {
		return 0, errExpiryDate
	}
	refYear := time.UnixMilli(ref).UTC().Year()
	century := refYear - refYear%100
	switch diff := yy - refYear%100; {
	case diff >= 51:
		century -= 100
	case diff <= -50:
		century += 100
	}
	year := century + yy
	// Day 0 of the next month is the last day of this one.
	last := time.Date(year, time.Month(mm)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if dd == 0 {
		dd = last
	}
	if dd > last {
		return 0, errExpiryDate
	}
	return time.Date(year, time.Month(mm), dd+1, 0, 0, 0, 0, time.UTC).UnixMilli(), nil
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
