package epc_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pedigree-project/pedigree/gs1"
	"github.com/pedigree-project/pedigree/gs1/epc"
)

// TestRoundTrip converts URNs to Digital Link and back with the length
// the URN shows.
func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct{ urn, dl string }{
		{"urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()", "https://id.gs1.org/01/80614141123458/21/6789%2F%26%25%22%21%3F%28%29"},
		{"urn:epc:id:sgtin:4000001.012345.A%2FB", "https://id.gs1.org/01/04000001123452/21/A%2FB"},
		{"urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908"},
		{"urn:epc:id:sgln:0614141.12345.400", "https://id.gs1.org/414/0614141123452/254/400"},
		{"urn:epc:id:grai:0614141.12345.400", "https://id.gs1.org/8003/00614141123452400"},
		{"urn:epc:id:giai:0614141.12345400", "https://id.gs1.org/8004/061414112345400"},
		{"urn:epc:id:gsrn:0614141.1234567890", "https://id.gs1.org/8018/061414112345678902"},
		{"urn:epc:id:gdti:0614141.12345.006847", "https://id.gs1.org/253/0614141123452006847"},
		{"urn:epc:id:cpi:0614141.123ABC.123456789", "https://id.gs1.org/8010/0614141123ABC/8011/123456789"},
		{"urn:epc:id:cpi:0614141.5PQ7%2FZ43.12345", "https://id.gs1.org/8010/06141415PQ7%2FZ43/8011/12345"},
		{"urn:epc:id:sgcn:4012345.67890.04711", "https://id.gs1.org/255/401234567890104711"},
		{"urn:epc:id:ginc:0614141.xyz47%2F11", "https://id.gs1.org/401/0614141xyz47%2F11"},
		{"urn:epc:id:gsin:0614141.123456789", "https://id.gs1.org/402/06141411234567890"},
		{"urn:epc:id:itip:4012345.012345.01.02.987", "https://id.gs1.org/8006/040123451234560102/21/987"},
		{"urn:epc:id:upui:1234567.089456.51qIgY)%3C%26Jp3*j7'SDB", "https://id.gs1.org/01/01234567894560/235/51qIgY%29%3C%26Jp3%2Aj7%27SDB"},
		{"urn:epc:id:pgln:1234567.89012", "https://id.gs1.org/417/1234567890128"},
		{"urn:epc:class:lgtin:4012345.012345.998877", "https://id.gs1.org/01/04012345123456/10/998877"},
		{"urn:epc:idpat:sgtin:4012345.012345.*", "https://id.gs1.org/01/04012345123456"},
		{"urn:epc:idpat:itip:4012345.012345.01.02.*", "https://id.gs1.org/8006/040123451234560102"},
	} {
		e, err := epc.ParseURN(tc.urn)
		if err != nil {
			t.Errorf("ParseURN(%q): %v", tc.urn, err)
			continue
		}
		dl, err := e.DigitalLink("")
		if err != nil || dl != tc.dl {
			t.Errorf("%s: DigitalLink = %q, %v; want %q", tc.urn, dl, err, tc.dl)
			continue
		}
		back, err := epc.FromDigitalLink(dl, epc.FixedLength(len(e.CompanyPrefix)))
		if err != nil || back.URN() != tc.urn {
			t.Errorf("%s: back from %s = %q, %v", tc.urn, dl, back.URN(), err)
		}
	}
}

// TestParseURNFields checks the typed view of a URN.
func TestParseURNFields(t *testing.T) {
	e, err := epc.ParseURN("urn:epc:id:sgtin:0614141.812345.A%2F1")
	if err != nil {
		t.Fatal(err)
	}
	want := []gs1.Element{{AI: "01", Value: "80614141123458"}, {AI: "21", Value: "A/1"}}
	if e.Kind != epc.KindID || e.Scheme != epc.SGTIN || e.CompanyPrefix != "0614141" || len(e.Elements) != 2 ||
		e.Elements[0] != want[0] || e.Elements[1] != want[1] || e.String() != "urn:epc:id:sgtin:0614141.812345.A%2F1" {
		t.Errorf("ParseURN = %+v", e)
	}
	if s := (epc.KindPattern).String(); s != "idpat" {
		t.Errorf("KindPattern = %q", s)
	}
}

// TestRefusals checks that refusals are *gs1.Error with a field and a
// rule.
func TestRefusals(t *testing.T) {
	pl := epc.FixedLength(7)
	for _, tc := range []struct {
		name  string
		f     func() error
		field string
		rule  gs1.Rule
	}{
		{"raw slash", func() error { _, err := epc.ParseURN("urn:epc:id:sgtin:0614141.812345.A/1"); return err }, "epc", gs1.RuleSyntax},
		{"not epc", func() error { _, err := epc.ParseURN("urn:isbn:123"); return err }, "epc", gs1.RuleSyntax},
		{"unknown scheme", func() error { _, err := epc.ParseURN("urn:epc:id:gid:1.2.3"); return err }, "epc", gs1.RuleUnsupported},
		{"sscc pattern", func() error { _, err := epc.ParseURN("urn:epc:idpat:sscc:0614141.*"); return err }, "epc", gs1.RuleUnsupported},
		{"gdti without serial", func() error { _, err := epc.ParseURN("urn:epc:id:gdti:0614141.12345."); return err }, "epc", gs1.RuleSyntax},
		{"too long", func() error {
			_, err := epc.ParseURN("urn:epc:id:giai:0614141." + strings.Repeat("9", 600))
			return err
		}, "epc", gs1.RuleLimit},
		{"class as instance", func() error {
			_, err := epc.DigitalLinkToURN("https://id.gs1.org/01/04012345123456", pl)
			return err
		}, "gtin", gs1.RuleUnsupported},
		{"sscc has no class", func() error {
			_, err := epc.DigitalLinkToClassURN("https://id.gs1.org/00/106141412345678908", pl)
			return err
		}, "sscc", gs1.RuleUnsupported},
		{"short prefix", func() error {
			_, err := epc.DigitalLinkToURN("https://id.gs1.org/00/106141412345678908", epc.FixedLength(5))
			return err
		}, "company_prefix_length", gs1.RuleCompanyPrefix},
		{"check digit", func() error {
			_, err := epc.DigitalLinkToURN("https://id.gs1.org/00/106141412345678909", pl)
			return err
		}, "sscc", gs1.RuleCheckDigit},
		{"grai not zero", func() error {
			_, err := epc.DigitalLinkToURN("https://id.gs1.org/8003/10614141123452400", pl)
			return err
		}, "ai_8003", gs1.RuleContent},
		{"unknown prefix", func() error {
			p, _ := epc.NewPrefixes("4012345")
			_, err := epc.DigitalLinkToURN("https://id.gs1.org/00/106141412345678908", p)
			return err
		}, "company_prefix", gs1.RuleCompanyPrefix},
		{"no epc key", func() error {
			_, err := epc.DigitalLinkToURN("https://id.gs1.org/8013/1987654Ad4X4bL5ttr2310c2K", pl)
			return err
		}, "ai_8013", gs1.RuleUnsupported},
	} {
		err := tc.f()
		var ge *gs1.Error
		if !errors.As(err, &ge) {
			t.Errorf("%s: error %v is no *gs1.Error", tc.name, err)
			continue
		}
		if ge.Field != tc.field || ge.Rule != tc.rule {
			t.Errorf("%s: field %q rule %q, want %q %q (%v)", tc.name, ge.Field, ge.Rule, tc.field, tc.rule, err)
		}
	}
}

// TestClassOfInstance checks that the class of a serialised key drops the
// serial and keeps a lot.
func TestClassOfInstance(t *testing.T) {
	pl := epc.FixedLength(7)
	for dl, want := range map[string]string{
		"https://id.gs1.org/01/04012345123456/10/L1/21/S1":   "urn:epc:class:lgtin:4012345.012345.L1",
		"https://id.gs1.org/01/04012345123456/21/S1":         "urn:epc:idpat:sgtin:4012345.012345.*",
		"https://id.gs1.org/8003/00614141123452400":          "urn:epc:idpat:grai:0614141.12345.*",
		"https://id.gs1.org/8010/0614141123ABC/8011/1234567": "urn:epc:idpat:cpi:0614141.123ABC.*",
	} {
		got, err := epc.DigitalLinkToClassURN(dl, pl)
		if err != nil || got != want {
			t.Errorf("DigitalLinkToClassURN(%s) = %q, %v; want %q", dl, got, err, want)
		}
	}
	// A lot alone is a class, the most specific EPC of the URI.
	e, err := epc.FromDigitalLink("https://example.com/01/04012345123456/10/L%2F1?17=261231", pl)
	if err != nil || e.URN() != "urn:epc:class:lgtin:4012345.012345.L%2F1" || e.Kind != epc.KindClass {
		t.Errorf("FromDigitalLink = %q, %v", e.URN(), err)
	}
}

// TestCanonicalURN checks that ParseURN gives the canonical URN: escapes
// in upper case, unreserved characters unescaped.
func TestCanonicalURN(t *testing.T) {
	for in, want := range map[string]string{
		"urn:epc:id:sgtin:0614141.812345.a%2fb%41": "urn:epc:id:sgtin:0614141.812345.a%2FbA",
		"urn:epc:id:sgln:0614141.12345.0":          "urn:epc:id:sgln:0614141.12345.0",
		"urn:epc:id:cpi:0614141.A%23B.5":           "urn:epc:id:cpi:0614141.A%23B.5",
	} {
		e, err := epc.ParseURN(in)
		if err != nil || e.URN() != want {
			t.Errorf("ParseURN(%s) = %q, %v; want %q", in, e.URN(), err, want)
		}
	}
}
