package epcis

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
)

// Events of one capture document mostly differ only in their identifiers
// and times: ten thousand commissioning events name ten thousand packs and
// are otherwise alike. The schema constrains those members of an event
// only to be strings (or lists of strings, of a size, and unique where the
// schema says so): "format" is an annotation here, and nothing else in the
// schema reads their values. So two events equal but for the string values
// of those members get the same verdict, for the same reason, and the
// schema is run once per shape of event (shapeKey), not once per event.
//
// That holds for this schema, not for any: newShapeRules checks it on the
// embedded schema when the Validator is made, and without it every event
// is checked in full.

// shapeMembers are the top-level event members whose string values the
// shape of an event leaves out: single values, and lists.
var (
	shapeSingles = []string{"eventTime", "recordTime", "eventID", "parentID", "transformationID"}
	shapeLists   = []string{"epcList", "childEPCs", "inputEPCList", "outputEPCList"}
)

// maxShapes bounds the shapes remembered for one document.
const maxShapes = 4096

// shapeRules tells whether the schema leaves the shape members of each
// event type to be strings only.
type shapeRules struct {
	ok map[string]bool // by event type
}

// newShapeRules reads the raw schema: for each event type, every
// "properties" entry that applies to the event object itself (through
// allOf, anyOf, oneOf, not, if, then, else and $ref) must give a shape
// member a string-only schema (a single member) or an array of them (a
// list member, minItems and uniqueItems allowed), and the schema must use
// no keyword that could read a member's value otherwise.
func newShapeRules(raw []byte) shapeRules {
	r := shapeRules{ok: map[string]bool{}}
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		return r
	}
	defs, _ := root["definitions"].(map[string]any)
	if defs == nil || usesKeyword(root, "patternProperties", "dependencies", "additionalItems", "contains", "const", "unevaluatedProperties") ||
		additionalIsSchema(root) {
		return r
	}
	resolve := func(s any) (map[string]any, bool) {
		for range 16 {
			m, ok := s.(map[string]any)
			if !ok {
				return nil, false
			}
			ref, isRef := m["$ref"].(string)
			if !isRef {
				return m, true
			}
			if len(m) != 1 || len(ref) < len("#/definitions/") || ref[:len("#/definitions/")] != "#/definitions/" {
				return nil, false
			}
			s = defs[ref[len("#/definitions/"):]]
		}
		return nil, false
	}
	stringOnly := func(s any) bool {
		m, ok := resolve(s)
		if !ok || m["type"] != "string" {
			return false
		}
		for k, v := range m {
			switch {
			case k == "type":
			case k == "format" && (v == "uri" || v == "date-time"):
			default:
				return false
			}
		}
		return true
	}
	stringList := func(s any) bool {
		m, ok := resolve(s)
		if !ok || m["type"] != "array" || !stringOnly(m["items"]) {
			return false
		}
		for k := range m {
			if k != "type" && k != "items" && k != "minItems" && k != "uniqueItems" {
				return false
			}
		}
		return true
	}
	for _, t := range []EventType{ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent} {
		good := true
		seen := map[string]bool{}
		var visit func(s any, depth int)
		visit = func(s any, depth int) {
			m, ok := resolve(s)
			if !ok || depth > 32 {
				good = false
				return
			}
			key := fmt.Sprintf("%p", m)
			if seen[key] {
				return
			}
			seen[key] = true
			if props, ok := m["properties"].(map[string]any); ok {
				for _, n := range shapeSingles {
					if p, has := props[n]; has && !stringOnly(p) {
						good = false
					}
				}
				for _, n := range shapeLists {
					if p, has := props[n]; has && !stringList(p) {
						good = false
					}
				}
			}
			for _, k := range []string{"allOf", "anyOf", "oneOf"} {
				if l, ok := m[k].([]any); ok {
					for _, sub := range l {
						visit(sub, depth+1)
					}
				}
			}
			for _, k := range []string{"not", "if", "then", "else"} {
				if sub, ok := m[k]; ok {
					visit(sub, depth+1)
				}
			}
		}
		visit(defs[string(t)], 0)
		r.ok[string(t)] = good && len(seen) > 0
	}
	return r
}

// usesKeyword tells whether any object of the schema has one of keys.
func usesKeyword(v any, keys ...string) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			if slices.Contains(keys, k) || usesKeyword(sub, keys...) {
				return true
			}
		}
	case []any:
		for _, sub := range v {
			if usesKeyword(sub, keys...) {
				return true
			}
		}
	}
	return false
}

// additionalIsSchema tells whether an additionalProperties anywhere is a
// schema rather than a boolean: one would check the values of members
// another part of an allOf names.
func additionalIsSchema(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			if k == "additionalProperties" {
				if _, isBool := sub.(bool); !isBool {
					return true
				}
			}
			if additionalIsSchema(sub) {
				return true
			}
		}
	case []any:
		for _, sub := range v {
			if additionalIsSchema(sub) {
				return true
			}
		}
	}
	return false
}

// shapeKey returns the shape of event ev of type t: its canonical JSON
// with the string values of the shape members left out (list items by
// position). ok is false when the event must be checked on its own: its
// type's rules do not hold, or a list member repeats a string (uniqueItems
// reads the values).
func (r shapeRules) shapeKey(t string, ev map[string]any, buf []byte) ([]byte, bool) {
	if !r.ok[t] {
		return buf, false
	}
	buf = append(buf, '{')
	var kb [16]string
	for _, k := range appendSortedKeys(kb[:0], ev) {
		buf = append(appendLenString(buf, k), ':')
		v := ev[k]
		switch {
		case slices.Contains(shapeSingles, k):
			if _, isString := v.(string); isString {
				buf = append(buf, 's')
				continue
			}
		case slices.Contains(shapeLists, k):
			if l, isList := v.([]any); isList {
				if repeatsString(l) {
					return buf, false
				}
				buf = append(buf, '[')
				for _, item := range l {
					if _, isString := item.(string); isString {
						buf = append(buf, 's', ',')
						continue
					}
					buf = appendCanonical(buf, item)
					buf = append(buf, ',')
				}
				buf = append(buf, ']', ',')
				continue
			}
		}
		buf = appendCanonical(buf, v)
		buf = append(buf, ',')
	}
	return append(buf, '}'), true
}

// repeatsString reports whether a string occurs twice in l.
func repeatsString(l []any) bool {
	if len(l) < 2 {
		return false
	}
	if len(l) <= 16 {
		for i, a := range l {
			sa, ok := a.(string)
			if !ok {
				continue
			}
			for _, b := range l[i+1:] {
				if sb, ok := b.(string); ok && sa == sb {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[string]bool, len(l))
	for _, item := range l {
		if s, ok := item.(string); ok {
			if seen[s] {
				return true
			}
			seen[s] = true
		}
	}
	return false
}

// appendLenString writes s prefixed by its length: distinct strings write
// distinct bytes, with no escaping to do.
func appendLenString(buf []byte, s string) []byte {
	buf = strconv.AppendInt(buf, int64(len(s)), 10)
	return append(append(buf, '"'), s...)
}

// appendCanonical writes a generic JSON value with object members in key
// order; distinct values write distinct bytes.
func appendCanonical(buf []byte, v any) []byte {
	switch v := v.(type) {
	case map[string]any:
		buf = append(buf, '{')
		var kb [16]string
		for _, k := range appendSortedKeys(kb[:0], v) {
			buf = append(appendLenString(buf, k), ':')
			buf = appendCanonical(buf, v[k])
			buf = append(buf, ',')
		}
		return append(buf, '}')
	case []any:
		buf = append(buf, '[')
		for _, item := range v {
			buf = appendCanonical(buf, item)
			buf = append(buf, ',')
		}
		return append(buf, ']')
	case string:
		return appendLenString(append(buf, 'q'), v)
	case json.Number:
		return appendLenString(append(buf, 'n'), string(v))
	case bool:
		return strconv.AppendBool(buf, v)
	case nil:
		return append(buf, "null"...)
	}
	return fmt.Appendf(buf, "?%T:%v", v, v)
}

// shapeVerdicts remembers the verdict of each shape of one document: nil,
// or the *SchemaError of its first event, its pointer relative to the
// event. It is safe for concurrent use.
type shapeVerdicts struct {
	mu sync.Mutex
	m  map[string]error
}

func (s *shapeVerdicts) get(key []byte) (error, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	err, ok := s.m[string(key)]
	return err, ok
}

func (s *shapeVerdicts) put(key []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]error{}
	}
	if len(s.m) < maxShapes {
		s.m[string(key)] = err
	}
}
