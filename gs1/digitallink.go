package gs1

import (
	"strings"
)

// DefaultDigitalLinkStem is the stem used when none is given: GS1's resolver.
const DefaultDigitalLinkStem = "https://id.gs1.org"

// convenienceAlphas are Digital Link's alphabetic short names for AIs
// (GS1 Digital Link standard 1.1), accepted with PermitConvenienceAlphas.
var convenienceAlphas = map[string]string{
	"sscc": "00", "gtin": "01", "lot": "10", "exp": "17", "ser": "21", "cpv": "22",
	"gdti": "253", "glnx": "254", "gcn": "255", "ginc": "401", "gsin": "402",
	"gln": "414", "payto": "415", "party": "417", "expdt": "7003", "grai": "8003",
	"giai": "8004", "itip": "8006", "cpid": "8010", "cpsn": "8011", "gmn": "8013",
	"gsrnp": "8017", "gsrn": "8018", "srin": "8019", "refno": "8020",
}

// dlSchemes are the URI schemes of Digital Link, in either case but not mixed.
var dlSchemes = [...]string{"https://", "http://", "HTTPS://", "HTTP://"}

// isDigitalLink reports whether s looks like an http(s) URI (in any case, so
// that a mixed-case scheme gets a precise error from ParseDigitalLink).
func isDigitalLink(s string) bool {
	for _, p := range [...]string{"https://", "http://"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return true
		}
	}
	return false
}

// uriChar marks the bytes allowed anywhere in a URI (RFC 3986).
var uriChar = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?#%[]" {
		t[c] = true
	}
	return t
}()

// hostChar marks the bytes accepted in a Digital Link host (names, IPv4,
// bracketed IPv6 without zone, and a port).
var hostChar = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:[]" {
		t[c] = true
	}
	return t
}()

func dlError(format string, args ...any) *Error {
	return newError("", RuleDigitalLink, format, args...)
}

// splitURI checks the scheme, characters and host of a Digital Link URI and
// returns its path (starting with "/") and query, without the fragment.
func splitURI(uri string) (stem, path, query string, err *Error) {
	rest, found := "", false
	for _, sc := range dlSchemes {
		if strings.HasPrefix(uri, sc) {
			rest, found = uri[len(sc):], true
			break
		}
	}
	if !found {
		if isDigitalLink(uri) {
			return "", "", "", dlError("URI scheme must be http or https in one case: %s", sq(uri))
		}
		return "", "", "", dlError("not an http(s) URI: %s", sq(uri))
	}
	for i := 0; i < len(rest); i++ {
		if !uriChar[rest[i]] {
			return "", "", "", dlError("character %s is not allowed in a URI", sq(rest[i:i+1]))
		}
	}
	rest, _, _ = strings.Cut(rest, "#")
	rest, query, _ = strings.Cut(rest, "?")
	slash := strings.IndexByte(rest, '/')
	if slash <= 0 {
		return "", "", "", dlError("URI %s has no host and path", sq(uri))
	}
	for i := 0; i < slash; i++ {
		if !hostChar[rest[i]] {
			return "", "", "", dlError("character %s is not allowed in a URI host", sq(rest[i:i+1]))
		}
	}
	return uri[:len(uri)-len(rest)] + rest[:slash], rest[slash:], query, nil
}

// ParseDigitalLink parses a GS1 Digital Link URI: any scheme-host-path stem,
// then the primary key and its key qualifiers as path segments in the order
// the dictionary allows, then data attributes in the query. Query parameters
// that are not numeric are ignored; percent-encoding is decoded ("+" is a
// space in the query only). Each AI may appear once.
func (o Options) ParseDigitalLink(uri string) (*Result, error) {
	d, err := o.dictionary()
	if err != nil {
		return nil, err
	}
	if len(uri) > MaxInputLength {
		return nil, newError("", RuleLimit, "input longer than %d bytes", MaxInputLength)
	}
	_, path, query, perr := splitURI(uri)
	if perr != nil {
		return nil, perr
	}
	var buf [16]elem
	elems, perr := o.dlPath(d, path, buf[:0])
	if perr != nil {
		return nil, perr
	}
	if elems, perr = o.dlQuery(d, query, elems); perr != nil {
		return nil, perr
	}
	for i := range elems {
		for j := i + 1; j < len(elems); j++ {
			if elems[i].ai == elems[j].ai {
				return nil, newError(elems[i].ai, RuleRepeat, "(%s) appears more than once in the URI", elems[i].ai)
			}
		}
	}
	if err := o.associations(elems); err != nil {
		return nil, err
	}
	return newResult(d, &o, FormDigitalLink, SymbologyNone, elems), nil
}

// dlKey resolves a path or query key to an AI.
func (o Options) dlKey(key string) string {
	if allDigits(key) {
		return key
	}
	if o.PermitConvenienceAlphas {
		return convenienceAlphas[key]
	}
	return ""
}

// dlValue decodes and validates one value.
func (o Options) dlValue(e *entry, raw string, query bool) (string, *Error) {
	v := unescape(raw, query)
	if e.ai == "01" && o.PermitZeroSuppressedGTIN && allDigits(v) && (len(v) == 8 || len(v) == 12 || len(v) == 13) {
		v = strings.Repeat("0", 14-len(v)) + v
	}
	if err := checkDelimited(e, v); err != nil {
		return "", err
	}
	return v, nil
}

// dlPath finds the rightmost primary key in the path and reads it and its
// qualifiers.
func (o Options) dlPath(d *Dictionary, path string, elems []elem) ([]elem, *Error) {
	var segBuf [24]string
	segs := splitSegments(path[1:], segBuf[:0])
	start := -1
	for i := len(segs) - 2; i >= 0; i -= 2 {
		ai := o.dlKey(segs[i])
		e := d.lookup(ai)
		if e == nil {
			break
		}
		if e.dlPKey {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, dlError("no GS1 primary key found in URI path %s", sq(path))
	}
	var qualBuf [8]string
	quals := qualBuf[:0]
	for i := start; i+1 < len(segs); i += 2 {
		e := d.lookup(o.dlKey(segs[i]))
		if segs[i+1] == "" {
			return nil, newError(e.ai, RuleEmpty, "(%s) has no value in the URI path", e.ai)
		}
		v, err := o.dlValue(e, segs[i+1], false)
		if err != nil {
			return nil, err
		}
		if i > start {
			quals = append(quals, e.ai)
		}
		elems = append(elems, elem{ai: e.ai, value: v, e: e})
	}
	if len(segs)%2 != start%2 {
		return nil, dlError("URI path %s does not end with an AI value", sq(path))
	}
	pk := elems[len(elems)-len(quals)-1].e
	if len(quals) > 0 && compatibleQuals(pk, quals) == 0 {
		return nil, dlError("key qualifiers %s are not allowed, or not in the allowed order, after (%s)", describeAIs(quals), pk.ai)
	}
	return elems, nil
}

// splitSegments splits a URI path on "/" into buf.
func splitSegments(path string, buf []string) []string {
	for {
		i := strings.IndexByte(path, '/')
		if i < 0 {
			return append(buf, path)
		}
		buf = append(buf, path[:i])
		path = path[i+1:]
	}
}

// altSet is a set of a primary key's qualifier sequences, by index.
type altSet uint32

// compatibleQuals returns the qualifier sequences of pk that contain quals in
// order.
func compatibleQuals(pk *entry, quals []string) altSet {
	var out altSet
	for n, alt := range pk.dlQuals {
		i := 0
		for _, q := range alt {
			if i < len(quals) && quals[i] == q {
				i++
			}
		}
		if i == len(quals) && n < 32 {
			out |= 1 << n
		}
	}
	return out
}

func describeAIs(ais []string) string {
	return "(" + strings.Join(ais, ")(") + ")"
}

// dlQuery reads data attributes from the query.
func (o Options) dlQuery(d *Dictionary, query string, elems []elem) ([]elem, *Error) {
	pkIdx := 0
	var qualBuf [8]string
	quals := qualBuf[:0]
	for _, el := range elems[1:] {
		quals = append(quals, el.ai)
	}
	pk := elems[pkIdx].e
	alts := compatibleQuals(pk, quals)
	for query != "" {
		var param string
		param, query, _ = strings.Cut(query, "&")
		key, raw, hasValue := strings.Cut(param, "=")
		if !hasValue {
			continue // singleton parameters are not GS1 data
		}
		ai := o.dlKey(key)
		if ai == "" {
			continue // non-GS1 parameter
		}
		e := d.lookup(ai)
		if e == nil && o.PermitUnknownAIs && o.PermitUnknownDLAttributes {
			e = d.vivify(ai, len(ai))
		}
		switch {
		case e == nil:
			return nil, newError(ai, RuleUnknownAI, "unknown AI (%s) in URI query", ai)
		case !e.dlAttr && !e.unknown:
			return nil, newError(ai, RuleDigitalLink, "(%s) is not permitted as a Digital Link data attribute", ai)
		case !o.PermitQualifiersInQuery && isQualifier(pk, alts, ai):
			return nil, newError(ai, RuleDigitalLink, "(%s) is a key qualifier of (%s) and must be in the URI path", ai, elems[pkIdx].ai)
		case raw == "":
			return nil, newError(ai, RuleEmpty, "(%s) has no value in the URI query", ai)
		}
		v, err := o.dlValue(e, raw, true)
		if err != nil {
			return nil, err
		}
		if len(elems) == MaxAIs {
			return nil, newError("", RuleLimit, "more than %d AIs", MaxAIs)
		}
		elems = append(elems, elem{ai: e.ai, value: v, e: e})
	}
	return elems, nil
}

// isQualifier reports whether ai is in one of the qualifier sequences alts
// of pk.
func isQualifier(pk *entry, alts altSet, ai string) bool {
	for n, alt := range pk.dlQuals {
		if n >= 32 || alts&(1<<n) == 0 {
			continue
		}
		for _, q := range alt {
			if q == ai {
				return true
			}
		}
	}
	return false
}

// allAlts is the set of every qualifier sequence.
const allAlts = ^altSet(0)

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// unescape decodes %hh sequences (invalid ones are kept as they are) and, in
// a query, "+" as a space.
func unescape(s string, query bool) string {
	if strings.IndexByte(s, '%') < 0 && (!query || strings.IndexByte(s, '+') < 0) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case c == '+' && query:
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// escape percent-encodes every byte outside RFC 3986's unreserved set; in a
// query a space becomes "+".
func escape(s string, query bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', isDigit(c), c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		case c == ' ' && query:
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
