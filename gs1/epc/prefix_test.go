package epc_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pedigree-project/pedigree/gs1"
	"github.com/pedigree-project/pedigree/gs1/epc"
)

// TestPrefixes checks the longest match and the validation of registered
// prefixes.
func TestPrefixes(t *testing.T) {
	p, err := epc.NewPrefixes("4012", "40123456", "0614141")
	if err != nil {
		t.Fatal(err)
	}
	for digits, want := range map[string]int{"4012345678901": 8, "4012999999999": 4, "0614141123452": 7} {
		if n, err := p.CompanyPrefixLength(digits); err != nil || n != want {
			t.Errorf("CompanyPrefixLength(%s) = %d, %v; want %d", digits, n, err, want)
		}
	}
	if _, err := p.CompanyPrefixLength("5012345678901"); err == nil {
		t.Error("an unregistered prefix was found")
	}
	for _, bad := range []string{"123", "1234567890123", "12a4", ""} {
		if _, err := epc.NewPrefixes(bad); err == nil {
			t.Errorf("NewPrefixes(%q) accepted", bad)
		}
	}
	var zero epc.Prefixes
	if _, err := zero.CompanyPrefixLength("4012345678901"); err == nil {
		t.Error("the zero Prefixes knows a prefix")
	}
}

// TestTable checks the GCP length table: longest match, ranges without
// prefixes, and First trying the registered prefixes before it.
func TestTable(t *testing.T) {
	tab := fixtureTable(t)
	if tab.Len() != 41 || tab.Date() == "" {
		t.Errorf("fixture: %d entries, date %q", tab.Len(), tab.Date())
	}
	if n, err := tab.CompanyPrefixLength("0614141123452"); err != nil || n != 7 {
		t.Errorf("0614141… = %d, %v", n, err)
	}
	_, err := tab.CompanyPrefixLength("2012345678901")
	var ge *gs1.Error
	if !errors.As(err, &ge) || ge.Rule != gs1.RuleCompanyPrefix {
		t.Errorf("restricted range: %v", err)
	}
	reg, _ := epc.NewPrefixes("06141411")
	both := epc.First(reg, tab)
	if n, err := both.CompanyPrefixLength("0614141123452"); err != nil || n != 8 {
		t.Errorf("registered first: %d, %v", n, err)
	}
	if n, err := both.CompanyPrefixLength("0614141023452"); err != nil || n != 7 {
		t.Errorf("table second: %d, %v", n, err)
	}
	if _, err := both.CompanyPrefixLength("5555555555555"); err == nil || !strings.Contains(err.Error(), "no known GS1 company prefix") {
		t.Errorf("unknown everywhere: %v", err)
	}
	if _, err := epc.First().CompanyPrefixLength("1"); err == nil {
		t.Error("First() knew a prefix")
	}
}

// TestParseTableRefusals checks that malformed tables are refused with the
// entry named.
func TestParseTableRefusals(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{}`, "missing or empty"},
		{`not json`, "GCP length table"},
		{`{"GCPPrefixFormatList":{"entry":[{"prefix":"12a","gcpLength":7}]}}`, "entry 0: prefix"},
		{`{"GCPPrefixFormatList":{"entry":[{"prefix":"1234567890123","gcpLength":7}]}}`, "entry 0: prefix"},
		{`{"GCPPrefixFormatList":{"entry":[{"prefix":"123","gcpLength":3}]}}`, "gcpLength 3"},
		{`{"GCPPrefixFormatList":{"entry":[{"prefix":"123"}]}}`, "gcpLength is missing"},
		{`{"GCPPrefixFormatList":{"entry":[{"prefix":"123","gcpLength":7},{"prefix":"123","gcpLength":8}]}}`, "appears twice"},
	} {
		_, err := epc.ParseTable(strings.NewReader(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseTable(%s) = %v, want an error with %q", tc.doc, err, tc.want)
		}
	}
}
