package lifecycle

import (
	"strings"
	"testing"
)

func TestSerialFormat(t *testing.T) {
	for _, c := range []struct {
		f      SerialFormat
		length uint32
		ok     bool
	}{
		{SerialDefault, 0, true}, {SerialDefault, 12, false},
		{SerialNumeric, 13, true}, {SerialNumeric, 5, false}, {SerialNumeric, 21, false}, {SerialNumeric, 0, false},
		{SerialAlphanumeric, 6, true}, {SerialAlphanumeric, 20, true}, {SerialFormat(7), 10, false},
	} {
		if err := CheckSerialFormat(c.f, c.length); (err == nil) != c.ok {
			t.Errorf("CheckSerialFormat(%d, %d) = %v, want ok %v", c.f, c.length, err, c.ok)
		}
	}
}

func TestGuessOdds(t *testing.T) {
	// 6 digits: 10^6 serials, so 100 give exactly 1/10,000: refused; 99 pass.
	if got := MaxSerialsFor(SerialNumeric, 6); got != 99 {
		t.Errorf("MaxSerialsFor(numeric 6) = %d, want 99", got)
	}
	if err := CheckGuessOdds(SerialNumeric, 6, 99); err != nil {
		t.Errorf("99 of 10^6: %v", err)
	}
	err := CheckGuessOdds(SerialNumeric, 6, 100)
	if err == nil || !strings.Contains(err.Error(), "0.0001") || !strings.Contains(err.Error(), "at most 99") {
		t.Errorf("100 of 10^6: %v, want a refusal giving 0.0001 and at most 99", err)
	}
	if got := MaxSerialsFor(SerialNumeric, 13); got != 999_999_999 {
		t.Errorf("MaxSerialsFor(numeric 13) = %d", got)
	}
	if err := CheckGuessOdds(SerialDefault, 0, 1_000_000_000); err != nil {
		t.Errorf("default format, 10^9 serials: %v", err)
	}
	if err := CheckGuessOdds(SerialAlphanumeric, 6, 200_000); err == nil {
		t.Error("alphanumeric 6 (32^6 ≈ 1.07e9), 2·10^5 serials: accepted")
	}
}

func TestMatchesSerialFormat(t *testing.T) {
	for _, c := range []struct {
		f      SerialFormat
		length uint32
		s      string
		want   bool
	}{
		{SerialNumeric, 13, "1234567890123", true}, {SerialNumeric, 13, "123456789012", false},
		{SerialNumeric, 6, "12345A", false}, {SerialAlphanumeric, 6, "12AB9Z", true},
		{SerialAlphanumeric, 6, "12ab9z", false}, {SerialAlphanumeric, 6, "12-B9Z", false},
		{SerialDefault, 0, "any-thing", true},
	} {
		if got := MatchesSerialFormat(c.f, c.length, c.s); got != c.want {
			t.Errorf("MatchesSerialFormat(%d, %d, %q) = %v", c.f, c.length, c.s, got)
		}
	}
}

func TestMayListSerials(t *testing.T) {
	const mfr = "4000001000005"
	for _, c := range []struct {
		a  Party
		ok bool
	}{
		{Party{GLN: mfr, Role: RoleManufacturer}, true},
		{Party{GLN: "4000002000004", Role: RoleManufacturer}, false},
		{Party{GLN: "4000003000003", Role: RolePharmacy}, false},
		{Party{GLN: "4000004000002", Role: RoleRegulator}, true},
		{Party{GLN: "4000005000001", Role: RoleAdmin}, true},
	} {
		if r := MayListSerials(c.a, mfr); r.Refused() == c.ok {
			t.Errorf("MayListSerials(%+v) refused %v, want ok %v", c.a, r.Refused(), c.ok)
		}
	}
}
