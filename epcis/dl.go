package epcis

import "strings"

// dlBase is the canonical GS1 Digital Link domain.
const dlBase = "https://id.gs1.org/"

// canonDigitalLink returns the constrained canonical GS1 Digital Link form
// of an EPC URN, EPC class URN or EPC pattern URN, or of a GS1 Digital Link
// URI on any domain, following the reference implementation's
// dl_normaliser: canonical domain, no query string, only the most
// fine-grained key and qualifiers. ok is false when s is none of these.
func canonDigitalLink(s string) (string, bool) {
	if !strings.Contains(s, ".") {
		return "", false
	}
	if rest, ok := strings.CutPrefix(s, "urn:epc:"); ok {
		return epcURNToDL(rest)
	}
	if strings.HasPrefix(s, "http:") || strings.HasPrefix(s, "https:") {
		return constrainDL(s)
	}
	return "", false
}

// epcURNToDL converts the part of an EPC URN after "urn:epc:".
func epcURNToDL(s string) (string, bool) {
	kind, body, ok := strings.Cut(s, ":")
	if !ok {
		return "", false
	}
	scheme, body, ok := strings.Cut(body, ":")
	if !ok {
		return "", false
	}
	switch kind {
	case "id":
		return epcIDToDL(scheme, body)
	case "class":
		if scheme != "lgtin" {
			return "", false
		}
		gtin, rest, ok := gtinOf(body)
		if lot, ok2 := strings.CutPrefix(rest, "."); ok && ok2 && validEPCChars(lot, 1, 20) {
			return dlBase + "01/" + gtin + "/10/" + webEncode(lot), true
		}
	case "idpat":
		return epcPatternToDL(scheme, body)
	}
	return "", false
}

// epcIDToDL converts the body of an EPC pure identity URN urn:epc:id:scheme:body.
func epcIDToDL(scheme, body string) (string, bool) {
	switch scheme {
	case "sgtin":
		gtin, rest, ok := gtinOf(body)
		if serial, ok2 := strings.CutPrefix(rest, "."); ok && ok2 && validEPCChars(serial, 1, 20) {
			return dlBase + "01/" + gtin + "/21/" + webEncode(serial), true
		}
	case "sscc":
		gcp, ref, rest, ok := splitGCP(body, 17)
		if ok && rest == "" {
			return dlBase + "00/" + withCheckDigit(ref[:1]+gcp+ref[1:]), true
		}
	case "sgln":
		gcp, ref, rest, ok := splitGCP(body, 12)
		ext, ok2 := strings.CutPrefix(rest, ".")
		if ok && ok2 && validEPCChars(ext, 1, 20) {
			gln := withCheckDigit(gcp + ref)
			if ext == "0" {
				return dlBase + "414/" + gln, true
			}
			return dlBase + "414/" + gln + "/254/" + webEncode(ext), true
		}
	case "grai":
		gcp, ref, rest, ok := splitGCP(body, 12)
		if serial, ok2 := strings.CutPrefix(rest, "."); ok && ok2 && validEPCChars(serial, 1, 16) {
			return dlBase + "8003/" + withCheckDigit("0"+gcp+ref) + webEncode(serial), true
		}
	case "giai", "ginc":
		gcp, ref, ok := gcpDot(body)
		if ok && validEPCChars(ref, 1, 30-len(gcp)) {
			ai := "8004/"
			if scheme == "ginc" {
				ai = "401/"
			}
			return dlBase + ai + gcp + webEncode(ref), true
		}
	case "gsrn", "gsrnp":
		gcp, ref, rest, ok := splitGCP(body, 17)
		if ok && rest == "" {
			ai := "8018/"
			if scheme == "gsrnp" {
				ai = "8017/"
			}
			return dlBase + ai + withCheckDigit(gcp+ref), true
		}
	case "gdti":
		gcp, ref, rest, ok := splitGCP(body, 12)
		if serial, ok2 := strings.CutPrefix(rest, "."); ok && ok2 && validEPCChars(serial, 0, 19) {
			return dlBase + "253/" + withCheckDigit(gcp+ref) + webEncode(serial), true
		}
	case "cpi":
		gcp, rest, ok := gcpDot(body)
		cpref, serial, ok2 := strings.Cut(rest, ".")
		if ok && ok2 && validCPIChars(cpref, 1, 30-len(gcp)) && allDigits(serial, 1, 12) {
			return dlBase + "8010/" + webEncode(gcp+cpref) + "/8011/" + serial, true
		}
	case "sgcn":
		gcp, ref, rest, ok := splitGCP(body, 12)
		if serial, ok2 := strings.CutPrefix(rest, "."); ok && ok2 && allDigits(serial, 1, 12) {
			return dlBase + "255/" + withCheckDigit(gcp+ref) + serial, true
		}
	case "gsin":
		gcp, ref, rest, ok := splitGCP(body, 16)
		if ok && rest == "" {
			return dlBase + "402/" + withCheckDigit(gcp+ref), true
		}
	case "itip":
		gtin, rest, ok := gtinOf(body)
		if ok && len(rest) >= 8 && rest[0] == '.' && rest[3] == '.' && rest[6] == '.' &&
			allDigits(rest[1:3], 2, 2) && allDigits(rest[4:6], 2, 2) && validEPCChars(rest[7:], 1, 20) {
			return dlBase + "8006/" + gtin + rest[1:3] + rest[4:6] + "/21/" + webEncode(rest[7:]), true
		}
	case "upui":
		gtin, rest, ok := gtinOf(body)
		if tpx, ok2 := strings.CutPrefix(rest, "."); ok && ok2 && validEPCChars(tpx, 1, 28) {
			return dlBase + "01/" + gtin + "/235/" + webEncode(tpx), true
		}
	case "pgln":
		gcp, ref, rest, ok := splitGCP(body, 12)
		if ok && rest == "" {
			return dlBase + "417/" + withCheckDigit(gcp+ref), true
		}
	}
	return "", false
}

// epcPatternToDL converts the body of an EPC pattern URN
// urn:epc:idpat:scheme:body whose last component is "*".
func epcPatternToDL(scheme, body string) (string, bool) {
	head, ok := strings.CutSuffix(body, ".*")
	if !ok {
		return "", false
	}
	switch scheme {
	case "sgtin", "upui":
		if gtin, rest, ok := gtinOf(head); ok && rest == "" {
			return dlBase + "01/" + gtin, true
		}
	case "grai", "gdti", "sgcn":
		gcp, ref, rest, ok := splitGCP(head, 12)
		if ok && rest == "" {
			switch scheme {
			case "grai":
				return dlBase + "8003/" + withCheckDigit("0"+gcp+ref), true
			case "gdti":
				return dlBase + "253/" + withCheckDigit(gcp+ref), true
			}
			return dlBase + "255/" + withCheckDigit(gcp+ref), true
		}
	case "cpi":
		gcp, cpref, ok := gcpDot(head)
		if ok && validCPIChars(cpref, 1, 30-len(gcp)) {
			return dlBase + "8010/" + webEncode(gcp+cpref), true
		}
	case "itip":
		gtin, rest, ok := gtinOf(head)
		if ok && len(rest) == 6 && rest[0] == '.' && rest[3] == '.' && allDigits(rest[1:3], 2, 2) && allDigits(rest[4:6], 2, 2) {
			return dlBase + "8006/" + gtin + rest[1:3] + rest[4:6], true
		}
	}
	return "", false
}

// gcpDot splits "GCP.rest" where GCP is a GS1 company prefix of 6 to 12
// digits.
func gcpDot(body string) (gcp, rest string, ok bool) {
	i := strings.IndexByte(body, '.')
	if i < 6 || i > 12 || !allDigits(body[:i], 6, 12) {
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
	if len(after) < n || !allDigits(after[:n], n, n) {
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
	return withCheckDigit(ref[:1] + gcp + ref[1:]), rest, true
}

// withCheckDigit appends the GS1 mod-10 check digit to a string of digits.
func withCheckDigit(digits string) string {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return digits + string(rune('0'+(10-sum%10)%10))
}

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
			const hexdig = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hexdig[c>>4])
			b.WriteByte(hexdig[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
