package epcis

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
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
	return &Validator{schema: s}, nil
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
	if len(data) > MaxJSONSize {
		return &SchemaError{Rule: "size", Msg: fmt.Sprintf("document of %d bytes exceeds %d", len(data), MaxJSONSize)}
	}
	doc, err := unmarshal(data)
	if err != nil {
		return &SchemaError{Rule: "json", Msg: strings.TrimPrefix(err.Error(), "epcis: ")}
	}
	err = v.schema.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &SchemaError{Rule: "schema", Msg: err.Error()}
	}
	leaf := leafCause(ve)
	return &SchemaError{Pointer: pointer(leaf.InstanceLocation), Rule: rule(leaf), Msg: leaf.ErrorKind.LocalizedString(message.NewPrinter(language.English))}
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
