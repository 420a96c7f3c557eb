package lifecycle

import (
	"testing"
	"time"
)

// TestExpiryEndWindow checks every YYMM against a few reference years: the
// year lies in GS1's window (49 years back, 50 ahead), DD 00 ends with the
// month's last day, and a day past the month's end is refused.
func TestExpiryEndWindow(t *testing.T) {
	for _, refYear := range []int{1990, 2000, 2026, 2049, 2050, 2075, 2099} {
		ref := time.Date(refYear, 6, 15, 12, 0, 0, 0, time.UTC).UnixMilli()
		for yy := range 100 {
			for mm := 1; mm <= 12; mm++ {
				ym := string([]byte{byte('0' + yy/10), byte('0' + yy%10), byte('0' + mm/10), byte('0' + mm%10)})
				end, err := ExpiryEnd(ym+"00", ref)
				if err != nil {
					t.Fatalf("%s00 at %d: %v", ym, refYear, err)
				}
				last := time.UnixMilli(end - 1).UTC()
				if y := last.Year(); y < refYear-49 || y > refYear+50 || y%100 != yy {
					t.Errorf("%s00 at %d: year %d outside the window", ym, refYear, y)
				}
				dd := ym + string([]byte{byte('0' + last.Day()/10), byte('0' + last.Day()%10)})
				if e2, err := ExpiryEnd(dd, ref); err != nil || e2 != end {
					t.Errorf("%s at %d = %d, %v; want %d like %s00", dd, refYear, e2, err, end, ym)
				}
				if last.Day() < 31 {
					next := ym + string([]byte{byte('0' + (last.Day()+1)/10), byte('0' + (last.Day()+1)%10)})
					if _, err := ExpiryEnd(next, ref); err == nil {
						t.Errorf("%s at %d: no error for a day past the month", next, refYear)
					}
				}
			}
		}
	}
}

func TestEffectiveStatusPrecedence(t *testing.T) {
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	p := Pack{Status: StatusSupplied, Expiry: "281231"}
	for _, tc := range []struct {
		b    Batch
		want Status
	}{
		{Batch{Recalled: true, Withdrawn: true}, StatusRecalled},
		{Batch{Withdrawn: true}, StatusWithdrawn},
		{Batch{}, StatusExpired},                  // the pack's own expiry copy
		{Batch{Expiry: "301231"}, StatusSupplied}, // the batch's expiry wins
		{Batch{Expiry: "garbage"}, StatusSupplied},
	} {
		if got := EffectiveStatus(p, tc.b, at); got != tc.want {
			t.Errorf("EffectiveStatus(%+v) = %s, want %s", tc.b, got, tc.want)
		}
	}
}
