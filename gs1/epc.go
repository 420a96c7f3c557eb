package gs1

import (
	"strings"
)

// EPC pure identity URNs (GS1 EPC Tag Data Standard) for the three keys
// Pedigree tracks:
//
//	urn:epc:id:sgtin:CompanyPrefix.IndicatorItemRef.Serial  ↔ (01) + (21)
//	urn:epc:id:sscc:CompanyPrefix.ExtensionSerialRef        ↔ (00)
//	urn:epc:id:sgln:CompanyPrefix.LocationRef.Extension     ↔ (414) [+ (254)]
//
// The split between company prefix and reference is not recorded in a GTIN,
// SSCC or GLN: converting to a URN needs the GS1 Company Prefix length.

// Company prefix length limits for EPC URNs.
const (
	MinCompanyPrefixLength = 6
	MaxCompanyPrefixLength = 12
)

const (
	sgtinPrefix = "urn:epc:id:sgtin:"
	ssccPrefix  = "urn:epc:id:sscc:"
	sglnPrefix  = "urn:epc:id:sgln:"
)

func epcError(format string, args ...any) *Error {
	e := newError("", RuleSyntax, format, args...)
	e.Field = "epc"
	return e
}

// EPCToDigitalLink converts an SGTIN, SSCC or SGLN pure identity URN to a
// GS1 Digital Link URI under stem ("" means DefaultDigitalLinkStem). An SGLN
// extension "0" means no extension, so no (254).
func EPCToDigitalLink(urn, stem string) (string, error) {
	els, err := epcElements(urn)
	if err != nil {
		return "", err
	}
	r, err := Options{}.Build(els...)
	if err != nil {
		return "", err
	}
	return r.DigitalLink(stem)
}

// epcElements decodes an SGTIN, SSCC or SGLN URN into AIs with their values
// unescaped; the values are validated by Build.
func epcElements(urn string) ([]Element, error) {
	var form string
	switch {
	case strings.HasPrefix(urn, sgtinPrefix):
		form = "SGTIN %s must be CompanyPrefix.IndicatorItemRef.Serial: a company prefix of 6 to 12 digits, 13 digits before the serial, a serial of 1 to 20 characters with \" %% & / < > ? %%-escaped"
	case strings.HasPrefix(urn, ssccPrefix):
		form = "SSCC %s must be CompanyPrefix.SerialRef: a company prefix of 6 to 12 digits and 17 digits in all"
	case strings.HasPrefix(urn, sglnPrefix):
		form = "SGLN %s must be CompanyPrefix.LocationRef.Extension: a company prefix of 6 to 12 digits, 12 digits before the extension, an extension of 1 to 20 characters with \" %% & / < > ? %%-escaped"
	default:
		return nil, epcError("not an SGTIN, SSCC or SGLN EPC URN: %s", sq(urn))
	}
	els, ok := epcURNElements(urn)
	if !ok {
		return nil, epcError(form, sq(urn))
	}
	for i := range els {
		els[i].Value = unescape(els[i].Value, false)
	}
	return els, nil
}

// epcReserved are the characters the Tag Data Standard requires to be
// %-escaped in URN serials and extensions.
const epcReserved = "\"%&/<>?"

// epcEscape encodes a serial or extension for a URN.
func epcEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; strings.IndexByte(epcReserved, c) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// DigitalLinkToEPC parses a Digital Link URI and returns its EPC URN; see
// Result.EPC.
func DigitalLinkToEPC(uri string, companyPrefixLen int) (string, error) {
	r, err := ParseDigitalLink(uri)
	if err != nil {
		return "", err
	}
	return r.EPC(companyPrefixLen)
}

// EPC returns the pure identity URN of the Result's first key: an SGTIN
// (needs (01) and (21)), an SSCC (00) or an SGLN (414, extension (254) or
// "0"). companyPrefixLen is the length of the GS1 Company Prefix inside the
// key, 6 to 12.
func (r *Result) EPC(companyPrefixLen int) (string, error) {
	l := companyPrefixLen
	if l < MinCompanyPrefixLength || l > MaxCompanyPrefixLength {
		e := newError("", RuleCompanyPrefix, "company prefix length %d is not between %d and %d", l, MinCompanyPrefixLength, MaxCompanyPrefixLength)
		e.Field = "company_prefix_length"
		return "", e
	}
	for _, el := range r.Elements {
		switch {
		case el.AI == "01" && ValidGTIN(r.GTIN) && len(r.GTIN) == 14:
			if r.Serial == "" {
				return "", newError("21", RuleUnsupported, "an SGTIN needs a serial (21) with the GTIN")
			}
			g := r.GTIN
			return sgtinPrefix + g[1:1+l] + "." + g[:1] + g[1+l:13] + "." + epcEscape(r.Serial), nil
		case el.AI == "00" && ValidSSCC(r.SSCC):
			s := r.SSCC
			return ssccPrefix + s[1:1+l] + "." + s[:1] + s[1+l:17], nil
		case el.AI == "414" && ValidGLN(r.GLN):
			ext := "0"
			if r.GLNExtension != "" {
				ext = epcEscape(r.GLNExtension)
			}
			return sglnPrefix + r.GLN[:l] + "." + r.GLN[l:12] + "." + ext, nil
		}
	}
	return "", newError("", RuleUnsupported, "no SGTIN, SSCC or SGLN key among %s", describeAIs(aisOf(r.Elements)))
}
