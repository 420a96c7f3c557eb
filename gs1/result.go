package gs1

import "strings"

// Element is one Application Identifier and its value, exactly as carried.
type Element struct {
	AI    string
	Value string
}

// Form is the input form a Result was parsed from.
type Form uint8

// The input forms.
const (
	FormElementString Form = iota + 1 // raw scanner data, with or without symbology identifier
	FormBracketed                     // human-readable "(01)...(21)..." text
	FormDigitalLink                   // GS1 Digital Link URI
	FormElements                      // built from elements by Options.Build
)

// Result is validated GS1 data. Elements holds every AI in the order it was
// carried (for Digital Link: primary key, key qualifiers in path order, then
// query attributes in query order). The named fields are shortcuts to the
// values of the AIs services use most; they are empty when the AI is absent.
// A Result never holds data that failed validation.
type Result struct {
	Elements []Element

	Form      Form
	Symbology Symbology // from the symbology identifier, SymbologyNone if there was none

	GTIN   string // (01), 14 digits
	Serial string // (21)
	Lot    string // (10)
	Expiry string // (17) YYMMDD exactly as encoded (DD may be 00); see ExpiryDate
	SSCC   string // (00), 18 digits

	GLN                string // (414) identification of a physical location
	GLNExtension       string // (254)
	ShipTo             string // (410)
	BillTo             string // (411)
	PurchasedFrom      string // (412)
	ShipFor            string // (413)
	PayTo              string // (415)
	ProductionLocation string // (416)
	Party              string // (417)

	// NHRN is the first national healthcare reimbursement number, AIs
	// (710) to (717): (710) PZN, (711) CIP, (712) CN, (713) DRN, (714) AIM,
	// (715) NDC, (716) AIC, (717) SRN.
	NHRN Element

	dict *Dictionary
	// unknownDLAttrs records that unknown AIs were permitted as Digital
	// Link data attributes when the Result was made.
	unknownDLAttrs bool
}

// Value returns the value of the first occurrence of ai.
func (r *Result) Value(ai string) (string, bool) {
	for _, el := range r.Elements {
		if el.AI == ai {
			return el.Value, true
		}
	}
	return "", false
}

// setField fills the shortcut field of an element, once per AI.
func (r *Result) setField(ai, v string) {
	var f *string
	switch ai {
	case "01":
		f = &r.GTIN
	case "21":
		f = &r.Serial
	case "10":
		f = &r.Lot
	case "17":
		f = &r.Expiry
	case "00":
		f = &r.SSCC
	case "414":
		f = &r.GLN
	case "254":
		f = &r.GLNExtension
	case "410":
		f = &r.ShipTo
	case "411":
		f = &r.BillTo
	case "412":
		f = &r.PurchasedFrom
	case "413":
		f = &r.ShipFor
	case "415":
		f = &r.PayTo
	case "416":
		f = &r.ProductionLocation
	case "417":
		f = &r.Party
	default:
		if len(ai) == 3 && ai[:2] == "71" && ai[2] <= '7' && r.NHRN.AI == "" {
			r.NHRN = Element{AI: ai, Value: v}
		}
		return
	}
	if *f == "" {
		*f = v
	}
}

// resultBlock lets a Result and room for a typical number of elements be
// allocated at once.
type resultBlock struct {
	r   Result
	buf [6]Element
}

// newResult builds the Result for validated elements.
func newResult(d *Dictionary, o *Options, form Form, sym Symbology, elems []elem) *Result {
	b := new(resultBlock)
	r := &b.r
	r.dict, r.Form, r.Symbology = d, form, sym
	r.unknownDLAttrs = o.PermitUnknownAIs && o.PermitUnknownDLAttributes
	r.Elements = b.buf[:0]
	for _, el := range elems {
		r.Elements = append(r.Elements, Element{AI: el.ai, Value: el.value})
		r.setField(el.ai, el.value)
	}
	return r
}

// Limits on input, to bound the work done for one request.
const (
	MaxAIs         = 64   // AIs in one message (the GS1 Syntax Engine's limit)
	MaxInputLength = 2048 // bytes of input of any form
)

// Options selects non-default behaviour. The zero value is strict: unknown
// AIs refused, AI associations checked, ambiguous run-on values refused.
type Options struct {
	// Dictionary is the AI table; nil means DefaultDictionary().
	Dictionary *Dictionary
	// PermitUnknownAIs accepts AIs absent from the dictionary where their
	// extent is known (bracketed, Digital Link, or raw data whose AI length
	// follows from its first two digits), as GS1's Syntax Engine does.
	PermitUnknownAIs bool
	// PermitUnknownDLAttributes also accepts unknown AIs as Digital Link
	// query attributes (needs PermitUnknownAIs).
	PermitUnknownDLAttributes bool
	// SkipAssociations turns off the checks between AIs: req= and ex=
	// pairings, repeated AIs with different values, (8030) key serials.
	SkipAssociations bool
	// PermitZeroSuppressedGTIN accepts GTIN-8, -12 and -13 for (01) in
	// Digital Link URIs, padding them to 14 digits.
	PermitZeroSuppressedGTIN bool
	// PermitConvenienceAlphas accepts Digital Link's alphabetic keys
	// ("gtin", "lot", "ser", ...) in URI paths and queries.
	PermitConvenienceAlphas bool
	// PermitAmbiguousRunOn accepts a raw variable-length value even though
	// inserting a GS inside it would also give a valid message, e.g. lot
	// "ABC12317260331" that may be lot ABC123 plus expiry (17) 260331. By
	// default such input is refused with RuleRunOn rather than guessed at.
	PermitAmbiguousRunOn bool
	// PermitQualifiersInQuery accepts a primary key's qualifiers (lot (10),
	// serial (21), …) as Digital Link query parameters, as in
	// https://example.com/01/{gtin}/21/{serial}?10={lot}&17={expiry}, which
	// packs in circulation carry although GS1 Digital Link puts qualifiers
	// in the path.
	PermitQualifiersInQuery bool
}

func (o Options) dictionary() (*Dictionary, error) {
	if o.Dictionary != nil {
		return o.Dictionary, nil
	}
	return DefaultDictionary()
}

// Parse recognises the form of s and parses it: a GS1 Digital Link URI
// (http:// or https://), bracketed text (starting with "("), or a raw element
// string with an optional symbology identifier ("]d2", "]Q3", ...) and GS
// (ASCII 29) separators. A trailing CR or LF, as keyboard-wedge scanners
// send, is ignored.
func (o Options) Parse(s string) (*Result, error) {
	s = strings.TrimRight(s, "\r\n")
	switch {
	case isDigitalLink(s):
		return o.ParseDigitalLink(s)
	case strings.HasPrefix(s, "("):
		return o.ParseBracketed(s)
	}
	return o.ParseElementString(s)
}

// Parse parses s in any of the three forms with strict default options.
func Parse(s string) (*Result, error) { return Options{}.Parse(s) }

// ParseElementString parses raw scanner data with strict default options.
func ParseElementString(s string) (*Result, error) { return Options{}.ParseElementString(s) }

// ParseBracketed parses "(01)...(10)..." text with strict default options.
func ParseBracketed(s string) (*Result, error) { return Options{}.ParseBracketed(s) }

// ParseDigitalLink parses a GS1 Digital Link URI with strict default options.
func ParseDigitalLink(uri string) (*Result, error) { return Options{}.ParseDigitalLink(uri) }

// Build validates elements given one by one (e.g. from master data) and
// returns them as a Result, ready to be rendered in any form.
func (o Options) Build(elements ...Element) (*Result, error) {
	d, err := o.dictionary()
	if err != nil {
		return nil, err
	}
	if len(elements) == 0 {
		return nil, newError("", RuleEmpty, "no AIs")
	}
	if len(elements) > MaxAIs {
		return nil, newError("", RuleLimit, "more than %d AIs", MaxAIs)
	}
	elems := make([]elem, 0, len(elements))
	for _, el := range elements {
		e := d.lookup(el.AI)
		if e == nil && o.PermitUnknownAIs {
			e = d.vivify(el.AI, len(el.AI))
		}
		if e == nil {
			return nil, unknownAI(el.AI)
		}
		if err := checkDelimited(e, el.Value); err != nil {
			return nil, err
		}
		elems = append(elems, elem{ai: e.ai, value: el.Value, e: e})
	}
	if err := o.associations(elems); err != nil {
		return nil, err
	}
	return newResult(d, &o, FormElements, SymbologyNone, elems), nil
}

func (o Options) associations(elems []elem) error {
	if o.SkipAssociations {
		return nil
	}
	if err := checkAssociations(elems); err != nil {
		return err
	}
	return nil
}

func unknownAI(ai string) *Error {
	return newError(ai, RuleUnknownAI, "unknown AI (%s)", ai)
}
