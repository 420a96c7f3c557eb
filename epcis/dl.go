package epcis

import (
	"strings"

	"github.com/pedigree-project/pedigree/gs1"
)

// dlBase is the canonical GS1 Digital Link domain.
const dlBase = gs1.DefaultDigitalLinkStem + "/"

// canonDigitalLink returns the constrained canonical GS1 Digital Link form
// of an EPC URN, EPC class URN or EPC pattern URN, or of a GS1 Digital Link
// URI on any domain, following the reference implementation's
// dl_normaliser: canonical domain, no query string, only the most
// fine-grained key and qualifiers. ok is false when s is none of these.
func canonDigitalLink(s string) (string, bool) {
	if !strings.Contains(s, ".") {
		return "", false
	}
	if strings.HasPrefix(s, "urn:epc:") {
		return gs1.CanonicalDigitalLinkOfEPC(s)
	}
	if strings.HasPrefix(s, "http:") || strings.HasPrefix(s, "https:") {
		return constrainDL(s)
	}
	return "", false
}

// allDigits reports whether s is min to max digits.
func allDigits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
