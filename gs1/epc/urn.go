package epc

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/pedigree-project/pedigree/gs1"
)

// Kind says which of the three URN forms an EPC has.
type Kind uint8

// The URN forms.
const (
	// KindID is a pure identity, urn:epc:id:scheme:…: one physical or
	// digital object.
	KindID Kind = iota + 1
	// KindClass is an LGTIN class, urn:epc:class:lgtin:…: a GTIN and lot.
	KindClass
	// KindPattern is a pattern whose last component is "*",
	// urn:epc:idpat:scheme:…*: every instance of a class (a GTIN, a GRAI
	// asset type, …).
	KindPattern
)

// String returns the URN's word for the form: "id", "class" or "idpat".
func (k Kind) String() string {
	switch k {
	case KindID:
		return "id"
	case KindClass:
		return "class"
	case KindPattern:
		return "idpat"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Scheme is an EPC scheme name as it appears in a URN.
type Scheme string

// The schemes whose URNs have a GS1 Digital Link equivalent.
const (
	SGTIN Scheme = "sgtin" // (01) + (21): a serialised trade item
	SSCC  Scheme = "sscc"  // (00): a logistic unit
	SGLN  Scheme = "sgln"  // (414) [+ (254)]: a location, extension "0" for none
	GRAI  Scheme = "grai"  // (8003): a returnable asset with its serial
	GIAI  Scheme = "giai"  // (8004): an individual asset
	GSRN  Scheme = "gsrn"  // (8018): a service relation, recipient
	GSRNP Scheme = "gsrnp" // (8017): a service relation, provider
	GDTI  Scheme = "gdti"  // (253): a document with its serial
	CPI   Scheme = "cpi"   // (8010) + (8011): a component or part with its serial
	SGCN  Scheme = "sgcn"  // (255): a coupon with its serial
	GINC  Scheme = "ginc"  // (401): a consignment
	GSIN  Scheme = "gsin"  // (402): a shipment
	ITIP  Scheme = "itip"  // (8006) + (21): a piece of a trade item
	UPUI  Scheme = "upui"  // (01) + (235): a trade item with a third-party controlled extension
	PGLN  Scheme = "pgln"  // (417): a party
	LGTIN Scheme = "lgtin" // (01) + (10): a trade item's lot (class only)
)

// schemeInfo is what the package knows of a scheme.
type schemeInfo struct {
	key     string // the GS1 key's AI
	pattern bool   // has a urn:epc:idpat: form with a GS1 Digital Link equivalent
	form    string // the URN body, for error messages
}

var schemes = map[Scheme]schemeInfo{
	SGTIN: {"01", true, "CompanyPrefix.IndicatorItemRef.Serial (13 digits before the serial)"},
	SSCC:  {"00", false, "CompanyPrefix.ExtensionSerialRef (17 digits)"},
	SGLN:  {"414", false, "CompanyPrefix.LocationRef.Extension (12 digits before the extension; \"0\" for none)"},
	GRAI:  {"8003", true, "CompanyPrefix.AssetType.Serial (12 digits before the serial)"},
	GIAI:  {"8004", false, "CompanyPrefix.IndividualAssetRef (30 characters at most)"},
	GSRN:  {"8018", false, "CompanyPrefix.ServiceRef (17 digits)"},
	GSRNP: {"8017", false, "CompanyPrefix.ServiceRef (17 digits)"},
	GDTI:  {"253", true, "CompanyPrefix.DocumentType.Serial (12 digits before the serial)"},
	CPI:   {"8010", true, "CompanyPrefix.ComponentPartRef.Serial (30 characters at most before a numeric serial)"},
	SGCN:  {"255", true, "CompanyPrefix.CouponRef.Serial (12 digits before a numeric serial)"},
	GINC:  {"401", false, "CompanyPrefix.ConsignmentRef (30 characters at most)"},
	GSIN:  {"402", false, "CompanyPrefix.ShipperRef (16 digits)"},
	ITIP:  {"8006", true, "CompanyPrefix.IndicatorItemRef.Piece.Total.Serial (13 digits, then two and two)"},
	UPUI:  {"01", false, "CompanyPrefix.IndicatorItemRef.TPX (13 digits before the extension)"},
	PGLN:  {"417", false, "CompanyPrefix.PartyRef (12 digits)"},
	LGTIN: {"01", false, "CompanyPrefix.IndicatorItemRef.Lot (13 digits before the lot)"},
}

// MaxURNLength bounds the URNs the package reads; no valid EPC URN comes
// near it.
const MaxURNLength = 512

// EPC is a validated EPC URN and the GS1 elements it stands for.
type EPC struct {
	// Kind is the URN form.
	Kind Kind
	// Scheme is the URN's scheme.
	Scheme Scheme
	// CompanyPrefix is the GS1 Company Prefix, 6 to 12 digits.
	CompanyPrefix string
	// Elements are the GS1 key and the qualifiers the URN carries, key
	// first, values decoded (a serial "A/1" is "A/1", not "A%2F1"). A
	// pattern carries the key without its serial component.
	Elements []gs1.Element

	urn string
}

// String returns the URN.
func (e EPC) String() string { return e.urn }

// URN returns the URN in its canonical form: escapes in upper case, only
// the reserved characters escaped.
func (e EPC) URN() string { return e.urn }

// DigitalLink renders the EPC as a GS1 Digital Link URI under stem ("" is
// https://id.gs1.org); see URNToDigitalLink.
func (e EPC) DigitalLink(stem string) (string, error) {
	if e.urn == "" {
		return "", syntaxError("the zero EPC has no Digital Link")
	}
	r, err := gs1.Options{}.Build(e.Elements...)
	if err != nil {
		return "", err
	}
	return r.DigitalLink(stem)
}

// errorf builds the *gs1.Error of a refused URN or conversion.
func errorf(field string, rule gs1.Rule, format string, args ...any) *gs1.Error {
	return &gs1.Error{Field: field, Rule: rule, Msg: "epc: " + fmt.Sprintf(format, args...)}
}

func syntaxError(format string, args ...any) *gs1.Error {
	return errorf("epc", gs1.RuleSyntax, format, args...)
}

// quote shows input in a message, shortened when long.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// ParseURN reads an EPC URN: a pure identity (urn:epc:id:…), an LGTIN
// class (urn:epc:class:lgtin:…) or a pattern whose last component is "*"
// (urn:epc:idpat:…), of the schemes listed above. Every component is
// checked against the Tag Data Standard's syntax for its scheme (digit
// counts, the company prefix of 6 to 12 digits, the characters of serials,
// where " % & / < > ? must be %-escaped) and the elements it stands for
// against the GS1 dictionary. Errors are *gs1.Error naming the field and
// the rule.
func ParseURN(urn string) (EPC, error) {
	if len(urn) > MaxURNLength {
		return EPC{}, errorf("epc", gs1.RuleLimit, "URN longer than %d bytes", MaxURNLength)
	}
	kind, scheme, body, err := splitURN(urn)
	if err != nil {
		return EPC{}, err
	}
	els, ok := gs1.EPCURNElements(urn)
	if !ok {
		suffix := ""
		if kind == KindPattern {
			suffix = ", \"*\" standing for the serial"
		}
		return EPC{}, syntaxError("%s %s must be urn:epc:%s:%s:%s%s", strings.ToUpper(string(scheme)), quote(urn),
			kind, scheme, schemes[scheme].form, suffix)
	}
	if kind == KindID && scheme == GDTI && len(els[0].Value) == 13 {
		return EPC{}, syntaxError("GDTI %s has no serial; urn:epc:idpat:gdti:…* names the document type", quote(urn))
	}
	for i := range els {
		// The syntax check let through only well-formed escapes.
		if els[i].Value, err = url.PathUnescape(els[i].Value); err != nil {
			return EPC{}, syntaxError("%s: %v", quote(urn), err)
		}
	}
	if _, err := (gs1.Options{}).Build(els...); err != nil {
		return EPC{}, err
	}
	gcp, _, _ := strings.Cut(body, ".")
	canonical, err := format(kind, scheme, els[0].Value, qualifier(scheme, els), len(gcp))
	if err != nil {
		return EPC{}, err
	}
	return EPC{Kind: kind, Scheme: scheme, CompanyPrefix: gcp, Elements: els, urn: canonical}, nil
}

// qualifier returns the decoded value of the element after the key that a
// scheme's URN carries as its last component, or "".
func qualifier(scheme Scheme, els []gs1.Element) string {
	if len(els) < 2 {
		if scheme == SGLN {
			return "0"
		}
		return ""
	}
	return els[1].Value
}

// splitURN reads the form and scheme of an EPC URN.
func splitURN(urn string) (Kind, Scheme, string, error) {
	rest, ok := strings.CutPrefix(urn, "urn:epc:")
	if !ok {
		return 0, "", "", syntaxError("%s is not an EPC URN (urn:epc:…)", quote(urn))
	}
	word, rest, _ := strings.Cut(rest, ":")
	name, body, ok := strings.Cut(rest, ":")
	scheme := Scheme(name)
	info, known := schemes[scheme]
	var kind Kind
	switch word {
	case "id":
		kind = KindID
		known = known && scheme != LGTIN
	case "class":
		kind = KindClass
		known = scheme == LGTIN
	case "idpat":
		kind = KindPattern
		known = known && info.pattern
	default:
		return 0, "", "", syntaxError("%s is not an EPC URN of the forms urn:epc:id:, urn:epc:class:lgtin: or urn:epc:idpat:", quote(urn))
	}
	if !ok || !known {
		return 0, "", "", errorf("epc", gs1.RuleUnsupported, "%s: no GS1 Digital Link equivalent is known for urn:epc:%s:%s", quote(urn), word, name)
	}
	return kind, scheme, body, nil
}

// URNToDigitalLink converts an EPC URN (see ParseURN) to a GS1 Digital Link
// URI under stem ("" is https://id.gs1.org): the key and the qualifiers
// the URN carries as path segments, values percent-encoded. No company
// prefix table is needed: the URN marks where the prefix ends.
func URNToDigitalLink(urn, stem string) (string, error) {
	e, err := ParseURN(urn)
	if err != nil {
		return "", err
	}
	return e.DigitalLink(stem)
}
