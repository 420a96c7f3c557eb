package epcis

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// trim removes leading and trailing white space: Unicode white space and
// the ASCII separators U+001C–U+001F, as Python's str.strip (used by the
// reference implementation) does.
func trim(s string) string {
	if s == "" || (s[0] > ' ' && s[0] < 0x80 && s[len(s)-1] > ' ' && s[len(s)-1] < 0x80) {
		return s
	}
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
	})
}

// canonValue puts a value into its pre-hash form: CBV URNs become CBV Web
// URIs, a number gets its plain decimal form, and an EPC URN, EPC class or
// pattern URN, or GS1 Digital Link URI becomes a constrained canonical
// Digital Link URI. Anything else is returned unchanged.
func canonValue(s string) string {
	if strings.Contains(s, "urn:epcglobal:cbv:") {
		s = webVocabulary(s)
	}
	if n, ok := hashNumber(s); ok {
		return n
	}
	if dl, ok := canonDigitalLink(s); ok {
		return dl
	}
	return s
}

// webVocabulary replaces the URN forms of CBV vocabulary values
// (urn:epcglobal:cbv:bizstep:shipping) by their Web URIs
// (https://ref.gs1.org/cbv/BizStep-shipping).
func webVocabulary(s string) string {
	s = strings.ReplaceAll(s, "urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-")
	s = strings.ReplaceAll(s, "urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-")
	s = strings.ReplaceAll(s, "urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-")
	s = strings.ReplaceAll(s, "urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-")
	return strings.ReplaceAll(s, "urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-")
}

// hashNumber gives a number its pre-hash form, the one of the reference
// implementation (epcis-event-hash-generator), which reads every value
// that parses as a number as an IEEE 754 double: an integral value is
// written in full ("1.50e2" → "150"; digits beyond the double's precision
// are those of the nearest double, so "111100001111000011110000" →
// "111100001111000003641344"), any other in the shortest form that reads
// back as the same double, with an exponent when the decimal point is
// more than 16 places right or 4 places left of the first digit
// ("0.00001" → "1e-05"). Event IDs then agree with those other
// repositories compute. Two events of one party whose values differ only
// beyond a double's precision share an ID; the ledger refuses the second
// as reusing the ID for other content (its content digest differs), so
// neither is lost. A number too large for a double keeps its exact
// decimal form.
func hashNumber(s string) (string, bool) {
	exact, ok := canonDecimal(s)
	if !ok {
		return "", false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil || math.IsInf(f, 0) {
		return exact, true
	}
	if f == math.Trunc(f) {
		if f == 0 {
			return "0", true
		}
		return strconv.FormatFloat(f, 'f', 0, 64), true
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	x, err := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if err != nil || x < -4 || x >= 16 {
		return e, true
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

// maxDecimalDigits bounds the length of the plain form of a number, so that
// "1e999999" is treated as text rather than expanded.
const maxDecimalDigits = 400

// canonDecimal parses s as a decimal number (optional sign, digits with an
// optional point, optional exponent; '_' may group digits) and returns it
// without sign '+', exponent, leading zeros or trailing fractional zeros:
// "+1.50" → "1.5", "2030.0" → "2030", "1e3" → "1000", "-0" → "0".
func canonDecimal(s string) (string, bool) {
	i, n := 0, len(s)
	neg := false
	if i < n && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var digits []byte
	point := -1
	seen := false
	for ; i < n; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
			seen = true
			continue
		case c == '.' && point < 0:
			point = len(digits)
			continue
		case c == '_' && i > 0 && isDigit(s[i-1]) && i+1 < n && isDigit(s[i+1]):
			continue
		}
		break
	}
	if !seen {
		return "", false
	}
	if point < 0 {
		point = len(digits)
	}
	exp := 0
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < n && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		start := i
		for ; i < n && (isDigit(s[i]) || (s[i] == '_' && i > start && i+1 < n && isDigit(s[i+1]))); i++ {
			if s[i] == '_' {
				continue
			}
			if exp > maxDecimalDigits*10 {
				return "", false
			}
			exp = exp*10 + int(s[i]-'0')
		}
		if i == start {
			return "", false
		}
		if eneg {
			exp = -exp
		}
	}
	if i != n {
		return "", false
	}
	// value = 0.digits × 10^intLen
	intLen := point + exp
	for len(digits) > 0 && digits[0] == '0' {
		digits = digits[1:]
		intLen--
	}
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 {
		return "0", true
	}
	if intLen > maxDecimalDigits || -intLen > maxDecimalDigits {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(digits) + 4)
	if neg {
		b.WriteByte('-')
	}
	switch {
	case intLen >= len(digits):
		b.Write(digits)
		for j := len(digits); j < intLen; j++ {
			b.WriteByte('0')
		}
	case intLen <= 0:
		b.WriteString("0.")
		for j := intLen; j < 0; j++ {
			b.WriteByte('0')
		}
		b.Write(digits)
	default:
		b.Write(digits[:intLen])
		b.WriteByte('.')
		b.Write(digits[intLen:])
	}
	return b.String(), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digitsAt parses the n ASCII digits of s starting at i.
func digitsAt(s string, i, n int) (int, bool) {
	if i < 0 || i+n > len(s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s[i : i+n]) {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// canonTime parses an RFC 3339 timestamp (fractional seconds of any length,
// offset required) and returns it in UTC at millisecond precision,
// "2006-01-02T15:04:05.000Z". A 4th fractional digit of 5–9 rounds the
// milliseconds up. field names the member in the error.
func canonTime(s, field string) (string, error) {
	t, err := checkTime(s, field)
	if err != nil {
		return "", err
	}
	return string(appendCanonTime(make([]byte, 0, len("2006-01-02T15:04:05.000Z")), t)), nil
}

// checkTime is canonTime's parse: the instant, in UTC at millisecond
// precision, or the error canonTime gives. Decoders check a timestamp
// with it without formatting it.
func checkTime(s, field string) (time.Time, error) {
	s = trim(s)
	bad := fieldErr(field, "not RFC 3339")
	year, ok1 := digitsAt(s, 0, 4)
	month, ok2 := digitsAt(s, 5, 2)
	day, ok3 := digitsAt(s, 8, 2)
	hour, ok4 := digitsAt(s, 11, 2)
	minute, ok5 := digitsAt(s, 14, 2)
	sec, ok6 := digitsAt(s, 17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || s[4] != '-' || s[7] != '-' ||
		(s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, bad
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, bad
	}
	i, ms := 19, 0
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for ; i < len(s) && isDigit(s[i]); i++ {
			switch d := int(s[i] - '0'); i - start {
			case 0:
				ms += d * 100
			case 1:
				ms += d * 10
			case 2:
				ms += d
			case 3:
				if d >= 5 {
					ms++
				}
			}
		}
		if i == start {
			return time.Time{}, bad
		}
	}
	var offset time.Duration
	switch {
	case i == len(s)-1 && (s[i] == 'Z' || s[i] == 'z'):
	case i == len(s)-6 && (s[i] == '+' || s[i] == '-') && s[i+3] == ':':
		oh, ok1 := digitsAt(s, i+1, 2)
		om, ok2 := digitsAt(s, i+4, 2)
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, bad
		}
		offset = time.Duration(oh)*time.Hour + time.Duration(om)*time.Minute
		if s[i] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, bad
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	t = t.Add(-offset + time.Duration(ms)*time.Millisecond)
	if t.Year() < 0 || t.Year() > 9999 {
		return time.Time{}, fieldErr(field, "out of range")
	}
	return t, nil
}

// appendCanonTime appends t, in UTC with a year of 0–9999, as
// t.Format("2006-01-02T15:04:05.000Z") does, digit by digit.
func appendCanonTime(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = appendDigits(append(b, '-'), int(month), 2)
	b = appendDigits(append(b, '-'), day, 2)
	b = appendDigits(append(b, 'T'), hour, 2)
	b = appendDigits(append(b, ':'), minute, 2)
	b = appendDigits(append(b, ':'), sec, 2)
	b = appendDigits(append(b, '.'), t.Nanosecond()/int(time.Millisecond), 3)
	return append(b, 'Z')
}

// appendDigits appends the n last decimal digits of v ≥ 0, zero-padded.
func appendDigits(b []byte, v, n int) []byte {
	b = append(b, make([]byte, n)...)
	for i := len(b) - 1; i >= len(b)-n; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
