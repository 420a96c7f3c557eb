package epc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pedigree-project/pedigree/gs1"
)

// PrefixLengths answers where the GS1 Company Prefix of a key ends, which a
// GTIN, SSCC or GLN does not record and an EPC URN must show.
type PrefixLengths interface {
	// CompanyPrefixLength returns the length of the GS1 Company Prefix
	// at the start of digits: a key's characters from where its prefix
	// begins (a GTIN or ITIP without its indicator digit, an SSCC
	// without its extension digit, a GRAI without its leading zero, the
	// other keys whole). An unknown prefix is an error.
	CompanyPrefixLength(digits string) (int, error)
}

// PrefixLengthFunc is a function that is a PrefixLengths.
type PrefixLengthFunc func(digits string) (int, error)

// CompanyPrefixLength calls f.
func (f PrefixLengthFunc) CompanyPrefixLength(digits string) (int, error) { return f(digits) }

// FixedLength is a PrefixLengths that answers the same length for every
// key, for callers that know it.
type FixedLength int

// CompanyPrefixLength returns n.
func (n FixedLength) CompanyPrefixLength(string) (int, error) { return int(n), nil }

// First tries each PrefixLengths in order and returns the first answer;
// when none knows the prefix, the errors of all.
func First(lookups ...PrefixLengths) PrefixLengths {
	return PrefixLengthFunc(func(digits string) (int, error) {
		var errs []error
		for _, l := range lookups {
			n, err := l.CompanyPrefixLength(digits)
			if err == nil {
				return n, nil
			}
			errs = append(errs, err)
		}
		if len(errs) == 0 {
			return 0, unknownPrefix(digits)
		}
		return 0, errors.Join(errs...)
	})
}

// Company prefix lengths of the GS1 General Specifications: 4 to 12
// digits. An EPC URN needs 6 to 12.
const (
	MinPrefixLength = 4
	MaxPrefixLength = 12
)

func unknownPrefix(digits string) *gs1.Error {
	return errorf("company_prefix", gs1.RuleCompanyPrefix, "no known GS1 company prefix starts %s", quote(digits))
}

// ValidPrefix checks that p is a GS1 Company Prefix: 4 to 12 digits.
func ValidPrefix(p string) error {
	if len(p) < MinPrefixLength || len(p) > MaxPrefixLength || strings.Trim(p, "0123456789") != "" {
		return errorf("company_prefix", gs1.RuleCompanyPrefix,
			"company prefix %s must be %d to %d digits", quote(p), MinPrefixLength, MaxPrefixLength)
	}
	return nil
}

// Prefixes is a set of GS1 Company Prefixes, such as those registered to
// the parties of a network; the longest one a key starts with gives its
// length. The zero Prefixes knows none.
type Prefixes struct {
	set map[string]struct{}
}

// NewPrefixes checks every prefix (see ValidPrefix) and returns the set.
func NewPrefixes(prefixes ...string) (Prefixes, error) {
	set := make(map[string]struct{}, len(prefixes))
	for _, p := range prefixes {
		if err := ValidPrefix(p); err != nil {
			return Prefixes{}, err
		}
		set[p] = struct{}{}
	}
	return Prefixes{set: set}, nil
}

// CompanyPrefixLength returns the length of the longest prefix in the set
// that digits starts with.
func (p Prefixes) CompanyPrefixLength(digits string) (int, error) {
	for n := min(len(digits), MaxPrefixLength); n >= MinPrefixLength; n-- {
		if _, ok := p.set[digits[:n]]; ok {
			return n, nil
		}
	}
	return 0, unknownPrefix(digits)
}

// Table is GS1's table of company prefix lengths (the "GCP length table",
// gcpprefixformatlist): for each range of keys, by leading digits, the
// length of the company prefixes GS1 issued there. A length 0 marks
// numbers that are no company prefix (restricted circulation, coupons…).
type Table struct {
	lengths map[string]int8
	date    string
}

// MaxTableSize bounds the table file ParseTable reads; GS1's is about
// 2 MB.
const MaxTableSize = 64 << 20

// ParseTable reads a GCP length table in GS1's JSON format:
//
//	{"GCPPrefixFormatList": {"date": "…", "entry": [{"prefix": "0614141", "gcpLength": 7}, …]}}
//
// Prefixes are 1 to 12 digits and appear once; lengths are 0 or 4 to 12.
func ParseTable(r io.Reader) (*Table, error) {
	var doc struct {
		List struct {
			Date  string `json:"date"`
			Entry []struct {
				Prefix    string `json:"prefix"`
				GCPLength *int   `json:"gcpLength"`
			} `json:"entry"`
		} `json:"GCPPrefixFormatList"`
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxTableSize+1))
	if err != nil {
		return nil, fmt.Errorf("epc: reading the GCP length table: %w", err)
	}
	if len(data) > MaxTableSize {
		return nil, fmt.Errorf("epc: GCP length table: larger than %d bytes", MaxTableSize)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("epc: GCP length table: %w", err)
	}
	if len(doc.List.Entry) == 0 {
		return nil, errors.New("epc: GCP length table: GCPPrefixFormatList.entry is missing or empty")
	}
	t := &Table{lengths: make(map[string]int8, len(doc.List.Entry)), date: doc.List.Date}
	for i, e := range doc.List.Entry {
		switch {
		case len(e.Prefix) < 1 || len(e.Prefix) > MaxPrefixLength || strings.Trim(e.Prefix, "0123456789") != "":
			return nil, fmt.Errorf("epc: GCP length table: entry %d: prefix %s must be 1 to %d digits", i, quote(e.Prefix), MaxPrefixLength)
		case e.GCPLength == nil:
			return nil, fmt.Errorf("epc: GCP length table: entry %d (prefix %s): gcpLength is missing", i, e.Prefix)
		case *e.GCPLength != 0 && (*e.GCPLength < MinPrefixLength || *e.GCPLength > MaxPrefixLength):
			return nil, fmt.Errorf("epc: GCP length table: entry %d (prefix %s): gcpLength %d must be 0 or %d to %d", i, e.Prefix, *e.GCPLength, MinPrefixLength, MaxPrefixLength)
		}
		if _, dup := t.lengths[e.Prefix]; dup {
			return nil, fmt.Errorf("epc: GCP length table: entry %d: prefix %s appears twice", i, e.Prefix)
		}
		t.lengths[e.Prefix] = int8(*e.GCPLength)
	}
	return t, nil
}

// Date returns the table's date as the file gives it.
func (t *Table) Date() string { return t.date }

// Len returns the number of entries.
func (t *Table) Len() int { return len(t.lengths) }

// CompanyPrefixLength returns the length the longest matching entry gives;
// numbers whose entry says 0 have no company prefix.
func (t *Table) CompanyPrefixLength(digits string) (int, error) {
	for n := min(len(digits), MaxPrefixLength); n >= 1; n-- {
		if l, ok := t.lengths[digits[:n]]; ok {
			if l == 0 || int(l) > len(digits) {
				return 0, errorf("company_prefix", gs1.RuleCompanyPrefix, "%s is in a range of GS1 numbers without company prefixes", quote(digits))
			}
			return int(l), nil
		}
	}
	return 0, unknownPrefix(digits)
}
