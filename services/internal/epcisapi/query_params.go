package epcisapi

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pedigree-project/pedigree/epcis"
)

// Bounds of a query's parameters.
const (
	// DefaultPerPage is the page size when perPage is absent (the
	// binding's default).
	DefaultPerPage = 30
	// MaxPerPage is the largest perPage taken.
	MaxPerPage = 1000
	maxParams  = 64   // parameters in one query
	maxValues  = 100  // values of one parameter
	maxValue   = 2048 // bytes of one value
)

// ParamError refuses a query parameter: Param names it, Msg says why.
type ParamError struct {
	Param string
	Msg   string
}

func (e *ParamError) Error() string { return "query: " + e.Param + ": " + e.Msg }

// Params is a parsed EPCIS query (EPCIS 2.0 section 8.2.7.1, SimpleEventQuery,
// in the REST binding's query string). Every list is a disjunction; the
// parameters are a conjunction. Vocabulary values are held as CBV Web
// URIs (see vocabIRI), identifiers in their canonical form (canonID), so
// that a value given as a bare word, a CBV URN, an EPC URN or a GS1
// Digital Link matches the event whichever form it was captured in.
type Params struct {
	EventTypes                 []epcis.EventType
	GEEventTime, LTEventTime   *time.Time
	GERecordTime, LTRecordTime *time.Time
	Actions                    []string
	BizSteps, Dispositions     []string
	ReadPoints, BizLocations   []string
	EPCs, ParentIDs            []idMatch
	InputEPCs, OutputEPCs      []idMatch
	AnyEPCs, EPCClasses        []idMatch
	BizTransactions            map[string][]string // CBV type IRI → values
	Sources, Destinations      map[string][]string // CBV type IRI → canonical IDs
	EventIDs                   []string
	PerPage                    int
	PageToken                  string
	Stream                     bool
	canonical                  []string // the filters, for binding page tokens
}

// idMatch is one identifier a MATCH_ parameter names: an exact canonical
// ID, or a pattern (an EPC idpat URN) that matches every ID starting with
// prefix.
type idMatch struct {
	id      string
	pattern bool
}

func (m idMatch) matches(canon string) bool {
	if m.pattern {
		return strings.HasPrefix(canon, m.id)
	}
	return canon == m.id
}

// ParseParams reads a query string. An unknown parameter, or a value
// that is malformed for its parameter, is a *ParamError naming it.
func ParseParams(q url.Values) (*Params, error) {
	if len(q) > maxParams {
		return nil, &ParamError{Param: "query", Msg: fmt.Sprintf("at most %d parameters, got %d", maxParams, len(q))}
	}
	p := &Params{PerPage: DefaultPerPage}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := p.set(name, q[name]); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// split returns the values of a parameter: each occurrence split at '|'
// (the binding's pipeDelimited style) and, when commas is set, at ','
// too (never for identifiers, whose serials may hold commas).
func split(name string, raw []string, commas bool) ([]string, error) {
	var out []string
	for _, r := range raw {
		for _, v := range strings.FieldsFunc(r, func(c rune) bool { return c == '|' || (commas && c == ',') }) {
			v = strings.TrimSpace(v)
			switch {
			case v == "":
				continue
			case len(v) > maxValue:
				return nil, &ParamError{Param: name, Msg: fmt.Sprintf("a value longer than %d bytes", maxValue)}
			case strings.ContainsFunc(v, func(c rune) bool { return c < 0x20 || c == 0x7f }):
				return nil, &ParamError{Param: name, Msg: "a value holds a control character"}
			}
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, &ParamError{Param: name, Msg: "no value"}
	}
	if len(out) > maxValues {
		return nil, &ParamError{Param: name, Msg: fmt.Sprintf("at most %d values, got %d", maxValues, len(out))}
	}
	return out, nil
}

// set reads one parameter into p.
func (p *Params) set(name string, raw []string) error {
	switch name {
	case "":
		return &ParamError{Param: "query", Msg: "a parameter without a name"}
	case "perPage":
		return p.setPerPage(raw)
	case "nextPageToken":
		if len(raw) != 1 || raw[0] == "" {
			return &ParamError{Param: name, Msg: "one token"}
		}
		p.PageToken = raw[0]
		return nil
	case "stream":
		if len(raw) != 1 || (raw[0] != "true" && raw[0] != "false") {
			return &ParamError{Param: name, Msg: "true or false"}
		}
		p.Stream = raw[0] == "true"
		return nil
	}
	commas := name == "eventType" || name == "EQ_action" || name == "EQ_bizStep" || name == "EQ_disposition"
	vals, err := split(name, raw, commas)
	if err != nil {
		return err
	}
	if err := p.setFilter(name, vals); err != nil {
		return err
	}
	p.canonical = append(p.canonical, name+"="+strings.Join(vals, "|"))
	return nil
}

func (p *Params) setPerPage(raw []string) error {
	if len(raw) != 1 {
		return &ParamError{Param: "perPage", Msg: "one value"}
	}
	n, err := strconv.Atoi(raw[0])
	if err != nil || n < 1 || n > MaxPerPage {
		return &ParamError{Param: "perPage", Msg: fmt.Sprintf("an integer 1–%d, got %q", MaxPerPage, raw[0])}
	}
	p.PerPage = n
	return nil
}

// setFilter reads one filter parameter's values into p.
func (p *Params) setFilter(name string, vals []string) error {
	var err error
	switch name {
	case "eventType":
		for _, v := range vals {
			t := epcis.EventType(v)
			if !t.Valid() {
				return &ParamError{Param: name, Msg: fmt.Sprintf("ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent or AssociationEvent, got %q", v)}
			}
			p.EventTypes = append(p.EventTypes, t)
		}
	case "GE_eventTime":
		p.GEEventTime, err = timeParam(name, vals)
	case "LT_eventTime":
		p.LTEventTime, err = timeParam(name, vals)
	case "GE_recordTime":
		p.GERecordTime, err = timeParam(name, vals)
	case "LT_recordTime":
		p.LTRecordTime, err = timeParam(name, vals)
	case "EQ_action":
		for _, v := range vals {
			if v != "ADD" && v != "OBSERVE" && v != "DELETE" {
				return &ParamError{Param: name, Msg: fmt.Sprintf("ADD, OBSERVE or DELETE, got %q", v)}
			}
		}
		p.Actions = vals
	case "EQ_bizStep":
		p.BizSteps, err = vocabParam(name, vals, vocabBizStep)
	case "EQ_disposition":
		p.Dispositions, err = vocabParam(name, vals, vocabDisp)
	case "EQ_readPoint":
		p.ReadPoints, err = idParam(name, vals)
	case "EQ_bizLocation":
		p.BizLocations, err = idParam(name, vals)
	case "MATCH_epc":
		p.EPCs, err = matchParam(name, vals)
	case "MATCH_parentID":
		p.ParentIDs, err = matchParam(name, vals)
	case "MATCH_inputEPC":
		p.InputEPCs, err = matchParam(name, vals)
	case "MATCH_outputEPC":
		p.OutputEPCs, err = matchParam(name, vals)
	case "MATCH_anyEPC":
		p.AnyEPCs, err = matchParam(name, vals)
	case "MATCH_epcClass":
		p.EPCClasses, err = matchParam(name, vals)
	case "EQ_eventID":
		p.EventIDs = vals
	default:
		return p.setTyped(name, vals)
	}
	return err
}

// setTyped reads the parameters whose name carries a type:
// EQ_bizTransaction_<type>, EQ_source_<type>, EQ_destination_<type>.
func (p *Params) setTyped(name string, vals []string) error {
	for _, t := range []struct {
		prefix string
		kind   vocabKind
		dst    *map[string][]string
		ids    bool
	}{
		{"EQ_bizTransaction_", vocabBTT, &p.BizTransactions, false},
		{"EQ_source_", vocabSDT, &p.Sources, true},
		{"EQ_destination_", vocabSDT, &p.Destinations, true},
	} {
		typ, ok := strings.CutPrefix(name, t.prefix)
		if !ok {
			continue
		}
		if typ == "" {
			return &ParamError{Param: name, Msg: "the type is missing from the parameter's name"}
		}
		iri, err := vocabIRI(t.kind, typ)
		if err != nil {
			return &ParamError{Param: name, Msg: err.Error()}
		}
		if t.ids {
			if vals, err = idParam(name, vals); err != nil {
				return err
			}
		}
		if *t.dst == nil {
			*t.dst = map[string][]string{}
		}
		(*t.dst)[iri] = append((*t.dst)[iri], vals...)
		return nil
	}
	return &ParamError{Param: name, Msg: "not a query parameter this repository supports"}
}

// timeParam reads a date-time parameter (RFC 3339 with a time zone).
func timeParam(name string, vals []string) (*time.Time, error) {
	if len(vals) != 1 {
		return nil, &ParamError{Param: name, Msg: "one date-time"}
	}
	t, err := time.Parse(time.RFC3339Nano, vals[0])
	if err != nil {
		return nil, &ParamError{Param: name, Msg: fmt.Sprintf("an RFC 3339 date-time with a time zone, got %q", vals[0])}
	}
	return &t, nil
}

// each reads every value of parameter name with read.
func each[T any](name string, vals []string, read func(string) (T, error)) ([]T, error) {
	out := make([]T, len(vals))
	for i, v := range vals {
		var err error
		if out[i], err = read(v); err != nil {
			return nil, &ParamError{Param: name, Msg: err.Error()}
		}
	}
	return out, nil
}

func vocabParam(name string, vals []string, k vocabKind) ([]string, error) {
	return each(name, vals, func(v string) (string, error) { return vocabIRI(k, v) })
}

func idParam(name string, vals []string) ([]string, error) { return each(name, vals, canonID) }

func matchParam(name string, vals []string) ([]idMatch, error) { return each(name, vals, matchOf) }

// filters returns the query's filters in a fixed order, perPage and the
// page token left out: what a page token is bound to.
func (p *Params) filters() []string { return p.canonical }
