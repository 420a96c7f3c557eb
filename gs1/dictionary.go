package gs1

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// embeddedDictionary is GS1's Barcode Syntax Dictionary (Apache-2.0, see
// LICENSE-gs1-syntax-dictionary), the single source of the AI table.
//
//go:embed gs1-syntax-dictionary.txt
var embeddedDictionary string

// defaultDictionary parses the embedded dictionary once, on first use.
var defaultDictionary = sync.OnceValues(func() (*Dictionary, error) {
	return ParseDictionary(embeddedDictionary)
})

// DefaultDictionary returns the AI table built from the embedded GS1 Barcode
// Syntax Dictionary. It is parsed once; the returned value is shared and must
// be treated as read-only (it has no exported mutators).
func DefaultDictionary() (*Dictionary, error) { return defaultDictionary() }

// charset is the character set of one component of an AI value.
type charset uint8

const (
	csetN charset = iota + 1 // digits
	csetX                    // GS1 AI encodable character set 82
	csetY                    // GS1 AI encodable character set 39
	csetZ                    // GS1 AI encodable character set 64 (base64url)
)

// component is one part of an AI's format specification, e.g. "N13,csum".
type component struct {
	cset     charset
	min, max int
	optional bool
	linters  []linterRef
}

// linterRef names a linter and holds its implementation.
type linterRef struct {
	name string
	fn   linterFunc
}

// pattern is an AI pattern from a req= or ex= attribute: a digit prefix
// followed by "n" wildcards, e.g. "31nn". It matches AIs of the same length
// that start with the prefix; a pattern without a digit prefix matches nothing.
type pattern struct {
	prefix string
	length int
}

func (p pattern) String() string { return p.prefix + strings.Repeat("n", p.length-len(p.prefix)) }

func (p pattern) matches(ai string) bool {
	return len(p.prefix) > 0 && len(ai) == p.length && strings.HasPrefix(ai, p.prefix)
}

// entry is the definition of one AI.
type entry struct {
	ai      string
	title   string
	fixed   bool // "*": predefined length, never followed by FNC1
	dlAttr  bool // "?": permitted as a Digital Link data attribute
	unknown bool // vivified for an AI not in the dictionary
	comps   []component
	minLen  int // sum of the minimum lengths of the mandatory components
	maxLen  int // sum of the maximum lengths of all components
	req     [][][]pattern
	ex      []pattern
	dlPKey  bool
	dlQuals [][]string // alternative ordered qualifier sequences
	reqText []string   // req= attribute values as written, for messages
	exText  string
}

// Dictionary is an immutable AI table. Build one with ParseDictionary or use
// DefaultDictionary. A Dictionary is safe for concurrent use.
type Dictionary struct {
	entries []*entry
	byAI    map[string]*entry
	// Fast lookups by the numeric value of a 2-, 3- or 4-digit AI.
	idx2 [100]*entry
	idx3 [1000]*entry
	idx4 [10000]*entry
	// aiLen is the AI length shared by every AI starting with the same two
	// digits (0 if no AI starts with them).
	aiLen [100]uint8
	// dlKeys lists the Digital Link primary keys in dictionary order.
	dlKeys []string
}

// ParseDictionary parses text in the GS1 Barcode Syntax Dictionary format.
func ParseDictionary(text string) (*Dictionary, error) {
	d := &Dictionary{byAI: make(map[string]*entry, 600)}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		es, err := parseDictLine(line)
		if err != nil {
			return nil, fmt.Errorf("gs1: dictionary line %d: %w", n+1, err)
		}
		for _, e := range es {
			if _, dup := d.byAI[e.ai]; dup {
				return nil, fmt.Errorf("gs1: dictionary line %d: AI (%s) defined twice", n+1, e.ai)
			}
			p := (e.ai[0]-'0')*10 + e.ai[1] - '0'
			if d.aiLen[p] != 0 && int(d.aiLen[p]) != len(e.ai) {
				return nil, fmt.Errorf("gs1: dictionary line %d: AIs starting %s have different lengths", n+1, e.ai[:2])
			}
			d.aiLen[p] = uint8(len(e.ai))
			d.byAI[e.ai] = e
			d.entries = append(d.entries, e)
			v, _ := strconv.Atoi(e.ai)
			switch len(e.ai) {
			case 2:
				d.idx2[v] = e
			case 3:
				d.idx3[v] = e
			case 4:
				d.idx4[v] = e
			}
			if e.dlPKey {
				d.dlKeys = append(d.dlKeys, e.ai)
			}
		}
	}
	if len(d.entries) == 0 {
		return nil, fmt.Errorf("gs1: dictionary has no entries")
	}
	return d, nil
}

// parseDictLine parses one entry line, expanding an AI range.
func parseDictLine(line string) ([]*entry, error) {
	title := ""
	if i := strings.IndexByte(line, '#'); i >= 0 {
		title = strings.TrimSpace(line[i+1:])
		line = line[:i]
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return nil, fmt.Errorf("too few fields")
	}
	lo, hi, err := parseAIRange(f[0])
	if err != nil {
		return nil, err
	}
	proto := &entry{title: title}
	i := 1
	if isFlags(f[1]) {
		proto.fixed = strings.Contains(f[1], "*")
		proto.dlAttr = strings.Contains(f[1], "?")
		i++
	}
	for ; i < len(f) && isComponent(f[i]); i++ {
		c, err := parseComponent(f[i])
		if err != nil {
			return nil, err
		}
		if len(proto.comps) > 0 {
			prev := proto.comps[len(proto.comps)-1]
			if prev.optional && !c.optional {
				return nil, fmt.Errorf("mandatory component %q after an optional one", f[i])
			}
		}
		proto.comps = append(proto.comps, c)
		if !c.optional {
			proto.minLen += c.min
		}
		proto.maxLen += c.max
	}
	if len(proto.comps) == 0 {
		return nil, fmt.Errorf("no format specification")
	}
	for ; i < len(f); i++ {
		if err := proto.parseAttr(f[i]); err != nil {
			return nil, err
		}
	}
	width := len(f[0][:strings.IndexAny(f[0]+"-", "-")])
	var out []*entry
	for v := lo; v <= hi; v++ {
		e := *proto
		e.ai = fmt.Sprintf("%0*d", width, v)
		out = append(out, &e)
	}
	return out, nil
}

func parseAIRange(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if !isRange {
		b = a
	}
	if len(a) < 2 || len(a) > 4 || len(b) != len(a) || !allDigits(a) || !allDigits(b) {
		return 0, 0, fmt.Errorf("bad AI %q", s)
	}
	lo, _ = strconv.Atoi(a)
	hi, _ = strconv.Atoi(b)
	if hi < lo {
		return 0, 0, fmt.Errorf("bad AI range %q", s)
	}
	return lo, hi, nil
}

func isFlags(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(`*!?"$%&'()+,-./:;<=>@[\]^_`+"`{|}~", rune(s[i])) {
			return false
		}
	}
	return !strings.HasPrefix(s, "[")
}

func isComponent(s string) bool {
	s = strings.TrimPrefix(s, "[")
	return len(s) > 1 && strings.ContainsRune("NXYZ", rune(s[0])) && (s[1] == '.' || (s[1] >= '0' && s[1] <= '9'))
}

// parseComponent parses e.g. "N13,csum,gcppos1", "X..20", "[N..12]" or "[N3],iso3166".
func parseComponent(s string) (component, error) {
	var c component
	parts := strings.Split(s, ",")
	spec := parts[0]
	if strings.HasPrefix(spec, "[") {
		if !strings.HasSuffix(spec, "]") {
			return c, fmt.Errorf("bad optional component %q", s)
		}
		c.optional = true
		spec = spec[1 : len(spec)-1]
	}
	switch spec[0] {
	case 'N':
		c.cset = csetN
	case 'X':
		c.cset = csetX
	case 'Y':
		c.cset = csetY
	case 'Z':
		c.cset = csetZ
	}
	length := spec[1:]
	var err error
	if rest, ok := strings.CutPrefix(length, ".."); ok {
		c.min = 1
		c.max, err = strconv.Atoi(rest)
	} else {
		c.max, err = strconv.Atoi(length)
		c.min = c.max
	}
	if err != nil || c.max < 1 {
		return c, fmt.Errorf("bad component length %q", s)
	}
	for _, name := range parts[1:] {
		fn, ok := linterTable[name]
		if !ok {
			return c, fmt.Errorf("unknown linter %q", name)
		}
		c.linters = append(c.linters, linterRef{name: name, fn: fn})
	}
	return c, nil
}

func (e *entry) parseAttr(a string) error {
	key, val, _ := strings.Cut(a, "=")
	switch key {
	case "req":
		var group [][]pattern
		for _, alt := range strings.Split(val, ",") {
			var all []pattern
			for _, p := range strings.Split(alt, "+") {
				pt, err := parsePattern(p)
				if err != nil {
					return err
				}
				all = append(all, pt)
			}
			group = append(group, all)
		}
		e.req = append(e.req, group)
		e.reqText = append(e.reqText, val)
	case "ex":
		for _, p := range strings.Split(val, ",") {
			pt, err := parsePattern(p)
			if err != nil {
				return err
			}
			e.ex = append(e.ex, pt)
		}
		if e.exText != "" {
			e.exText += ","
		}
		e.exText += val
	case "dlpkey":
		e.dlPKey = true
		if val != "" {
			for _, alt := range strings.Split(val, "|") {
				e.dlQuals = append(e.dlQuals, strings.Split(alt, ","))
			}
		}
	default:
		// Attributes this package does not use are ignored, as the
		// dictionary format allows new keys to be added.
	}
	return nil
}

func parsePattern(s string) (pattern, error) {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if len(s) < 2 || len(s) > 4 || strings.Trim(s[n:], "n") != "" {
		return pattern{}, fmt.Errorf("bad AI pattern %q", s)
	}
	return pattern{prefix: s[:n], length: len(s)}, nil
}

// lookup returns the entry for an exact AI.
func (d *Dictionary) lookup(ai string) *entry {
	switch len(ai) {
	case 2, 3, 4:
		v := 0
		for i := 0; i < len(ai); i++ {
			c := ai[i]
			if c < '0' || c > '9' {
				return nil
			}
			v = v*10 + int(c-'0')
		}
		switch len(ai) {
		case 2:
			return d.idx2[v]
		case 3:
			return d.idx3[v]
		default:
			return d.idx4[v]
		}
	}
	return nil
}

// prefixAILen returns the AI length implied by the first two digits of s,
// or 0 if no AI starts with them.
func (d *Dictionary) prefixAILen(s string) int {
	if len(s) < 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0
	}
	return int(d.aiLen[(s[0]-'0')*10+s[1]-'0'])
}

// lookupPrefix returns the entry of the known AI that starts s.
func (d *Dictionary) lookupPrefix(s string) *entry {
	n := d.prefixAILen(s)
	if n == 0 || len(s) < n {
		return nil
	}
	return d.lookup(s[:n])
}

// Known reports whether ai is defined in the dictionary.
func (d *Dictionary) Known(ai string) bool { return d.lookup(ai) != nil }

// Title returns the dictionary's title of ai (e.g. "BATCH/LOT"), or "" if the
// AI is unknown.
func (d *Dictionary) Title(ai string) string {
	if e := d.lookup(ai); e != nil {
		return e.title
	}
	return ""
}

// predefinedLen is GS1's table of AI prefixes with a predefined value length
// (General Specifications, "predefined length" table). It decides whether a
// vivified unknown AI needs an FNC1 separator.
var predefinedLen = map[string]int{
	"00": 18, "01": 14, "02": 14, "03": 14, "04": 16,
	"11": 6, "12": 6, "13": 6, "14": 6, "15": 6, "16": 6, "17": 6, "18": 6, "19": 6, "20": 2,
	"31": 6, "32": 6, "33": 6, "34": 6, "35": 6, "36": 6, "41": 13,
}

// vivify returns a pseudo entry for an AI absent from the dictionary, as the
// GS1 Syntax Engine does when unknown AIs are permitted. ailen is the length
// of the AI if it is delimited (bracketed or URI input), or 0 when the AI must
// be recognised as a prefix of raw data; nil means it cannot be accepted.
func (d *Dictionary) vivify(s string, ailen int) *entry {
	if len(s) < 2 || !allDigits(s[:2]) {
		return nil
	}
	byPrefix := d.prefixAILen(s)
	switch {
	case ailen == 0 && byPrefix == 0:
		return nil // length of the AI cannot be known in raw data
	case ailen == 0:
		ailen = byPrefix
	case byPrefix != 0 && byPrefix != ailen:
		return nil
	}
	if ailen < 2 || ailen > 4 || len(s) < ailen || !allDigits(s[:ailen]) || d.lookup(s[:ailen]) != nil {
		return nil
	}
	e := &entry{ai: s[:ailen], title: "UNKNOWN", unknown: true}
	c := component{cset: csetX, min: 1, max: 90}
	if n, ok := predefinedLen[s[:2]]; ok && byPrefix != 0 && fixedCombo(ailen, n) {
		c.min, c.max = n, n
		e.fixed = true
	}
	e.comps = []component{c}
	e.minLen, e.maxLen = c.min, c.max
	return e
}

// fixedCombo reports the AI-length/value-length pairs for which the Syntax
// Engine vivifies an unknown AI as predefined-length.
func fixedCombo(ailen, vallen int) bool {
	switch ailen {
	case 2:
		return vallen == 2 || vallen == 14 || vallen == 16 || vallen == 18
	case 3:
		return vallen == 13
	case 4:
		return vallen == 6
	}
	return false
}
