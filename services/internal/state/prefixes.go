package state

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// The GS1 Company Prefixes of parties (table 0x21). A prefix is never
// changed or withdrawn, so, like a party key, its records need no cache
// invalidation. Each prefix a party holds is recorded under its own digits
// ('=') and under each shorter run of its leading digits of 4 or more
// ('<'), so that whether a prefix equals, starts or extends a held one is
// answered by at most nine point reads, never by a scan.

// MinPrefixDigits and MaxPrefixDigits bound a GS1 Company Prefix.
const (
	MinPrefixDigits = 4
	MaxPrefixDigits = 12
)

// PrefixRecord is what table 0x21 holds under a run of digits.
type PrefixRecord struct {
	Party  string // GLN of the party that holds Prefix
	Prefix string // the digits themselves when Exact, else a held prefix that starts with them
	Exact  bool   // the digits are a prefix the party holds
}

func gcpKey(digits string) []byte { return append([]byte{prefixGCP}, digits...) }

// PutCompanyPrefix records into b that party gln holds prefix (4–12
// digits, checked by the caller, as is that it overlaps no held prefix).
func PutCompanyPrefix(b *pebble.Batch, prefix, gln string) error {
	if len(prefix) < MinPrefixDigits || len(prefix) > MaxPrefixDigits || len(gln) != 13 {
		return fmt.Errorf("state: company prefix %q of %q: want 4–12 digits and a GLN", prefix, gln)
	}
	for n := MinPrefixDigits; n < len(prefix); n++ {
		if err := b.Set(gcpKey(prefix[:n]), append([]byte(gln+"<"), prefix...), nil); err != nil {
			return err
		}
	}
	return b.Set(gcpKey(prefix), []byte(gln+"="), nil)
}

// CompanyPrefix returns the record under digits; ErrNotFound when no held
// prefix equals or starts with them.
func (s *Store) CompanyPrefix(digits string) (PrefixRecord, error) {
	if len(digits) < MinPrefixDigits || len(digits) > MaxPrefixDigits {
		return PrefixRecord{}, fmt.Errorf("company prefix %q: %w", digits, ErrNotFound)
	}
	v, ok, err := get(s.db, gcpKey(digits))
	if err != nil {
		return PrefixRecord{}, err
	}
	if !ok || len(v) < 14 {
		return PrefixRecord{}, fmt.Errorf("company prefix %q: %w", digits, ErrNotFound)
	}
	r := PrefixRecord{Party: string(v[:13]), Exact: v[13] == '='}
	r.Prefix = string(v[14:])
	if r.Exact {
		r.Prefix = digits
	}
	return r, nil
}

// CompanyPrefixLength returns the length of the held prefix that digits
// (a key's digits from where its company prefix begins) starts with, and
// the party that holds it; ErrNotFound when none.
func (s *Store) CompanyPrefixLength(digits string) (n int, gln string, err error) {
	for n := min(len(digits), MaxPrefixDigits); n >= MinPrefixDigits; n-- {
		r, err := s.CompanyPrefix(digits[:n])
		switch {
		case err == nil && r.Exact:
			return n, r.Party, nil
		case err != nil && !errors.Is(err, ErrNotFound):
			return 0, "", err
		}
	}
	return 0, "", fmt.Errorf("company prefix of %q: %w", digits, ErrNotFound)
}
