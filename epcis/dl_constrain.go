package epcis

import "strings"

// dlKeys lists the primary-key path segments (AIs and their short names)
// recognised in a GS1 Digital Link URI. Arrays, returned by value, cost no
// allocation per call.
func dlKeys() [28]string {
	return [...]string{"01", "gtin", "8006", "itip", "8010", "cpid", "414", "gln", "417", "party",
		"8017", "gsrnp", "8018", "gsrn", "255", "gcn", "00", "sscc", "253", "gdti", "401", "ginc",
		"402", "gsin", "8003", "grai", "8004", "giai"}
}

// canonicalKeys lists the primary-key AIs in the order in which the
// reference implementation looks for them when it moves a URI onto the
// canonical domain.
func canonicalKeys() [14]string {
	return [...]string{"00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006",
		"8010", "8017", "8018"}
}

// anyKeyWithValue reports whether s holds "/k/", for a k of dlKeys, ending
// before limit, followed by four digits and a character other than '/',
// in one pass over the path segments of s (FuzzAnyKeyWithValue holds it
// to a search for each key).
func anyKeyWithValue(s string, limit int) bool {
	for j := strings.IndexByte(s[:limit], '/'); j >= 0 && j < limit; {
		e := strings.IndexByte(s[j+1:limit], '/')
		if e < 0 {
			return false
		}
		e += j + 1
		if isDLKey(s[j+1 : e]) {
			k := e + 1
			if allDigits(s[min(k, len(s)):min(k+4, len(s))], 4, 4) && k+4 < len(s) && s[k+4] != '/' {
				return true
			}
		}
		j = e
	}
	return false
}

// isDLKey reports whether seg is one of dlKeys.
func isDLKey(seg string) bool {
	if len(seg) < 2 || len(seg) > 5 {
		return false
	}
	for _, k := range dlKeys() {
		if seg == k {
			return true
		}
	}
	return false
}

// constrainDL turns a GS1 Digital Link URI into its constrained canonical
// form: https://id.gs1.org, numeric AIs, no query string, GTIN-14, no CPV,
// and no lot when a serial is present. ok is false when uri is not such a
// URI or the result is not one of the constrained forms.
func constrainDL(uri string) (string, bool) {
	if constrainedSGTIN(uri) {
		return uri, true // what constrainAny returns for it (FuzzConstrainedSGTIN)
	}
	return constrainAny(uri)
}

// constrainedSGTIN reports whether uri is already the constrained form of
// a serialised GTIN, "https://id.gs1.org/01/<14 digits>/21/<serial>", the
// serial of 1–20 characters a constrained URI allows and no '?': the form
// of almost every pack in a capture, which constrainAny returns unchanged.
func constrainedSGTIN(uri string) bool {
	p, ok := strings.CutPrefix(uri, dlBase+"01/")
	if !ok || len(p) < 19 || !allDigits(p[:14], 14, 14) || p[14:18] != "/21/" {
		return false
	}
	serial := p[18:]
	return len(serial) >= 1 && len(serial) <= 20 && allIn(serial, func(c byte) bool { return dlChar(c) && c != '?' })
}

// constrainAny is constrainDL for any URI.
func constrainAny(uri string) (string, bool) {
	limit := len(uri)
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		limit = i
	}
	if !anyKeyWithValue(uri, limit) {
		return "", false
	}
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	for _, r := range [...][2]string{{"/gtin/", "/01/"}, {"/itip/", "/8006/"}, {"/cpid/", "/8010/"},
		{"/gln/", "/414/"}, {"/party/", "/417/"}, {"/gsrnp/", "/8017/"}, {"/gsrn/", "/8018/"},
		{"/gcn/", "/255/"}, {"/sscc/", "/00/"}, {"/gdti/", "/253/"}, {"/ginc/", "/401/"},
		{"/gsin/", "/402/"}, {"/grai/", "/8003/"}, {"/giai/", "/8004/"}, {"/cpv/", "/22/"},
		{"/lot/", "/10/"}, {"/ser/", "/21/"}} {
		if strings.Contains(uri, r[0]) {
			uri = strings.ReplaceAll(uri, r[0], r[1])
		}
	}

	if !canonicalStart(uri) {
		for _, k := range canonicalKeys() {
			if i := strings.Index(uri, "/"+k+"/"); i >= 0 {
				uri = "https://id.gs1.org" + uri[i:]
				break
			}
		}
	}
	if p, ok := strings.CutPrefix(uri, dlBase+"01/"); ok && !allDigits(p[:min(14, len(p))], 14, 14) {
		switch {
		case allDigits(p[:min(13, len(p))], 13, 13):
			uri = strings.ReplaceAll(uri, "/01/", "/01/0")
		case allDigits(p[:min(12, len(p))], 12, 12):
			uri = strings.ReplaceAll(uri, "/01/", "/01/00")
		case allDigits(p[:min(8, len(p))], 8, 8):
			uri = strings.ReplaceAll(uri, "/01/", "/01/000000")
		}
	}
	uri = dropCPV(uri)
	uri = dropLotBeforeSerial(uri)
	if !validConstrained(uri) {
		return "", false
	}
	return uri, true
}

// canonicalStart reports whether uri starts with the canonical domain, a
// primary key AI, and a value of four digits and more.
func canonicalStart(uri string) bool {
	p, ok := strings.CutPrefix(uri, dlBase)
	if !ok {
		return false
	}
	key, v, _ := strings.Cut(p, "/")
	for _, k := range canonicalKeys() {
		if k == key {
			return len(v) > 4 && allDigits(v[:4], 4, 4) && v[4] != '/'
		}
	}
	return false
}

// gtinOrItip returns the length of "01/<14 digits>" or "8006/<18 digits>"
// at the start of the path p, or 0.
func gtinOrItip(p string) int {
	switch {
	case strings.HasPrefix(p, "01/") && allDigits(p[3:min(17, len(p))], 14, 14):
		return 17
	case strings.HasPrefix(p, "8006/") && allDigits(p[5:min(23, len(p))], 18, 18):
		return 23
	}
	return 0
}

// dropCPV removes a consumer product variant "/22/…" that follows a GTIN
// or ITIP, keeping any qualifiers after it.
func dropCPV(uri string) string {
	p, ok := strings.CutPrefix(uri, dlBase)
	if !ok {
		return uri
	}
	n := gtinOrItip(p)
	if n == 0 || !strings.HasPrefix(p[n:], "/22/") {
		return uri
	}
	rest := p[n+4:]
	if len(rest) > 20 || !allIn(rest, func(c byte) bool { return dlChar(c) || c == '/' }) {
		return uri
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return dlBase + p[:n] + rest[i:]
	}
	return dlBase + p[:n]
}

// dropLotBeforeSerial removes "/10/<lot>" when "/21/<serial>" follows it,
// keeping the finest identification level.
func dropLotBeforeSerial(uri string) string {
	p, ok := strings.CutPrefix(uri, dlBase)
	if !ok {
		return uri
	}
	n := gtinOrItip(p)
	if n == 0 || !strings.HasPrefix(p[n:], "/10/") {
		return uri
	}
	lot, serial, ok := strings.Cut(p[n+4:], "/21/")
	if !ok || len(lot) > 20 || len(serial) > 20 || !allIn(lot, dlChar) || !allIn(serial, dlChar) {
		return uri
	}
	return dlBase + p[:n] + "/21/" + serial
}

// dlChar reports whether c may appear in a qualifier value of a constrained
// Digital Link URI as the reference implementation accepts it.
func dlChar(c byte) bool {
	return c == '"' || c == '\'' || c == '-' || c == '.' || isDigit(c) || (c >= ';' && c <= '?') ||
		(c >= 'A' && c <= 'Z') || c == '_' || (c >= 'a' && c <= 'z')
}

// cpiChar reports whether c may appear in a CPI in a Digital Link URI.
func cpiChar(c byte) bool {
	return c == '#' || c == '-' || c == '/' || isDigit(c) || (c >= 'A' && c <= 'Z')
}

func allIn(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// runOf reports whether s is at most max characters accepted by ok.
func runOf(s string, max int, ok func(byte) bool) bool { return len(s) <= max && allIn(s, ok) }

// validConstrained reports whether uri is one of the constrained canonical
// Digital Link forms: 00 / 01 / 01 21 / 01 10 / 01 235 / 253 / 255 / 401 /
// 402 / 414 / 414 254 / 417 / 8003 / 8004 / 8006 / 8006 21 / 8006 10 /
// 8010 / 8010 8011 / 8017 / 8018.
func validConstrained(uri string) bool {
	p, ok := strings.CutPrefix(uri, dlBase)
	if !ok {
		return false
	}
	key, v, ok := strings.Cut(p, "/")
	if !ok {
		return false
	}
	// qualified checks "<n digits>", optionally followed by a qualifier
	// segment "/q/" (one of quals) and a value of at most max[i] characters.
	qualified := func(n int, quals []string, max []int) bool {
		if len(v) < n || !allDigits(v[:n], n, n) {
			return false
		}
		rest := v[n:]
		if rest == "" {
			return true
		}
		for i, q := range quals {
			if val, ok := strings.CutPrefix(rest, q); ok {
				return runOf(val, max[i], dlChar)
			}
		}
		return false
	}
	switch key {
	case "00":
		return allDigits(v, 18, 18)
	case "01":
		return qualified(14, []string{"/21/", "/10/", "/235/"}, []int{20, 20, 28})
	case "253":
		return len(v) >= 13 && allDigits(v[:13], 13, 13) && runOf(v[13:], 17, dlChar)
	case "255":
		return allDigits(v, 13, 25)
	case "401", "8004":
		return runOf(v, 30, dlChar)
	case "402":
		return allDigits(v, 17, 17)
	case "414":
		return qualified(13, []string{"/254/"}, []int{20})
	case "417":
		return allDigits(v, 13, 13)
	case "8003":
		return len(v) >= 14 && allDigits(v[:14], 14, 14) && runOf(v[14:], 16, dlChar)
	case "8006":
		return qualified(18, []string{"/21/", "/10/"}, []int{20, 20})
	case "8010":
		if runOf(v, 30, cpiChar) {
			return true
		}
		for i := 0; ; {
			j := strings.Index(v[i:], "/8011/")
			if j < 0 {
				return false
			}
			if runOf(v[:i+j], 30, cpiChar) && allDigits(v[i+j+6:], 0, 12) {
				return true
			}
			i += j + 1
		}
	case "8017", "8018":
		return allDigits(v, 18, 18)
	}
	return false
}
