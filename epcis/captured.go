package epcis

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// Captured is one event of a JSON-LD capture document with the bytes a
// ledger keeps for it: an EPCIS 2.0 JSON-LD document holding that event
// alone, made of the capture document's own bytes (its @context, type,
// schemaVersion, creationDate and ignoreFields members and the event),
// with insignificant whitespace removed and nothing else changed.
//
// Decode of Bytes yields Event exactly, by construction: the event is
// read from the same tokens in the same context as when the whole
// document was decoded, and nothing else a document holds bears on its
// events. So a node that keeps Bytes need not decode them back to know
// what they say; TestCapturedDecodesToItsEvent holds this over the
// conformance corpus and FuzzCaptured over any document. Only this
// package makes a Captured.
type Captured struct {
	ev   *Event
	data []byte
}

// Event is the decoded event.
func (c Captured) Event() *Event { return c.ev }

// Bytes is the one-event document kept for the event.
func (c Captured) Bytes() []byte { return c.data }

// DecodeCapture is Decode for a capture document whose events are in
// epcisBody.eventList, and also returns each event as Captured. For a
// document of another form (a query document, a single event) captured
// is nil and the caller encodes the events itself.
func (v *Validator) DecodeCapture(data []byte) (doc *Document, captured []Captured, err error) {
	if doc, err = v.Decode(data); err != nil {
		return nil, nil, err
	}
	return doc, capturedEvents(data, doc), nil
}

// capturedEvents splits data, the document doc was decoded from, into
// one document per event, or returns nil when its form is not
// epcisBody.eventList with doc's events.
func capturedEvents(data []byte, doc *Document) []Captured {
	parts, ok := splitCapture(data)
	if !ok || len(parts.events) != len(doc.Events) {
		return nil
	}
	head := parts.head()
	out := make([]Captured, len(doc.Events))
	for i, raw := range parts.events {
		b := bytes.NewBuffer(make([]byte, 0, len(head)+len(raw)+len(captureTail)))
		b.Write(head)
		if err := json.Compact(b, raw); err != nil {
			return nil // not after Decode read the same bytes
		}
		b.WriteString(captureTail)
		out[i] = Captured{ev: &doc.Events[i], data: b.Bytes()}
	}
	return out
}

// captureTail closes a one-event document.
const captureTail = "]}}"

// captureParts are the members of a capture document that bear on its
// events, compacted, and its events as they are in the document.
type captureParts struct {
	root   map[string][]byte // @context, type, schemaVersion, creationDate, *ignoreFields
	events [][]byte          // slices of the document
}

// head is a one-event document up to its event: the root members in
// name order, then epcisBody and its eventList.
func (p *captureParts) head() []byte {
	names := make([]string, 0, len(p.root))
	for n := range p.root {
		names = append(names, n)
	}
	slices.Sort(names)
	b := []byte{'{'}
	for _, n := range names {
		b = append(appendJSONString(b, n), ':')
		b = append(append(b, p.root[n]...), ',')
	}
	return append(b, `"epcisBody":{"eventList":[`...)
}

// keptRootMember says whether a root member of a capture document is
// kept with each of its events: the members Decode reads for the events
// (@context, every ignoreFields) and the ones that say what the document
// is.
func keptRootMember(name string) bool {
	switch name {
	case "@context", "type", "schemaVersion", "creationDate", "ignoreFields":
		return true
	}
	return strings.HasSuffix(name, ":ignoreFields")
}

// splitCapture reads the members of a capture document as Decode does: a
// repeated name's last value counts. ok is false unless data is an object
// whose last epcisBody is an object whose last eventList is an array.
func splitCapture(data []byte) (p captureParts, ok bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return p, false
	}
	p.root = map[string][]byte{}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return p, false
		}
		switch n := name.String(); {
		case n == "epcisBody":
			if p.events, ok, err = splitBody(dec, data); err != nil {
				return p, false
			}
		case keptRootMember(n):
			v, err := dec.ReadValue()
			if err != nil {
				return p, false
			}
			if p.root[n], err = compact(v); err != nil {
				return p, false
			}
		default:
			if err := dec.SkipValue(); err != nil {
				return p, false
			}
		}
	}
	return p, ok
}

// splitBody reads an epcisBody value of data and returns its last
// eventList's items, as slices of data; ok is false when either is of
// another kind.
func splitBody(dec *jsontext.Decoder, data []byte) (events [][]byte, ok bool, err error) {
	if dec.PeekKind() != '{' {
		return nil, false, dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, false, err
	}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, false, err
		}
		name := tok.String() // tok is valid until the next read
		if name != "eventList" || dec.PeekKind() != '[' {
			if err := dec.SkipValue(); err != nil {
				return nil, false, err
			}
			if name == "eventList" {
				events, ok = nil, false // the last eventList counts
			}
			continue
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, false, err
		}
		events, ok = nil, true
		for dec.PeekKind() != ']' {
			v, err := dec.ReadValue()
			if err != nil {
				return nil, false, err
			}
			end := int(dec.InputOffset()) // v is the input's bytes before it
			events = append(events, data[end-len(v):end])
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, false, err
		}
	}
	_, err = dec.ReadToken()
	return events, ok, err
}

// compact returns a copy of the JSON value v without insignificant
// whitespace (encoding/json's Compact: the tokens are unchanged).
func compact(v jsontext.Value) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(v))
	if err := json.Compact(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
