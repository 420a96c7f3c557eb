// Package convert is the one conversion between the wire format
// (pedigree.v1 protobuf) and the rules' domain types (package lifecycle),
// both ways: scan events and master data into the rules' types, with the
// field checks that make a message malformed; the rules' results, refusals
// and alerts back into outcomes and alerts. The ledger node's pipeline, the
// API services and the state's views all convert here.
package convert

import "fmt"

// FieldError is a field that breaks a rule: the message is malformed (the
// pipeline sends it to the dead-letter stream; the API answers
// InvalidArgument naming the field).
type FieldError struct {
	// Field is the path of the field, e.g. "capture.events[0].epcs[2].pack.gtin".
	Field string
	// Msg names the rule.
	Msg string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Invalid returns a *FieldError for field.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// PrefixField puts path in front of the field a *FieldError names; other
// errors are returned as they are.
func PrefixField(path string, err error) error {
	if fe, ok := err.(*FieldError); ok {
		return &FieldError{Field: path + fe.Field, Msg: fe.Msg}
	}
	return err
}
