package gs1

import "time"

// CheckDigit returns the GS1 mod-10 check digit ('0'..'9') for digits, the
// key without its check digit (e.g. the first 13 digits of a GTIN-14). It
// returns 0 if digits is empty or holds a non-digit.
func CheckDigit(digits string) byte {
	if digits == "" || !allDigits(digits) {
		return 0
	}
	return checkDigitSum(digits)
}

// validKey reports whether s is n digits with a correct check digit.
func validKey(s string, n int) bool {
	return len(s) == n && allDigits(s) && checkDigitSum(s[:n-1]) == s[n-1]
}

// ValidGTIN reports whether s is a GTIN-8, -12, -13 or -14 with a correct
// check digit.
func ValidGTIN(s string) bool {
	switch len(s) {
	case 8, 12, 13, 14:
		return validKey(s, len(s))
	}
	return false
}

// ValidSSCC reports whether s is an 18-digit SSCC with a correct check digit.
func ValidSSCC(s string) bool { return validKey(s, 18) }

// ValidGLN reports whether s is a 13-digit GLN with a correct check digit.
func ValidGLN(s string) bool { return validKey(s, 13) }

// ValidCSet82 reports whether every byte of s is in GS1 AI encodable
// character set 82.
func ValidCSet82(s string) bool {
	code, _, _ := lintCset82(s)
	return code == ""
}

// ValidSerial reports whether s is a valid serial number for AI (21):
// 1 to 20 characters of GS1 character set 82.
func ValidSerial(s string) bool { return len(s) >= 1 && len(s) <= 20 && ValidCSet82(s) }

// ValidLot reports whether s is a valid batch or lot number for AI (10):
// 1 to 20 characters of GS1 character set 82.
func ValidLot(s string) bool { return ValidSerial(s) }

// ExpiryDate interprets a YYMMDD date as encoded in AI (17) (or (11), (13),
// (15), (16)): DD "00" means the last day of the month, and the century is
// chosen by GS1's sliding window relative to ref (General Specifications
// 7.12): a year 51 to 99 years ahead of ref's falls in the previous century,
// one 50 to 99 years behind in the next. The result is midnight UTC starting
// the (last) valid day.
func ExpiryDate(yymmdd string, ref time.Time) (time.Time, error) {
	if code, pos, n := lintDate(yymmdd, 2, true); code != "" {
		return time.Time{}, lintError("17", yymmdd, code, 0, pos, n)
	}
	yy, mm, dd := atoi(yymmdd[:2]), atoi(yymmdd[2:4]), atoi(yymmdd[4:])
	refYear := ref.UTC().Year()
	century := refYear - refYear%100
	switch diff := yy - refYear%100; {
	case diff >= 51:
		century -= 100
	case diff <= -50:
		century += 100
	}
	year := century + yy
	if dd == 0 {
		// Day 0 of the next month is the last day of this one.
		return time.Date(year, time.Month(mm)+1, 0, 0, 0, 0, 0, time.UTC), nil
	}
	if dd > daysIn(mm, year, false) {
		return time.Time{}, newError("17", RuleDate, "(17) expiry date %s: day %02d does not exist in %d-%02d", sq(yymmdd), dd, year, mm)
	}
	return time.Date(year, time.Month(mm), dd, 0, 0, 0, 0, time.UTC), nil
}

// Expired reports whether the expiry date yymmdd (as encoded, DD may be 00)
// has passed at t: true once t is at or after the end of the expiry day, in
// UTC. The century is chosen relative to t.
func Expired(yymmdd string, t time.Time) (bool, error) {
	day, err := ExpiryDate(yymmdd, t)
	if err != nil {
		return false, err
	}
	return !t.Before(day.AddDate(0, 0, 1)), nil
}
