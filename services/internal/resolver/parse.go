package resolver

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pedigree-project/pedigree/gs1"
)

// maxRequestURI bounds the path and query of a request the resolver reads:
// a pack's Digital Link is well under 200 bytes.
const maxRequestURI = 512

// parseStem is the stem put before a request's path for the gs1 parser;
// the parser ignores it (any stem is allowed).
const parseStem = "https://resolver.invalid"

// dlOptions parse what printed packs carry: strict GS1 syntax, but the lot
// may be a query parameter, as on packs in circulation (as the
// verification service accepts).
var dlOptions = gs1.Options{PermitQualifiersInQuery: true}

// errTooLong refuses a path and query over maxRequestURI.
var errTooLong = fmt.Errorf("the address is longer than %d bytes: not a pack's code", maxRequestURI)

// errCompressed refuses a compressed Digital Link.
var errCompressed = errors.New("this is a compressed GS1 Digital Link, which this resolver does not read: scan the code with the phone's camera app, or type the code printed on the pack")

// parsePack reads a pack's code from a request's escaped path and raw
// query: a GS1 Digital Link with GTIN (01) and serial (21), after any
// leading path. Every value is validated by package gs1.
func parsePack(path, rawQuery string) (*gs1.Result, error) {
	r, err := parseDL(path, rawQuery)
	if err != nil {
		return nil, err
	}
	if r.GTIN == "" || r.Serial == "" {
		return nil, errors.New("the code has no GTIN (01) and serial (21): it does not identify one pack")
	}
	return r, nil
}

// parseDL parses path and query as a Digital Link, bounded.
func parseDL(path, rawQuery string) (*gs1.Result, error) {
	if len(path)+len(rawQuery) > maxRequestURI {
		return nil, errTooLong
	}
	if !strings.HasPrefix(path, "/") {
		return nil, errors.New("the address has no path")
	}
	uri := parseStem + path
	if rawQuery != "" {
		uri += "?" + rawQuery
	}
	r, err := dlOptions.ParseDigitalLink(uri)
	if err != nil {
		if compressed(path) {
			return nil, errCompressed
		}
		return nil, fmt.Errorf("the code is not a valid GS1 Digital Link: %s", strings.TrimPrefix(err.Error(), "gs1: "))
	}
	return r, nil
}

// compressed reports whether path looks like a compressed Digital Link:
// no "/01/" key segment, and a last segment of base64url characters long
// enough to carry a GTIN.
func compressed(path string) bool {
	if hasKeySegment(path) {
		return false
	}
	last := path[strings.LastIndexByte(path, '/')+1:]
	if len(last) < 12 {
		return false
	}
	for i := 0; i < len(last); i++ {
		c := last[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// hasKeySegment reports whether path has a GTIN key segment "/01/".
func hasKeySegment(path string) bool {
	return strings.Contains(path, "/01/")
}
