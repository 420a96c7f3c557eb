package simulate

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pedigree-project/pedigree/gs1"
)

// Identifiers. Everything lives under GS1 prefix 952, reserved for
// demonstrations, followed by a five-digit namespace drawn from the seed and
// the run number (see namespace):
//
//	GLN    952 nnnnn r iii c       r: 1 manufacturer, 2 wholesaler, 3 pharmacy
//	GTIN   0 952 nnnnn pppp c      pppp: product number
//	SSCC   e 952 nnnnn ssssssss c  e: 0 case, 1 pallet, 2 tote
//
// The admin party that `pedigree serve` creates (9520000000004) has role
// digit 0, so it never collides with a simulated party.

// Role digits of simulated GLNs and extension digits of SSCCs.
const (
	roleDigitManufacturer = 1
	roleDigitWholesaler   = 2
	roleDigitPharmacy     = 3

	ssccCase   = 0
	ssccPallet = 1
	ssccTote   = 2
)

// namespace returns the five digits that make a run's identifiers unique:
// drawn from the seed and the run number, so that a second run of the same
// seed against the same server (run 1) gets other GLNs, GTINs and SSCCs.
func namespace(seed uint64, run int) string {
	r := rand.New(rand.NewPCG(seed, 0x5eed0000+uint64(run)))
	return fmt.Sprintf("%05d", r.IntN(100000))
}

// withCheck appends the GS1 mod-10 check digit to digits.
func withCheck(digits string) string { return digits + string(gs1.CheckDigit(digits)) }

func glnOf(ns string, roleDigit, i int) string {
	return withCheck(fmt.Sprintf("952%s%d%03d", ns, roleDigit, i))
}

func gtinOf(ns string, product int) string { return withCheck(fmt.Sprintf("0952%s%04d", ns, product)) }

func ssccOf(ns string, ext, n int) string { return withCheck(fmt.Sprintf("%d952%s%08d", ext, ns, n)) }

// serialAlphabet is GS1 set 82 digits and capitals without I, L, O, U
// (which people confuse) and X, which only counterfeit serials start with:
// a counterfeit serial therefore never equals a commissioned one.
const serialAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWYZ"

const serialLength = 12

func randomSerial(r *rand.Rand) string {
	var b [serialLength]byte
	for i := range b {
		b[i] = serialAlphabet[r.IntN(len(serialAlphabet))]
	}
	return string(b[:])
}

// counterfeitSerial returns a serial no simulated pack carries.
func counterfeitSerial(r *rand.Rand) string { return "X" + randomSerial(r)[1:] }

// yymmdd formats a day as GS1 AI (17) does.
func yymmdd(t time.Time) string { return t.Format("060102") }

// lastDayExpiry returns the expiry YYMMDD of the last day of month m of
// 20yy, and the same month with DD 00 (which GS1 reads as the same day, but
// which is a different string: an EXPIRY_MISMATCH in EU practice).
func lastDayExpiry(yy, m int) (exact, dd00 string) {
	last := time.Date(2000+yy, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC)
	return yymmdd(last), fmt.Sprintf("%02d%02d00", yy, m)
}

// clock is the simulated clock. Every scan takes the next tick, 1 to 20
// seconds after the previous one, so that no two scans share a time (the
// CBV event hash, and with it the event ID, includes the time); every phase
// of the market starts the next morning.
type clock struct {
	t   time.Time
	rng *rand.Rand
}

func (c *clock) tick() time.Time {
	c.t = c.t.Add(time.Duration(1+c.rng.IntN(20)) * time.Second)
	return c.t
}

// nextDay moves the clock to 06:00 the day after the current time.
func (c *clock) nextDay() {
	y, m, d := c.t.Date()
	c.t = time.Date(y, m, d+1, 6, 0, 0, 0, time.UTC)
}
