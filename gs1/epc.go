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

// epcElements decodes a URN into AIs; the values are validated by Build.
func epcElements(urn string) ([]Element, error) {
	var scheme, body string
	for _, p := range [...]string{sgtinPrefix, ssccPrefix, sglnPrefix} {
		if strings.HasPrefix(urn, p) {
			scheme, body = p, urn[len(p):]
		}
	}
	if scheme == "" {
		return nil, epcError("not an SGTIN, SSCC or SGLN EPC URN: %s", sq(urn))
	}
	parts := strings.SplitN(body, ".", 3)
	cp := parts[0]
	if len(cp) < MinCompanyPrefixLength || len(cp) > MaxCompanyPrefixLength || !allDigits(cp) {
		return nil, epcError("EPC company prefix %s must be %d to %d digits", sq(cp), MinCompanyPrefixLength, MaxCompanyPrefixLength)
	}
	switch scheme {
	case sgtinPrefix:
		if len(parts) != 3 || len(cp)+len(parts[1]) != 13 || !allDigits(parts[1]) {
			return nil, epcError("SGTIN %s must be CompanyPrefix.IndicatorItemRef.Serial with 13 digits before the serial", sq(urn))
		}
		serial, err := epcUnescape(parts[2])
		if err != nil {
			return nil, err
		}
		body := parts[1][:1] + cp + parts[1][1:]
		return []Element{{AI: "01", Value: body + string(checkDigitSum(body))}, {AI: "21", Value: serial}}, nil
	case ssccPrefix:
		if len(parts) != 2 || len(cp)+len(parts[1]) != 17 || !allDigits(parts[1]) {
			return nil, epcError("SSCC %s must be CompanyPrefix.SerialRef with 17 digits", sq(urn))
		}
		body := parts[1][:1] + cp + parts[1][1:]
		return []Element{{AI: "00", Value: body + string(checkDigitSum(body))}}, nil
	default:
		if len(parts) != 3 || len(cp)+len(parts[1]) != 12 || !allDigits(parts[1]) {
			return nil, epcError("SGLN %s must be CompanyPrefix.LocationRef.Extension with 12 digits before the extension", sq(urn))
		}
		body := cp + parts[1]
		els := []Element{{AI: "414", Value: body + string(checkDigitSum(body))}}
		ext, err := epcUnescape(parts[2])
		if err != nil {
			return nil, err
		}
		if ext != "0" {
			els = append(els, Element{AI: "254", Value: ext})
		}
		return els, nil
	}
}

// epcReserved are the characters the Tag Data Standard requires to be
// %-escaped in URN serials and extensions.
const epcReserved = "\"%&/<>?"

// epcUnescape decodes a URN serial or extension; "" and unescaped reserved
// characters are refused.
func epcUnescape(s string) (string, error) {
	if s == "" {
		return "", epcError("empty EPC serial or extension")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			i += 2
			continue
		}
		if strings.IndexByte(epcReserved, c) >= 0 || !cset82[c] {
			return "", epcError("character %s must be %%-escaped or is not allowed in an EPC URN", sq(s[i:i+1]))
		}
	}
	return unescape(s, false), nil
}

// epcEscape encodes a serial or extension for a URN.
func epcEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; strings.IndexByte(epcReserved, c) >= 0 {
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
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
