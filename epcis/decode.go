package epcis

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// context is the part of a JSON-LD @context the decoder uses: namespace
// prefixes for CURIEs and extension keys, and an optional default vocabulary
// for unprefixed keys.
type context struct {
	prefixes map[string]string
	vocab    string
}

// standardContext returns the prefixes defined by the EPCIS 2.0 JSON-LD
// context (https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld).
func standardContext() *context {
	return &context{prefixes: map[string]string{
		"epcis":   "https://ref.gs1.org/epcis/",
		"cbv":     "https://ref.gs1.org/cbv/",
		"cbvmda":  "urn:epcglobal:cbv:mda:",
		"gs1":     "https://gs1.org/voc/",
		"rdfs":    "http://www.w3.org/2000/01/rdf-schema#",
		"owl":     "http://www.w3.org/2002/07/owl#",
		"xsd":     "http://www.w3.org/2001/XMLSchema#",
		"dcterms": "http://purl.org/dc/terms/",
	}}
}

// with returns a copy of c overlaid with the definitions in a JSON-LD
// @context value: a string (a remote context, assumed to be the standard
// EPCIS context and not fetched), an object, or an array of those.
func (c *context) with(v any, path string) (*context, error) {
	if v == nil {
		return c, nil
	}
	out := &context{prefixes: make(map[string]string, len(c.prefixes)+4), vocab: c.vocab}
	for k, iri := range c.prefixes {
		out.prefixes[k] = iri
	}
	var add func(v any) error
	add = func(v any) error {
		switch v := v.(type) {
		case string:
			return nil
		case []any:
			for _, e := range v {
				if err := add(e); err != nil {
					return err
				}
			}
			return nil
		case map[string]any:
			for k, def := range v {
				iri := ""
				switch d := def.(type) {
				case string:
					iri = d
				case map[string]any:
					iri, _ = d["@id"].(string)
				}
				switch {
				case k == "@vocab":
					out.vocab = iri
				case strings.HasPrefix(k, "@") || iri == "" || strings.HasPrefix(iri, "@"):
					// keywords, aliases and protected flags: nothing to record
				default:
					out.prefixes[k] = iri
				}
			}
			return nil
		}
		return fieldErr(path, "not a JSON-LD context")
	}
	if err := add(v); err != nil {
		return nil, err
	}
	return out, nil
}

// expandKey resolves the JSON member name key (at path) to a Name: "prefix:local"
// with a declared prefix, an absolute IRI, or an unprefixed term (placed in
// the @vocab namespace when one is declared).
func (c *context) expandKey(key, path string) (Name, error) {
	i := strings.IndexByte(key, ':')
	if i < 0 {
		return Name{Space: c.vocab, Local: key}, nil
	}
	prefix, rest := key[:i], key[i+1:]
	if strings.HasPrefix(rest, "//") {
		j := strings.LastIndexAny(key, "/#")
		return Name{Space: key[:j+1], Local: key[j+1:]}, nil
	}
	if iri, ok := c.prefixes[prefix]; ok {
		return Name{Space: iri, Local: rest}, nil
	}
	return Name{}, fieldErr(path, fmt.Sprintf("undefined namespace prefix %q", prefix))
}

// expandIRI expands a CURIE value whose prefix is declared; other values are
// returned unchanged.
func (c *context) expandIRI(v string) string {
	i := strings.IndexByte(v, ':')
	if i <= 0 || strings.HasPrefix(v[i+1:], "//") {
		return v
	}
	if iri, ok := c.prefixes[v[:i]]; ok {
		return iri + v[i+1:]
	}
	return v
}

// expandGS1CURIE expands a CURIE value only when its prefix stands for a GS1
// namespace (https://ref.gs1.org/…, https://gs1.org/…), as the reference
// implementation does for values of extension fields.
func (c *context) expandGS1CURIE(v string) string {
	i := strings.IndexByte(v, ':')
	if i <= 0 {
		return v
	}
	iri, ok := c.prefixes[v[:i]]
	if ok && (strings.HasPrefix(iri, "https://ref.gs1.org") || strings.HasPrefix(iri, "https://gs1.org")) {
		return iri + v[i+1:]
	}
	return v
}

// Decode parses an EPCIS 2.0 JSON-LD capture document or query document.
// Every event is decoded and validated; the first problem found is returned
// as a *FieldError whose Field locates it, e.g.
// "epcisBody.eventList[2].eventTime".
func Decode(data []byte) (*Document, error) {
	v, err := unmarshal(data)
	if err != nil {
		return nil, err
	}
	return decodeTree(v)
}

// decodeTree decodes a document unmarshalled into generic values; its
// events are decoded on all cores.
func decodeTree(v any) (*Document, error) {
	root, ok := v.(map[string]any)
	if !ok {
		return nil, fieldErr("", "document is not a JSON object")
	}
	ctx, err := standardContext().with(root["@context"], "@context")
	if err != nil {
		return nil, err
	}
	doc := &Document{Namespaces: ctx.prefixes}
	doc.Type, _ = root["type"].(string)
	doc.SchemaVersion = scalarString(root["schemaVersion"])
	doc.CreationDate, _ = root["creationDate"].(string)
	if doc.IgnoreFields, err = ignoreFields(ctx, root, ""); err != nil {
		return nil, err
	}

	body, ok := root["epcisBody"].(map[string]any)
	if !ok {
		return nil, fieldErr("epcisBody", "missing or not an object")
	}
	var list any
	path := "epcisBody.eventList"
	switch {
	case body["eventList"] != nil:
		list = body["eventList"]
	case body["queryResults"] != nil:
		qr, ok := body["queryResults"].(map[string]any)
		if !ok {
			return nil, fieldErr("epcisBody.queryResults", "not an object")
		}
		more, err := ignoreFields(ctx, qr, "epcisBody.queryResults")
		if err != nil {
			return nil, err
		}
		doc.IgnoreFields = append(doc.IgnoreFields, more...)
		rb, ok := qr["resultsBody"].(map[string]any)
		if !ok {
			return nil, fieldErr("epcisBody.queryResults.resultsBody", "missing or not an object")
		}
		list, path = rb["eventList"], "epcisBody.queryResults.resultsBody.eventList"
	case body["event"] != nil:
		list, path = []any{body["event"]}, "epcisBody.event"
	}
	items, ok := list.([]any)
	if list != nil && !ok {
		return nil, fieldErr(path, "not an array")
	}
	doc.Events = make([]Event, len(items))
	err = inParallel(len(items), func(i int) error {
		p := path
		if path != "epcisBody.event" {
			p = path + "[" + strconv.Itoa(i) + "]"
		}
		if err := decodeEvent(ctx, items[i], p, &doc.Events[i]); err != nil {
			return err
		}
		doc.Events[i].IgnoreFields = doc.IgnoreFields
		return nil
	})
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// DecodeEvent parses a single EPCIS event given as a JSON object, as posted
// to a capture interface. The event's own @context, if any, is applied on
// top of the standard EPCIS context.
func DecodeEvent(data []byte) (*Event, error) {
	v, err := unmarshal(data)
	if err != nil {
		return nil, err
	}
	ev := new(Event)
	if err := decodeEvent(standardContext(), v, "", ev); err != nil {
		return nil, err
	}
	return ev, nil
}

// HashJSON decodes a single event given as a JSON object (see DecodeEvent)
// and returns its CBV 2.0 event hash.
func HashJSON(data []byte) (string, error) {
	ev, err := DecodeEvent(data)
	if err != nil {
		return "", err
	}
	return Hash(ev)
}

// Hashes returns the event hash of every event of the document, in order.
func (d *Document) Hashes() ([]string, error) {
	out := make([]string, len(d.Events))
	for i := range d.Events {
		h, err := Hash(&d.Events[i])
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// ignoreFields reads a member whose local name is "ignoreFields" (in any
// namespace): a list of CURIEs naming extension fields to leave out of the
// event hash.
func ignoreFields(ctx *context, obj map[string]any, path string) ([]Name, error) {
	keys := make([]string, 0, 1)
	for k := range obj {
		if k == "ignoreFields" || strings.HasSuffix(k, ":ignoreFields") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []Name
	for _, k := range keys {
		var list []any
		switch v := obj[k].(type) {
		case string:
			list = []any{v}
		case []any:
			list = v
		default:
			return nil, fieldErr(joinPath(path, k), "not a list of field names")
		}
		for _, item := range list {
			s, ok := item.(string)
			if !ok {
				return nil, fieldErr(joinPath(path, k), "not a list of field names")
			}
			n, err := ctx.expandKey(s, joinPath(path, k))
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
	}
	return out, nil
}

// scalarString returns the lexical form of a JSON string, number or boolean,
// and "" for anything else.
func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return string(v)
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	return ""
}
