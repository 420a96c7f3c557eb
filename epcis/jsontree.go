package epcis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// unmarshal decodes JSON into generic values (map[string]any, []any,
// string, json.Number, bool and nil), as encoding/json does into an any
// with UseNumber, in one pass and with fewer allocations. A name repeated
// in one object has its last value, as there (GS1's own examples repeat
// one). It is stricter in one way: invalid UTF-8, an unpaired surrogate
// escape included, is refused rather than replaced (RFC 8259 leaves it to
// the reader), so that the bytes kept and the events read from them
// cannot differ.
func unmarshal(data []byte) (any, error) {
	var r treeReader
	return r.unmarshal(data)
}

// treeReader unmarshals one document after another with one decoder,
// which costs about as much as the tree of a small document to set up.
// Its zero value is ready for use.
type treeReader struct {
	r   bytes.Reader
	dec *jsontext.Decoder
}

// unmarshal is the package's unmarshal.
func (t *treeReader) unmarshal(data []byte) (any, error) {
	// The nesting is bounded at 10,000 levels, as encoding/json's.
	t.r.Reset(data)
	if t.dec == nil {
		t.dec = jsontext.NewDecoder(&t.r, jsontext.AllowDuplicateNames(true))
	} else {
		t.dec.Reset(&t.r, jsontext.AllowDuplicateNames(true))
	}
	v, err := treeValue(t.dec)
	if err != nil {
		return nil, jsonError(err)
	}
	if _, err := t.dec.ReadToken(); err != io.EOF {
		return nil, errors.New("epcis: invalid JSON: data after the top-level value")
	}
	return v, nil
}

// treeValue reads the next value of dec.
func treeValue(dec *jsontext.Decoder) (any, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '{':
		m := make(map[string]any)
		for dec.PeekKind() != '}' {
			name, err := dec.ReadValue() // the name, quoted, valid until the next read
			if err != nil {
				return nil, err
			}
			k, err := memberName(name)
			if err != nil {
				return nil, err
			}
			v, err := treeValue(dec)
			if err != nil {
				return nil, err
			}
			m[k] = v // a repeated name: its last value, as encoding/json
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		return m, nil
	case '[':
		a := make([]any, 0, 4)
		for dec.PeekKind() != ']' {
			v, err := treeValue(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		return a, nil
	case '"':
		return tok.String(), nil
	case '0':
		return json.Number(tok.String()), nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case 'n':
		return nil, nil
	}
	return nil, fmt.Errorf("unexpected %v", tok.Kind())
}

// memberName is the name an object member's quoted JSON string raw
// gives, what a Token's String is: the names EPCIS documents use are
// shared strings, not allocated for each member.
func memberName(raw jsontext.Value) (string, error) {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		if s, ok := commonNames[string(inner)]; ok {
			return s, nil
		}
		return string(inner), nil
	}
	b, err := jsontext.AppendUnquote(nil, raw)
	return string(b), err
}

// commonNames are the member names of EPCIS documents and events, each
// its own value: memberName returns these strings. Never written.
var commonNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{"@context", "type", "schemaVersion", "creationDate", "epcisBody", "eventList", "epcisHeader",
		"eventID", "eventTime", "eventTimeZoneOffset", "recordTime", "action", "bizStep", "disposition", "readPoint", "bizLocation",
		"id", "epcList", "parentID", "childEPCs", "inputEPCList", "outputEPCList", "quantityList", "childQuantityList",
		"inputQuantityList", "outputQuantityList", "epcClass", "quantity", "uom", "bizTransactionList", "bizTransaction",
		"sourceList", "source", "destinationList", "destination", "ilmd", "transformationID", "persistentDisposition", "set",
		"unset", "errorDeclaration", "declarationTime", "reason", "correctiveEventIDs", "certificationInfo",
		"sensorElementList", "sensorMetadata", "sensorReport", "time", "deviceID", "value", "minValue", "maxValue",
		"meanValue", "cbvmda:lotNumber", "cbvmda:itemExpirationDate", "cbvmda:bestBeforeDate", "cbvmda:sellByDate"} {
		m[n] = n
	}
	return m
}()

// jsonError words a syntax error; an early end of the data is one too.
func jsonError(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("epcis: invalid JSON: %w", err)
}
