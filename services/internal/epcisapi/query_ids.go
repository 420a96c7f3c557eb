package epcisapi

import (
	"fmt"
	"strings"

	"github.com/pedigree-project/pedigree/gs1"
	"github.com/pedigree-project/pedigree/gs1/epc"
)

// vocabKind is a CBV vocabulary a query parameter names values of.
type vocabKind int

const (
	vocabBizStep vocabKind = iota
	vocabDisp
	vocabBTT
	vocabSDT
	vocabER
)

// vocabForms are the Web URI and URN prefixes of each vocabulary's
// standard values (CBV 2.0 section 6).
var vocabForms = [...]struct{ web, urn string }{
	vocabBizStep: {"https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:"},
	vocabDisp:    {"https://ref.gs1.org/cbv/Disp-", "urn:epcglobal:cbv:disp:"},
	vocabBTT:     {"https://ref.gs1.org/cbv/BTT-", "urn:epcglobal:cbv:btt:"},
	vocabSDT:     {"https://ref.gs1.org/cbv/SDT-", "urn:epcglobal:cbv:sdt:"},
	vocabER:      {"https://ref.gs1.org/cbv/ER-", "urn:epcglobal:cbv:er:"},
}

// vocabIRI returns the form a vocabulary value is compared in: a standard
// value, given as bare word, CBV URN, CURIE (cbv:BizStep-shipping) or Web
// URI, becomes its Web URI; any other URI (a custom value) is kept.
func vocabIRI(k vocabKind, v string) (string, error) {
	f := vocabForms[k]
	curie := "cbv:" + strings.TrimPrefix(f.web, "https://ref.gs1.org/cbv/")
	for _, prefix := range []string{f.web, f.urn, curie} {
		if w, ok := strings.CutPrefix(v, prefix); ok {
			if !bareWord(w) {
				return "", fmt.Errorf("%q: %q is not a vocabulary term", v, w)
			}
			return f.web + w, nil
		}
	}
	if bareWord(v) {
		return f.web + v, nil
	}
	if i := strings.IndexByte(v, ':'); i > 0 && !strings.ContainsAny(v, " \t") {
		return v, nil
	}
	return "", fmt.Errorf("a CBV term (bare word, URN or Web URI) or a URI, got %q", v)
}

// eventVocab is vocabIRI of a value read from an event (kept as it is when
// it is neither form).
func eventVocab(k vocabKind, v string) string {
	if iri, err := vocabIRI(k, v); err == nil {
		return iri
	}
	return v
}

func bareWord(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// canonID returns the form identifiers are compared in: an EPC URN or a
// GS1 Digital Link (any host) becomes the Digital Link under
// https://id.gs1.org of its key and key qualifiers (an SGTIN: GTIN-14 and
// serial, a lot or CPV beside the serial left out; an SGLN's extension 0
// is no extension); any other URI is kept as it is. A value that is no
// URI, or an EPC URN that breaks the Tag Data Standard, is an error.
func canonID(v string) (string, error) {
	if i := strings.IndexByte(v, ':'); i <= 0 || strings.ContainsAny(v, " \t") {
		return "", fmt.Errorf("a URI (an EPC URN or a GS1 Digital Link), got %q", v)
	}
	if strings.HasPrefix(v, "urn:epc:") {
		dl, err := epc.URNToDigitalLink(v, "")
		if err != nil {
			return "", fmt.Errorf("%q: %v", v, err)
		}
		v = dl
	}
	r, ok := digitalLink(v)
	if !ok {
		return v, nil
	}
	return canonDL(r, v), nil
}

// eventID is canonID of an identifier read from an event.
func eventCanonID(v string) string {
	if c, err := canonID(v); err == nil {
		return c
	}
	return v
}

// digitalLink parses v when it is an http(s) GS1 Digital Link.
func digitalLink(v string) (*gs1.Result, bool) {
	if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
		return nil, false
	}
	r, err := gs1.ParseDigitalLink(v)
	return r, err == nil
}

// canonDL renders r's key and qualifiers under the default stem; v when
// that fails.
func canonDL(r *gs1.Result, v string) string {
	els := r.Elements
	if r.GTIN != "" {
		els = []gs1.Element{{AI: "01", Value: strings.Repeat("0", max(0, 14-len(r.GTIN))) + r.GTIN}}
		switch {
		case r.Serial != "":
			els = append(els, gs1.Element{AI: "21", Value: r.Serial})
		case r.Lot != "":
			els = append(els, gs1.Element{AI: "10", Value: r.Lot})
		}
	}
	out, err := (&gs1.Result{Elements: els}).DigitalLink("")
	if err != nil {
		return v
	}
	return out
}

// matchOf reads a MATCH_ value: an identifier (canonID), or an EPC
// pattern URN (urn:epc:idpat:…*), which matches the instances of its
// class.
func matchOf(v string) (idMatch, error) {
	if strings.HasPrefix(v, "urn:epc:idpat:") {
		e, err := epc.ParseURN(v)
		if err != nil {
			return idMatch{}, fmt.Errorf("%q: %v", v, err)
		}
		dl, err := e.DigitalLink("")
		if err != nil {
			return idMatch{}, fmt.Errorf("%q: %v", v, err)
		}
		r, ok := digitalLink(dl)
		if !ok {
			return idMatch{}, fmt.Errorf("%q: no Digital Link equivalent", v)
		}
		return idMatch{id: canonDL(r, dl) + "/", pattern: true}, nil
	}
	c, err := canonID(v)
	if err != nil {
		return idMatch{}, err
	}
	return idMatch{id: c}, nil
}

// indexKey says how the node's indexes find the events naming a
// canonical identifier: a pack (GTIN and serial), a container (SSCC) or a
// class (GTIN and lot); kind 0 when they do not (no such identifier is
// ever recorded: FromEPCIS refuses every other).
type indexKey struct {
	kind               byte // 'p', 'c', 'l' or 0
	gtin, serial, sscc string
	lot                string
}

func indexKeyOf(m idMatch) indexKey {
	if m.pattern {
		return indexKey{}
	}
	r, ok := digitalLink(m.id)
	if !ok {
		return indexKey{}
	}
	switch {
	case r.SSCC != "":
		return indexKey{kind: 'c', sscc: r.SSCC}
	case len(r.GTIN) == 14 && r.Serial != "":
		return indexKey{kind: 'p', gtin: r.GTIN, serial: r.Serial}
	case len(r.GTIN) == 14 && r.Lot != "":
		return indexKey{kind: 'l', gtin: r.GTIN, lot: r.Lot}
	}
	return indexKey{}
}
