package envelope

// The identifier reading FromEPCIS needs, kept to one file so that the
// gs1/epc package (full EPC URN <-> Digital Link translation) can replace
// it: EPC URNs are turned into their canonical Digital Link with
// gs1.CanonicalDigitalLinkOfEPC, and Digital Links are read for the few
// keys the node records.

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/pedigree-project/pedigree/gs1"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// dlElement is one AI/value pair of a Digital Link path, value unescaped.
type dlElement struct{ ai, value string }

// dlElements reads an identifier in EPC URN or GS1 Digital Link form (any
// host, any path before the primary key) into its path elements, primary
// key first. It reports false for anything else.
func dlElements(s string) ([]dlElement, bool) {
	if els, ok := plainSGTIN(s); ok {
		return els, true // what the URL parse below reads (FuzzPlainSGTIN)
	}
	return parseDLElements(s)
}

// plainSGTIN reads the form of almost every pack in a capture,
// "https://id.gs1.org/01/<14 digits>/21/<serial>" with a serial of
// unreserved URI characters (letters, digits, "-._~"), without parsing a
// URL.
func plainSGTIN(s string) ([]dlElement, bool) {
	p, ok := strings.CutPrefix(s, "https://id.gs1.org/01/")
	if !ok || len(p) < 19 || p[14:18] != "/21/" {
		return nil, false
	}
	for i := range 14 {
		if p[i] < '0' || p[i] > '9' {
			return nil, false
		}
	}
	for _, c := range []byte(p[18:]) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return nil, false
		}
	}
	return []dlElement{{"01", p[:14]}, {"21", p[18:]}}, true
}

// parseDLElements is dlElements for any identifier.
func parseDLElements(s string) ([]dlElement, bool) {
	if strings.HasPrefix(s, "urn:epc:") {
		dl, ok := gs1.CanonicalDigitalLinkOfEPC(s)
		if !ok {
			return nil, false
		}
		s = dl
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, false
	}
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	start := -1
	for i, sg := range segs {
		if sg == "01" || sg == "00" || sg == "414" || sg == "417" {
			start = i
			break
		}
	}
	if start < 0 || (len(segs)-start)%2 != 0 {
		return nil, false
	}
	var els []dlElement
	for i := start; i < len(segs); i += 2 {
		v, err := url.PathUnescape(segs[i+1])
		if err != nil || v == "" {
			return nil, false
		}
		els = append(els, dlElement{segs[i], v})
	}
	return els, true
}

// gtin14 pads a GTIN-8, -12 or -13 to 14 digits.
func gtin14(s string) string {
	if len(s) == 8 || len(s) == 12 || len(s) == 13 {
		return strings.Repeat("0", 14-len(s)) + s
	}
	return s
}

// epcOf reads an instance identifier: an SGTIN (GTIN + serial) or an SSCC.
func epcOf(s string) (*pb.Epc, error) {
	els, ok := dlElements(s)
	if !ok {
		return nil, &notTracked{fmt.Sprintf("%q is not an SGTIN or SSCC (EPC URN or GS1 Digital Link)", s)}
	}
	switch {
	case len(els) == 1 && els[0].ai == "00":
		if !gs1.ValidSSCC(els[0].value) {
			return nil, fmt.Errorf("%q: SSCC %q has no valid check digit", s, els[0].value)
		}
		return &pb.Epc{Id: &pb.Epc_Sscc{Sscc: els[0].value}}, nil
	case els[0].ai == "01":
		gtin := gtin14(els[0].value)
		var serial string
		for _, e := range els[1:] {
			switch e.ai {
			case "21":
				serial = e.value
			case "22", "10":
				// CPV and lot qualify the serial; the node keys packs by
				// GTIN and serial.
			default:
				return nil, fmt.Errorf("%q: unexpected AI (%s) after a GTIN", s, e.ai)
			}
		}
		if !gs1.ValidGTIN(gtin) {
			return nil, fmt.Errorf("%q: GTIN %q has no valid check digit", s, els[0].value)
		}
		if serial == "" {
			return nil, &notTracked{fmt.Sprintf("%q: a GTIN without serial is a class, not an instance (use quantityList)", s)}
		}
		if !gs1.ValidSerial(serial) {
			return nil, fmt.Errorf("%q: serial must be 1–20 characters of GS1 set 82", s)
		}
		return &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: gtin, Serial: serial}}}, nil
	}
	return nil, &notTracked{fmt.Sprintf("%q: the rules track SGTINs and SSCCs", s)}
}

// batchOf reads a class identifier: an LGTIN (GTIN + lot).
func batchOf(s string) (*pb.BatchRef, error) {
	els, ok := dlElements(s)
	if !ok || len(els) != 2 || els[0].ai != "01" || els[1].ai != "10" {
		return nil, &notTracked{fmt.Sprintf("%q is no LGTIN (GTIN and lot, urn:epc:class:lgtin:… or …/01/…/10/…): the rules track batches", s)}
	}
	gtin := gtin14(els[0].value)
	if !gs1.ValidGTIN(gtin) {
		return nil, fmt.Errorf("%q: GTIN %q has no valid check digit", s, els[0].value)
	}
	if !gs1.ValidLot(els[1].value) {
		return nil, fmt.Errorf("%q: lot must be 1–20 characters of GS1 set 82", s)
	}
	return &pb.BatchRef{Gtin: gtin, Lot: els[1].value}, nil
}

// glnOf reads a location or party: SGLN, PGLN or their Digital Links
// (414, 417). A location extension (AI 254, the SGLN's third component
// when not 0) names a place inside the GLN's site: the node records the
// GLN.
func glnOf(s string) (string, error) {
	els, ok := dlElements(s)
	if !ok || (els[0].ai != "414" && els[0].ai != "417") || len(els) > 2 || (len(els) == 2 && els[1].ai != "254") {
		return "", &notTracked{fmt.Sprintf("%q is no GLN (urn:epc:id:sgln:…, urn:epc:id:pgln:… or …/414/…, …/417/…)", s)}
	}
	if !gs1.ValidGLN(els[0].value) {
		return "", fmt.Errorf("%q: GLN %q has no valid check digit", s, els[0].value)
	}
	return els[0].value, nil
}
