package epc

import (
	"fmt"
	"strings"

	"github.com/pedigree-project/pedigree/gs1"
)

// FromDigitalLink parses a GS1 Digital Link URI (strictly, with package
// gs1) and returns the most specific EPC it names: a pure identity when the
// key carries its serial component ((01) with (21) or (235), (8006) with
// (21), (8010) with (8011), a GRAI, GDTI or GCN with a serial, or one of the
// keys that are always instances), otherwise the class: an LGTIN for (01)
// with (10), a pattern for the others. Qualifiers an EPC has no place for,
// (22) and a lot next to a serial, and the query's data attributes are left
// out. pl says where the key's GS1 Company Prefix ends; the prefix must be
// 6 to 12 digits.
func FromDigitalLink(uri string, pl PrefixLengths) (EPC, error) {
	r, err := gs1.ParseDigitalLink(uri)
	if err != nil {
		return EPC{}, err
	}
	return fromResult(r, pl, false)
}

// DigitalLinkToURN returns the pure identity URN of a GS1 Digital Link URI;
// a URI that names a class (a GTIN without a serial) is refused. See
// FromDigitalLink.
func DigitalLinkToURN(uri string, pl PrefixLengths) (string, error) {
	e, err := FromDigitalLink(uri, pl)
	if err != nil {
		return "", err
	}
	if e.Kind != KindID {
		return "", errorf(fieldOf(e.Elements[0].AI), gs1.RuleUnsupported,
			"%s names a class (%s), not one object: the serial component is missing", quote(uri), e.urn)
	}
	return e.urn, nil
}

// DigitalLinkToClassURN returns the class-level URN of a GS1 Digital Link
// URI: the LGTIN class of a GTIN with a lot, otherwise the pattern of the
// key without its serial (urn:epc:idpat:sgtin:…*, grai, gdti, sgcn, cpi,
// itip). A serial in the URI is dropped; a key without a class (an SSCC, a
// GLN, …) is refused.
func DigitalLinkToClassURN(uri string, pl PrefixLengths) (string, error) {
	r, err := gs1.ParseDigitalLink(uri)
	if err != nil {
		return "", err
	}
	e, err := fromResult(r, pl, true)
	if err != nil {
		return "", err
	}
	return e.urn, nil
}

// fieldOf names an AI's value for error details.
func fieldOf(ai string) string {
	switch ai {
	case "01":
		return "gtin"
	case "00":
		return "sscc"
	case "414":
		return "gln"
	}
	return "ai_" + ai
}

// fromResult makes the EPC of a parsed Digital Link; class asks for the
// class-level EPC.
func fromResult(r *gs1.Result, pl PrefixLengths, class bool) (EPC, error) {
	key := r.Elements[0]
	v := key.Value
	q := func(ai string) string { s, _ := r.Value(ai); return s }
	var (
		kind   = KindID
		scheme Scheme
		serial string // the serial-like qualifier, or "" for none
	)
	switch key.AI {
	case "00":
		scheme = SSCC
	case "01":
		switch {
		case class && q("10") != "", !class && q("21") == "" && q("235") == "" && q("10") != "":
			kind, scheme, serial = KindClass, LGTIN, q("10")
		case class || q("21") == "" && q("235") == "":
			kind, scheme = KindPattern, SGTIN
		case q("21") != "":
			scheme, serial = SGTIN, q("21")
		default:
			scheme, serial = UPUI, q("235")
		}
	case "414":
		scheme, serial = SGLN, q("254")
		if serial == "" {
			serial = "0"
		}
	case "417":
		scheme = PGLN
	case "8003", "253", "255":
		scheme = map[string]Scheme{"8003": GRAI, "253": GDTI, "255": SGCN}[key.AI]
		n := 13
		if key.AI == "8003" {
			n = 14
		}
		if class || len(v) == n {
			kind, v = KindPattern, v[:n]
		}
	case "8004":
		scheme = GIAI
	case "401":
		scheme = GINC
	case "402":
		scheme = GSIN
	case "8017":
		scheme = GSRNP
	case "8018":
		scheme = GSRN
	case "8010":
		scheme, serial = CPI, q("8011")
		if class || serial == "" {
			kind, serial = KindPattern, ""
		}
	case "8006":
		scheme, serial = ITIP, q("21")
		if class || serial == "" {
			kind, serial = KindPattern, ""
		}
	default:
		return EPC{}, errorf(fieldOf(key.AI), gs1.RuleUnsupported, "no EPC scheme has the key (%s)", key.AI)
	}
	if class && kind == KindID {
		return EPC{}, errorf(fieldOf(key.AI), gs1.RuleUnsupported, "an %s has no class-level EPC", strings.ToUpper(string(scheme)))
	}
	digits := v
	if key.AI == "00" || key.AI == "01" || key.AI == "8003" || key.AI == "8006" {
		digits = v[1:] // the indicator, extension digit or GRAI's leading zero comes before the prefix
	}
	l, err := pl.CompanyPrefixLength(digits)
	if err != nil {
		return EPC{}, fmt.Errorf("company prefix of (%s) %s: %w", key.AI, v, err)
	}
	urn, err := format(kind, scheme, v, serial, l)
	if err != nil {
		return EPC{}, err
	}
	return ParseURN(urn)
}

// format writes the URN of key value v (serial: its qualifier, already
// decoded) with a company prefix of l characters. ParseURN checks the
// result.
func format(kind Kind, scheme Scheme, v, serial string, l int) (string, error) {
	if l < 6 || l > 12 {
		return "", errorf("company_prefix_length", gs1.RuleCompanyPrefix,
			"company prefix length %d is not between 6 and 12, the lengths an EPC URN allows", l)
	}
	var b strings.Builder
	b.WriteString("urn:epc:" + kind.String() + ":" + string(scheme) + ":")
	// indicated is "GCP.IndicatorRef" for keys whose first digit comes
	// after the company prefix.
	indicated := func(end int) {
		b.WriteString(v[1:1+l] + "." + v[:1] + v[1+l:end])
	}
	plain := func(end int) { b.WriteString(v[:l] + "." + v[l:end]) }
	switch scheme {
	case SGTIN, UPUI, LGTIN:
		indicated(13)
	case SSCC:
		indicated(17)
	case SGLN, PGLN:
		plain(12)
	case GRAI:
		if v[0] != '0' {
			return "", errorf("ai_8003", gs1.RuleUnsupported, "a GRAI's EPC needs the leading digit 0, not %q", v[:1])
		}
		b.WriteString(v[1:1+l] + "." + v[1+l:13])
		serial = v[14:]
	case GDTI, SGCN:
		plain(12)
		serial = v[13:]
	case GSRN, GSRNP:
		plain(17)
	case GSIN:
		plain(16)
	case ITIP:
		indicated(13)
		b.WriteString("." + v[14:16] + "." + v[16:18])
	case GIAI, GINC, CPI:
		if l > len(v) || strings.Trim(v[:l], "0123456789") != "" {
			return "", errorf("company_prefix_length", gs1.RuleCompanyPrefix,
				"the first %d characters of %q are not a company prefix of digits", l, v)
		}
		b.WriteString(v[:l] + ".")
		if scheme == CPI {
			b.WriteString(cpiEscape(v[l:]))
		} else {
			b.WriteString(gs1.EPCEscape(v[l:]))
		}
	}
	switch {
	case kind == KindPattern:
		b.WriteString(".*")
	case scheme == CPI:
		b.WriteString("." + serial)
	case serial != "":
		b.WriteString("." + gs1.EPCEscape(serial))
	}
	return b.String(), nil
}

// cpiEscape %-escapes the characters of a component/part reference that an
// EPC URN reserves: "#" and "/".
func cpiEscape(s string) string {
	return strings.NewReplacer("#", "%23", "/", "%2F").Replace(s)
}
