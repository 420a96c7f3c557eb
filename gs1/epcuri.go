package gs1

import "strings"

// EPC URNs of the GS1 EPC Tag Data Standard (pure identities, the LGTIN
// class and the "*" patterns) are read here, once, for every conversion to
// GS1 Digital Link: EPCToDigitalLink (validated, any stem) and
// CanonicalDigitalLinkOfEPC (the constrained canonical form that EPCIS 2.0
// event hashing uses).

// CanonicalDigitalLinkOfEPC returns the constrained canonical GS1 Digital
// Link URI (on https://id.gs1.org, only the most fine-grained key and
// qualifiers) of an EPC pure identity URN (urn:epc:id:…), an LGTIN class
// URN (urn:epc:class:lgtin:…) or an EPC pattern URN whose last component is
// "*" (urn:epc:idpat:…), following the reference implementation of the EPCIS
// event hash (dl_normaliser). Serials and references keep their URN
// escaping; the characters a Digital Link path segment must escape are
// %-escaped. ok is false when urn is none of these or breaks the Tag Data
// Standard's syntax for its scheme.
func CanonicalDigitalLinkOfEPC(urn string) (string, bool) {
	els, ok := epcURNElements(urn)
	if !ok {
		return "", false
	}
	var b strings.Builder
	b.WriteString(DefaultDigitalLinkStem)
	for _, el := range els {
		b.WriteString("/" + el.AI + "/" + webEncode(el.Value))
	}
	return b.String(), true
}

// EPCURNElements decodes an EPC URN (a pure identity urn:epc:id:…, an
// LGTIN class urn:epc:class:lgtin:… or a pattern urn:epc:idpat:… whose
// last component is "*") into the GS1 elements it stands for, key first,
// following the Tag Data Standard's syntax for its scheme: check digits
// are computed, values keep the URN's %-escapes. ok is false when urn is
// none of these or breaks that syntax. Package gs1/epc builds on it.
func EPCURNElements(urn string) (elements []Element, ok bool) { return epcURNElements(urn) }

// EPCEscape %-escapes the characters the Tag Data Standard reserves in the
// serial-like components of an EPC URN (" % & / < > ?); the other
// characters of GS1 character set 82 stay as they are.
func EPCEscape(s string) string { return epcEscape(s) }

// epcURNElements decodes an EPC URN into the Digital Link path elements it
// stands for, key first. Values keep the URN's %-escapes.
func epcURNElements(s string) ([]Element, bool) {
	rest, ok := strings.CutPrefix(s, "urn:epc:")
	if !ok {
		return nil, false
	}
	kind, body, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, false
	}
	scheme, body, ok := strings.Cut(body, ":")
	if !ok {
		return nil, false
	}
	switch kind {
	case "id":
		return epcIDElements(scheme, body)
	case "class":
		if scheme != "lgtin" {
			return nil, false
		}
		gtin, rest, ok := gtinOf(body)
		if lot, ok2 := strings.CutPrefix(rest, "."); ok && ok2 && validEPCChars(lot, 1, 20) {
			return []Element{{AI: "01", Value: gtin}, {AI: "10", Value: lot}}, true
		}
	case "idpat":
		return epcPatternElements(scheme, body)
	}
	return nil, false
}

// one is the one-element path of a key.
func one(ai, v string) ([]Element, bool) { return []Element{{AI: ai, Value: v}}, true }

// two is the path of a key and one qualifier.
func two(ai, v, qai, qv string) ([]Element, bool) {
	return []Element{{AI: ai, Value: v}, {AI: qai, Value: qv}}, true
}

// withCheck appends the GS1 mod-10 check digit to a string of digits.
func withCheck(digits string) string { return digits + string(checkDigitSum(digits)) }

// epcIDElements decodes the body of a pure identity URN urn:epc:id:scheme:body.
func epcIDElements(scheme, body string) ([]Element, bool) {
	switch scheme {
	case "sgtin", "upui":
		// A serial (21), or a third-party controlled, serialised
		// extension (235) of up to 28 characters.
		qai, max := "21", 20
		if scheme == "upui" {
			qai, max = "235", 28
		}
		gtin, rest, ok := gtinOf(body)
		if q, ok2 := strings.CutPrefix(rest, "."); ok && ok2 && validEPCChars(q, 1, max) {
			return two("01", gtin, qai, q)
		}
	case "sscc":
		gcp, ref, rest, ok := splitGCP(body, 17)
		if ok && rest == "" {
			return one("00", withCheck(ref[:1]+gcp+ref[1:]))
		}
	case "sgln":
		gcp, ref, rest, ok := splitGCP(body, 12)
		ext, ok2 := strings.CutPrefix(rest, ".")
		if ok && ok2 && validEPCChars(ext, 1, 20) {
			if ext == "0" {
				return one("414", withCheck(gcp+ref))
			}
			return two("414", withCheck(gcp+ref), "254", ext)
		}
	case "grai":
		gcp, ref, rest, ok := splitGCP(body, 12)
		if serial, ok2 := strings.CutPrefix(rest, "."); ok && ok2 && validEPCChars(serial, 1, 16) {
			return one("8003", withCheck("0"+gcp+ref)+serial)
		}
	case "giai", "ginc":
		gcp, ref, ok := gcpDot(body)
		if ok && validEPCChars(ref, 1, 30-len(gcp)) {
			ai := "8004"
			if scheme == "ginc" {
				ai = "401"
			}
			return one(ai, gcp+ref)
		}
	case "gsrn", "gsrnp":
		gcp, ref, rest, ok := splitGCP(body, 17)
		if ok && rest == "" {
			ai := "8018"
			if scheme == "gsrnp" {
				ai = "8017"
			}
			return one(ai, withCheck(gcp+ref))
		}
	case "gdti":
		gcp, ref, rest, ok := splitGCP(body, 12)
		if serial, ok2 := strings.CutPrefix(rest, "."); ok && ok2 && validEPCChars(serial, 0, 19) {
			return one("253", withCheck(gcp+ref)+serial)
		}
	case "cpi":
		gcp, rest, ok := gcpDot(body)
		cpref, serial, ok2 := strings.Cut(rest, ".")
		if ok && ok2 && validCPIChars(cpref, 1, 30-len(gcp)) && digitsLen(serial, 1, 12) {
			return two("8010", gcp+cpref, "8011", serial)
		}
	case "sgcn":
		gcp, ref, rest, ok := splitGCP(body, 12)
		if serial, ok2 := strings.CutPrefix(rest, "."); ok && ok2 && digitsLen(serial, 1, 12) {
			return one("255", withCheck(gcp+ref)+serial)
		}
	case "gsin":
		gcp, ref, rest, ok := splitGCP(body, 16)
		if ok && rest == "" {
			return one("402", withCheck(gcp+ref))
		}
	case "itip":
		gtin, rest, ok := gtinOf(body)
		if ok && len(rest) >= 8 && rest[0] == '.' && rest[3] == '.' && rest[6] == '.' &&
			digitsLen(rest[1:3], 2, 2) && digitsLen(rest[4:6], 2, 2) && validEPCChars(rest[7:], 1, 20) {
			return two("8006", gtin+rest[1:3]+rest[4:6], "21", rest[7:])
		}
	case "pgln":
		gcp, ref, rest, ok := splitGCP(body, 12)
		if ok && rest == "" {
			return one("417", withCheck(gcp+ref))
		}
	}
	return nil, false
}

// epcPatternElements decodes the body of an EPC pattern URN
// urn:epc:idpat:scheme:body whose last component is "*".
func epcPatternElements(scheme, body string) ([]Element, bool) {
	head, ok := strings.CutSuffix(body, ".*")
	if !ok {
		return nil, false
	}
	switch scheme {
	case "sgtin", "upui":
		if gtin, rest, ok := gtinOf(head); ok && rest == "" {
			return one("01", gtin)
		}
	case "grai", "gdti", "sgcn":
		gcp, ref, rest, ok := splitGCP(head, 12)
		if ok && rest == "" {
			switch scheme {
			case "grai":
				return one("8003", withCheck("0"+gcp+ref))
			case "gdti":
				return one("253", withCheck(gcp+ref))
			}
			return one("255", withCheck(gcp+ref))
		}
	case "cpi":
		gcp, cpref, ok := gcpDot(head)
		if ok && validCPIChars(cpref, 1, 30-len(gcp)) {
			return one("8010", gcp+cpref)
		}
	case "itip":
		gtin, rest, ok := gtinOf(head)
		if ok && len(rest) == 6 && rest[0] == '.' && rest[3] == '.' && digitsLen(rest[1:3], 2, 2) && digitsLen(rest[4:6], 2, 2) {
			return one("8006", gtin+rest[1:3]+rest[4:6])
		}
	}
	return nil, false
}

// gcpDot splits "GCP.rest" where GCP is a GS1 company prefix of 6 to 12
// digits.
func gcpDot(body string) (gcp, rest string, ok bool) {
	i := strings.IndexByte(body, '.')
	if i < MinCompanyPrefixLength || i > MaxCompanyPrefixLength || !allDigits(body[:i]) {
		return "", "", false
	}
	return body[:i], body[i+1:], true
}

// splitGCP splits "GCP.REF…" where GCP (6–12 digits) and REF (digits) have
// total digits together; rest is what follows REF.
func splitGCP(body string, total int) (gcp, ref, rest string, ok bool) {
	gcp, after, ok := gcpDot(body)
	if !ok || len(gcp) > total {
		return "", "", "", false
	}
	n := total - len(gcp)
	if !digitsLen(after[:min(n, len(after))], n, n) {
		return "", "", "", false
	}
	return gcp, after[:n], after[n:], true
}

// gtinOf reads "GCP.ITEMREF" (13 digits together, the first digit of
// ITEMREF being the indicator) and returns the GTIN-14 and what follows.
func gtinOf(body string) (gtin, rest string, ok bool) {
	gcp, ref, rest, ok := splitGCP(body, 13)
	if !ok {
		return "", "", false
	}
	return withCheck(ref[:1] + gcp + ref[1:]), rest, true
}

// digitsLen reports whether s is min to max digits.
func digitsLen(s string, min, max int) bool {
	return len(s) >= min && len(s) <= max && allDigits(s)
}

// validEPCChars reports whether s is a run of min to max characters of the
// EPC URI form of GS1 character set 82: the unreserved characters
// !'()*+,.:;=_- letters and digits, and percent-escapes (each counted as one
// character) of the others.
func validEPCChars(s string, min, max int) bool {
	return countChars(s, max, func(c byte) bool {
		return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z') || strings.IndexByte("!')(*+,.:;=_-", c) >= 0
	}, func(h, l byte) bool {
		hex := isDigit(l) || (l|0x20 >= 'a' && l|0x20 <= 'f')
		switch h {
		case '2':
			return l == '1' || l == '2' || (l >= '5' && hex)
		case '3':
			return hex
		case '4', '6':
			return hex && l != '0'
		case '5':
			return isDigit(l) || l|0x20 == 'a' || l|0x20 == 'f'
		case '7':
			return isDigit(l) || l|0x20 == 'a'
		}
		return false
	}) >= min
}

// validCPIChars is validEPCChars for the component/part reference of a
// CPI, whose character set is digits, upper-case letters, '-', '#' and '/'.
func validCPIChars(s string, min, max int) bool {
	return countChars(s, max, func(c byte) bool {
		return isDigit(c) || (c >= 'A' && c <= 'Z') || c == '-'
	}, func(h, l byte) bool {
		switch h {
		case '2':
			return l == '3' || l|0x20 == 'd' || l|0x20 == 'f'
		case '3':
			return isDigit(l)
		case '4':
			return (l >= '1' && l <= '9') || (l|0x20 >= 'a' && l|0x20 <= 'f')
		case '5':
			return isDigit(l) || l|0x20 == 'a'
		}
		return false
	}) >= min
}

// countChars counts the characters of s, a percent-escape counting as one;
// it returns -1 when a character or escape is not allowed or there are more
// than max.
func countChars(s string, max int, raw func(byte) bool, esc func(h, l byte) bool) int {
	n := 0
	for i := 0; i < len(s); n++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !esc(s[i+1], s[i+2]) {
				return -1
			}
			i += 3
		} else if raw(s[i]) {
			i++
		} else {
			return -1
		}
	}
	if n > max {
		return -1
	}
	return n
}

// webEncode percent-encodes the characters of an EPC URI component that a
// Digital Link path segment must escape.
func webEncode(s string) string {
	if !strings.ContainsAny(s, "!()*+,:") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '!', '(', ')', '*', '+', ',', ':':
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// hexDigits are the upper-case hexadecimal digits of %-escapes.
const hexDigits = "0123456789ABCDEF"
