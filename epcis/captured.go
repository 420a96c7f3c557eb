package epcis

import (
	"slices"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// Captured is one event of a JSON-LD capture document with the bytes a
// ledger keeps for it: an EPCIS 2.0 JSON-LD document holding that event
// alone, made of the capture document's own bytes (its @context, type,
// schemaVersion, creationDate and ignoreFields members and the event),
// with insignificant whitespace removed and nothing else changed. The
// document is Head, which every event of the capture document shares,
// then EventBytes, then CaptureTail.
//
// Decode of Bytes yields Event exactly, by construction: the event is
// read from the same tokens in the same context as when the whole
// document was decoded, and nothing else a document holds bears on its
// events. So a node that keeps Bytes need not decode them back to know
// what they say; TestCapturedDecodesToItsEvent holds this over the
// conformance corpus and FuzzCaptured over any document. Only this
// package makes a Captured.
type Captured struct {
	ev    *Event
	head  []byte // shared by the document's events
	event []byte
}

// CaptureTail closes a one-event document after its event.
const CaptureTail = "]}}"

// Event is the decoded event.
func (c Captured) Event() *Event { return c.ev }

// Head is the one-event document up to its event: the capture document's
// kept members in name order, then "epcisBody":{"eventList":[. Every
// event of one document shares it; it must not be changed.
func (c Captured) Head() []byte { return c.head }

// EventBytes is the event object as the document gave it, without
// insignificant whitespace.
func (c Captured) EventBytes() []byte { return c.event }

// Bytes is the one-event document kept for the event: Head, EventBytes,
// then CaptureTail.
func (c Captured) Bytes() []byte {
	b := make([]byte, 0, len(c.head)+len(c.event)+len(CaptureTail))
	return append(append(append(b, c.head...), c.event...), CaptureTail...)
}

// DecodeCapture is Decode for a capture document whose events are in
// epcisBody.eventList, and also returns each event as Captured. For a
// document of another form (a query document, a single event) captured
// is nil and the caller encodes the events itself.
func (v *Validator) DecodeCapture(data []byte) (doc *Document, captured []Captured, err error) {
	tree, parts, err := v.validateCapture(data)
	if err != nil {
		return nil, nil, err
	}
	if doc, err = decodeTree(tree); err != nil {
		return nil, nil, err
	}
	return doc, parts.captured(doc), nil
}

// captured returns each event of doc, decoded from p's document, with its
// one-event document, made on all cores; nil when p is nil (the document
// did not split) or does not hold doc's events.
func (p *captureParts) captured(doc *Document) []Captured {
	if p == nil || len(p.events) != len(doc.Events) {
		return nil
	}
	head := p.head()
	out := make([]Captured, len(doc.Events))
	err := inParallel(len(out), func(i int) error {
		raw := p.events[i]
		b, err := appendCompact(make([]byte, 0, len(raw)), raw)
		if err != nil {
			return err
		}
		out[i] = Captured{ev: &doc.Events[i], head: head, event: b}
		return nil
	})
	if err != nil {
		return nil // not after the decoder read the same bytes
	}
	return out
}

// captureParts are the members of a capture document that bear on its
// events, compacted, and its events as they are in the document.
type captureParts struct {
	root   map[string][]byte // @context, type, schemaVersion, creationDate, *ignoreFields
	events [][]byte          // slices of the document
	body   map[string]any    // the epcisBody the events are in, unmarshalled
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

// appendCompact appends the JSON value v to dst without insignificant
// whitespace: the tokens are unchanged, strings and numbers as written.
func appendCompact(dst, v []byte) ([]byte, error) {
	n := len(dst)
	dst = append(dst, v...)
	c := jsontext.Value(dst[n:])
	if err := c.Compact(); err != nil { // in place: it only shortens
		return nil, err
	}
	return dst[:n+len(c)], nil
}
