package epcis

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// MaxJSONSize is the largest JSON document ValidateJSON and
// Validator.Validate read, in bytes.
const MaxJSONSize = 64 << 20

// schemaURL is the $id of the embedded GS1 EPCIS 2.0 JSON schema.
const schemaURL = "https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json"

// jsonSchema is the GS1 EPCIS 2.0 JSON schema (github.com/gs1/EPCIS,
// EPCIS-JSON-Schema.json), unchanged; its licence is schema/LICENSE.
//
//go:embed schema/EPCIS-JSON-Schema.json
var jsonSchema []byte

// Validator checks JSON documents against the GS1 EPCIS 2.0 JSON schema.
// Compiling the schema takes a few milliseconds, so a caller that validates
// often (a capture handler) makes one Validator and keeps it. A Validator
// is immutable and safe for concurrent use.
type Validator struct {
	schema *jsonschema.Schema
	// byType holds, for each of the five standard event types, the
	// schema of that type alone: for an event whose "type" is one of
	// them, the schema of an eventList item (EPCIS-Document-Event: an
	// object, "type" a string, and one if/then per type) reduces to
	// exactly it, and checking it skips the other types' conditions.
	byType map[string]*jsonschema.Schema
	// item is the schema of an eventList item, for other events.
	item *jsonschema.Schema
	// shapes says for which event types a verdict holds for every event
	// of the same shape (validate_shape.go).
	shapes shapeRules
}

// NewValidator compiles the embedded EPCIS 2.0 JSON schema. Nothing is
// fetched: the schema and its draft-07 meta-schema are both compiled in.
func NewValidator() (*Validator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(jsonSchema))
	if err != nil {
		return nil, fmt.Errorf("epcis: embedded JSON schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(compileRegexp)
	// "format" is an annotation, as in the reference validator (Python
	// jsonschema) whose verdicts the tests replay: the schema's uri and
	// date-time formats would refuse blank-node ids (_:document1) that
	// JSON-LD allows. Decode checks eventTime and the identifiers itself.
	for _, f := range []string{"uri", "date-time"} {
		c.RegisterFormat(&jsonschema.Format{Name: f, Validate: func(any) error { return nil }})
	}
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("epcis: embedded JSON schema: %w", err)
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("epcis: embedded JSON schema: %w", err)
	}
	v := &Validator{schema: s, byType: make(map[string]*jsonschema.Schema, 5), shapes: newShapeRules(jsonSchema)}
	if v.item, err = c.Compile(schemaURL + "#/definitions/EPCIS-Document-Event"); err != nil {
		return nil, fmt.Errorf("epcis: embedded JSON schema: %w", err)
	}
	for _, t := range []EventType{ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent} {
		if v.byType[string(t)], err = c.Compile(schemaURL + "#/definitions/" + string(t)); err != nil {
			return nil, fmt.Errorf("epcis: embedded JSON schema: %w", err)
		}
	}
	return v, nil
}

// ValidateJSON checks data, an EPCIS 2.0 JSON or JSON-LD document (capture
// or query document), against the GS1 EPCIS 2.0 JSON schema. It compiles
// the schema on every call: callers that validate more than once use a
// Validator. The error is a *SchemaError as Validator.Validate returns.
func ValidateJSON(data []byte) error {
	v, err := NewValidator()
	if err != nil {
		return err
	}
	return v.Validate(data)
}

// SchemaError is a schema rule a document breaks.
type SchemaError struct {
	// Pointer is the JSON pointer (RFC 6901) of the offending value,
	// "" for the document itself, e.g. "/epcisBody/eventList/0/action".
	Pointer string
	// Rule is the schema keyword that failed (required, enum, type,
	// additionalProperties, anyOf, …), or "json" when data is no JSON,
	// "size" when it is too large.
	Rule string
	// Msg says what is wrong.
	Msg string
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("epcis: schema: %q: %s: %s", e.Pointer, e.Rule, e.Msg)
}

// Validate checks data against the schema. data must be one JSON value of
// at most MaxJSONSize bytes; the first rule broken is returned as a
// *SchemaError naming the JSON pointer of the value and the rule.
func (v *Validator) Validate(data []byte) error {
	_, err := v.validate(data)
	return err
}

// Decode checks data against the schema as Validate does and decodes it as
// Decode does, reading the JSON once; the events of a capture document
// are checked and decoded on all cores. A schema violation is a
// *SchemaError, a problem the decoder finds a *FieldError.
func (v *Validator) Decode(data []byte) (*Document, error) {
	tree, err := v.validate(data)
	if err != nil {
		return nil, err
	}
	return decodeTree(tree)
}

// validate checks data and returns it unmarshalled.
func (v *Validator) validate(data []byte) (any, error) {
	doc, _, err := v.validateCapture(data)
	return doc, err
}

// validateCapture is validate, and also returns the parts of a capture
// document (unmarshalCapture).
func (v *Validator) validateCapture(data []byte) (any, *captureParts, error) {
	if len(data) > MaxJSONSize {
		return nil, nil, &SchemaError{Rule: "size", Msg: fmt.Sprintf("document of %d bytes exceeds %d", len(data), MaxJSONSize)}
	}
	doc, parts, err := unmarshalCapture(data)
	if err != nil {
		return nil, nil, &SchemaError{Rule: "json", Msg: strings.TrimPrefix(err.Error(), "epcis: ")}
	}
	if err := v.validateTree(doc); err != nil {
		return nil, nil, err
	}
	return doc, parts, nil
}

// validateTree checks a document unmarshalled. A capture document's
// events are checked one by one on all cores, each against the schema of
// an eventList item (of its type), and the document around them with an
// empty eventList: the schema's eventList is an array of items with no
// other constraint, so this is the whole schema's verdict. An event of a
// shape already checked gets that shape's verdict (validate_shape.go).
// The first violation in document order is returned.
func (v *Validator) validateTree(doc any) error {
	root, _ := doc.(map[string]any)
	body, _ := root["epcisBody"].(map[string]any)
	events, isList := body["eventList"].([]any)
	if root["type"] != "EPCISDocument" || !isList || len(events) < parallelFrom {
		return schemaErr(v.schema.Validate(doc), "")
	}
	body["eventList"] = []any{}
	err := v.schema.Validate(doc)
	body["eventList"] = events
	if err != nil {
		return schemaErr(err, "")
	}
	var verdicts shapeVerdicts
	return inParallel(len(events), func(i int) error {
		s := v.item
		var key []byte
		keyed := false
		if obj, ok := events[i].(map[string]any); ok {
			if t, ok := obj["type"].(string); ok && v.byType[t] != nil {
				s = v.byType[t]
				key, keyed = v.shapes.shapeKey(t, obj, make([]byte, 0, 512))
			}
		}
		prefix := "/epcisBody/eventList/" + strconv.Itoa(i)
		if keyed {
			if err, ok := verdicts.get(key); ok {
				return underPointer(err, prefix)
			}
		}
		err := schemaErr(s.Validate(events[i]), "")
		if keyed {
			verdicts.put(key, err)
		}
		return underPointer(err, prefix)
	})
}

// underPointer returns a *SchemaError err with its pointer under prefix;
// other errors and nil unchanged.
func underPointer(err error, prefix string) error {
	se, ok := err.(*SchemaError)
	if !ok {
		return err
	}
	out := *se
	out.Pointer = prefix + out.Pointer
	return &out
}

// schemaErr turns a validation error into a *SchemaError whose pointer is
// under prefix (nil stays nil).
func schemaErr(err error, prefix string) error {
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &SchemaError{Rule: "schema", Msg: err.Error()}
	}
	leaf := leafCause(ve)
	return &SchemaError{Pointer: prefix + pointer(leaf.InstanceLocation), Rule: rule(leaf), Msg: leaf.ErrorKind.LocalizedString(message.NewPrinter(language.English))}
}

// leafCause descends to the first most specific failure. It stops at
// anyOf and oneOf: their causes are alternatives, none of them "the"
// problem.
func leafCause(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	for len(e.Causes) > 0 {
		switch e.ErrorKind.(type) {
		case *kind.AnyOf, *kind.OneOf:
			return e
		}
		e = e.Causes[0]
	}
	return e
}

func rule(e *jsonschema.ValidationError) string {
	if p := e.ErrorKind.KeywordPath(); len(p) > 0 {
		return p[len(p)-1]
	}
	return "schema"
}

// pointer writes an instance location as an RFC 6901 JSON pointer.
func pointer(loc []string) string {
	var b strings.Builder
	r := strings.NewReplacer("~", "~0", "/", "~1")
	for _, s := range loc {
		b.WriteByte('/')
		b.WriteString(r.Replace(s))
	}
	return b.String()
}

// compileRegexp compiles a schema pattern with Go's regexp package, plus
// the one ECMA-262 form beyond RE2 that the EPCIS schema uses: a leading
// negative lookahead "^(?!(X))", meaning "does not start with X".
func compileRegexp(s string) (jsonschema.Regexp, error) {
	if inner, ok := strings.CutPrefix(s, "^(?!"); ok {
		if inner, ok = strings.CutSuffix(inner, ")"); ok {
			re, err := regexp.Compile("^(?:" + inner + ")")
			if err != nil {
				return nil, err
			}
			return notPrefix{re: re, src: s}, nil
		}
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, err
	}
	return re, nil
}

// notPrefix matches the strings that do not start with a match of re.
type notPrefix struct {
	re  *regexp.Regexp
	src string
}

func (n notPrefix) MatchString(s string) bool { return !n.re.MatchString(s) }
func (n notPrefix) String() string            { return n.src }
