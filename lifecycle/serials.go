package lifecycle

import (
	"fmt"
	"math"
)

// SerialFormat is the format of a product's serial numbers
// (pedigree.v1.SerialFormat).
type SerialFormat int32

// Serial formats.
const (
	// SerialDefault: 12 characters from SerialAlphabet (60 random bits).
	SerialDefault SerialFormat = 0
	// SerialNumeric: digits only, of a fixed length.
	SerialNumeric SerialFormat = 1
	// SerialAlphanumeric: a fixed length; generated from SerialAlphabet,
	// explicit ones digits and capitals A–Z.
	SerialAlphanumeric SerialFormat = 2
)

// Serial format limits and the guessing bound.
const (
	// SerialAlphabet is the 32 characters of GS1 set 82 generated serials
	// use: digits and capitals without I, L, O, U, which scanners and
	// people confuse.
	SerialAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	// DefaultSerialLength is the length of default-format serials.
	DefaultSerialLength = 12
	// MinSerialLength and MaxSerialLength bound a fixed serial length.
	MinSerialLength = 6
	// MaxSerialLength is AI (21)'s maximum.
	MaxSerialLength = 20
	// MaxGuessOdds is the highest probability of guessing a serial that a
	// batch may reach (EU Delegated Regulation 2016/161 art. 4: "negligible
	// and in any case lower than one in ten thousand").
	MaxGuessOdds = 1e-4
)

// CheckSerialFormat checks a product's serial format and length: a fixed
// length of 6–20 for numeric and alphanumeric, no length for the default.
func CheckSerialFormat(f SerialFormat, length uint32) error {
	switch f {
	case SerialDefault:
		if length != 0 {
			return fmt.Errorf("only with a numeric or alphanumeric format (the default is %d characters), got %d", DefaultSerialLength, length)
		}
	case SerialNumeric, SerialAlphanumeric:
		if length < MinSerialLength || length > MaxSerialLength {
			return fmt.Errorf("%d–%d for a fixed-length format, got %d", MinSerialLength, MaxSerialLength, length)
		}
	default:
		return fmt.Errorf("unknown serial format %d", f)
	}
	return nil
}

// SerialSpace returns the number of serials format f with length can
// generate (as a float: 32^20 does not fit a uint64).
func SerialSpace(f SerialFormat, length uint32) float64 {
	switch f {
	case SerialNumeric:
		return math.Pow(10, float64(length))
	case SerialAlphanumeric:
		return math.Pow(float64(len(SerialAlphabet)), float64(length))
	default:
		return math.Pow(float64(len(SerialAlphabet)), DefaultSerialLength)
	}
}

// CheckGuessOdds refuses a batch of total serials in format f with length
// when the probability of guessing one of them, total / SerialSpace, is
// MaxGuessOdds or more; the error gives the figure.
func CheckGuessOdds(f SerialFormat, length uint32, total uint64) error {
	space := SerialSpace(f, length)
	if odds := float64(total) / space; odds >= MaxGuessOdds {
		return fmt.Errorf("%d serials in a space of %.4g give a guess probability of %.3g, not below 1 in 10,000: at most %d serials in a batch with this format",
			total, space, odds, MaxSerialsFor(f, length))
	}
	return nil
}

// MaxSerialsFor returns the largest batch format f with length allows by
// CheckGuessOdds (capped at math.MaxUint64).
func MaxSerialsFor(f SerialFormat, length uint32) uint64 {
	m := math.Ceil(SerialSpace(f, length)*MaxGuessOdds) - 1
	if m >= math.MaxUint64 {
		return math.MaxUint64
	}
	return uint64(m)
}

// MatchesSerialFormat reports whether serial s, already a valid AI (21)
// value, has format f with length: any for the default, exactly length
// digits for numeric, exactly length digits and capitals for alphanumeric.
func MatchesSerialFormat(f SerialFormat, length uint32, s string) bool {
	switch f {
	case SerialDefault:
		return true
	case SerialNumeric, SerialAlphanumeric:
		if uint32(len(s)) != length {
			return false
		}
		for i := range len(s) {
			c := s[i]
			if (c < '0' || c > '9') && (f == SerialNumeric || c < 'A' || c > 'Z') {
				return false
			}
		}
		return true
	}
	return false
}

// SerialFormatWords describes format f with length for messages, e.g.
// "13 digits".
func SerialFormatWords(f SerialFormat, length uint32) string {
	switch f {
	case SerialNumeric:
		return fmt.Sprintf("%d digits", length)
	case SerialAlphanumeric:
		return fmt.Sprintf("%d digits or capitals", length)
	}
	return "1–20 characters of GS1 character set 82"
}
