package resolver

import (
	"net/url"
	"strings"
)

// The GS1 Web Vocabulary's link types the resolver serves (GS1-Conformant
// resolver standard; keys of the linkset are full URIs, RFC 9264).
const (
	gs1Voc           = "https://gs1.org/voc/"
	relDefault       = gs1Voc + "defaultLink"
	relVerification  = gs1Voc + "verificationService"
	relPIP           = gs1Voc + "pip"
	relRecallStatus  = gs1Voc + "recallStatus"
	linksetMediaType = "application/linkset+json"
)

// linkRels lists the link types in the order the linkset gives them.
var linkRels = [...]string{relDefault, relVerification, relPIP, relRecallStatus}

// target is one link target of a linkset (RFC 9264 section 4.2).
type target struct {
	Href     string   `json:"href"`
	Title    string   `json:"title"`
	Type     string   `json:"type"`
	HrefLang []string `json:"hreflang"`
}

// links are an item's links by link type.
type links map[string]target

// itemLinks are the links of a pack: its verification page (also the
// default link), the product information on that page, and, when the lot
// is known, the batch's recall status.
func itemLinks(root string, a Answer) links {
	page := root + canonicalPath(a)
	if q := canonicalQuery(a); q != "" {
		page += "?" + q
	}
	en := []string{"en"}
	l := links{
		relDefault:      {Href: page, Title: "Is this pack genuine and may it be used?", Type: "text/html", HrefLang: en},
		relVerification: {Href: page, Title: "Pack verification", Type: "text/html", HrefLang: en},
	}
	if a.Product != "" {
		l[relPIP] = target{Href: page + "#product", Title: "Product: " + a.Product, Type: "text/html", HrefLang: en}
	}
	if a.Lot != "" && a.Product != "" {
		l[relRecallStatus] = target{Href: root + recallPrefix + "/01/" + a.GTIN + "/10/" + url.PathEscape(a.Lot),
			Title: "Recall status of batch " + a.Lot, Type: "application/json", HrefLang: en}
	}
	return l
}

// canonicalPath is the Digital Link path of a pack: GTIN, lot, serial.
func canonicalPath(a Answer) string {
	p := "/01/" + a.GTIN
	if a.Lot != "" {
		p += "/10/" + url.PathEscape(a.Lot)
	}
	return p + "/21/" + url.PathEscape(a.Serial)
}

// canonicalQuery carries the expiry, when scanned.
func canonicalQuery(a Answer) string {
	if a.Expiry == "" {
		return ""
	}
	return "17=" + a.Expiry
}

// linkset is the RFC 9264 JSON document of an item's links.
func linkset(root string, a Answer, l links) map[string]any {
	ctx := map[string]any{"anchor": root + canonicalPath(a)}
	if a.Product != "" {
		ctx["description"] = a.Product
	}
	for _, rel := range linkRels {
		if t, ok := l[rel]; ok {
			ctx[rel] = []target{t}
		}
	}
	return map[string]any{"linkset": []any{ctx}}
}

// linkHeader is the HTTP Link header of an item's links (RFC 8288).
func linkHeader(l links) string {
	var b strings.Builder
	for _, rel := range linkRels {
		t, ok := l[rel]
		if !ok {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString("<" + t.Href + `>; rel="` + rel + `"; type="` + t.Type + `"`)
	}
	return b.String()
}

// requestedRel resolves a linkType parameter to a link type URI: a CURIE
// with the gs1: prefix or the full URI (either GS1 namespace). ok is false
// for a value that names no GS1 link type.
func requestedRel(linkType string) (string, bool) {
	for _, p := range [...]string{"gs1:", gs1Voc, "https://ref.gs1.org/voc/", "http://gs1.org/voc/"} {
		if name, found := strings.CutPrefix(linkType, p); found && name != "" && len(name) <= 64 {
			return gs1Voc + name, true
		}
	}
	return "", false
}

// description is the /.well-known/gs1resolver document (GS1-Conformant
// resolver standard, resolver description file).
func description(root string) map[string]any {
	return map[string]any{
		"name":                        "Pedigree medicine pack verification",
		"resolverRoot":                root,
		"supportedPrimaryKeys":        []string{"01"},
		"supportedLinkType":           []map[string]string{{"namespace": gs1Voc, "prefix": "gs1:"}},
		"linkTypeDefaultCanBeLinkset": false,
	}
}
