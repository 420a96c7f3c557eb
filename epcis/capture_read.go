package epcis

import (
	"bytes"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// unmarshalCapture is unmarshal for a document that may be a capture
// document: it gives the same tree, and also the document's captureParts
// when the document is an object whose last epcisBody is an object whose
// last eventList is an array (nil otherwise). The document is read once
// on one core, its eventList items only as far as finding their ends;
// the items are then unmarshalled on all cores, which is most of the
// work for a large document.
func unmarshalCapture(data []byte) (any, *captureParts, error) {
	tree, parts, ok := readCapture(data)
	if !ok {
		// Not an object, or not JSON: unmarshal reads it, and words the
		// error as it does for any document.
		v, err := unmarshal(data)
		return v, nil, err
	}
	if parts.body == nil {
		return tree, nil, nil
	}
	items := make([]any, len(parts.events))
	if err := inChunks(len(items), func(lo, hi int) (err error) {
		var r treeReader
		for i := lo; i < hi; i++ {
			if items[i], err = r.unmarshal(parts.events[i]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		v, err := unmarshal(data) // not after the reader took the items
		return v, nil, err
	}
	parts.body["eventList"] = items
	return tree, parts, nil
}

// readCapture reads an object document as unmarshal does, except that
// the items of its last epcisBody's last eventList, when that is an
// array, are left out of the tree and found as slices of data
// (parts.events), and parts.body is the epcisBody object they belong in.
// ok is false when data is not a JSON object or not JSON at all.
func readCapture(data []byte) (tree map[string]any, parts *captureParts, ok bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, nil, false
	}
	root := make(map[string]any)
	parts = &captureParts{root: map[string][]byte{}}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return nil, nil, false
		}
		k := name.String()
		switch {
		case k == "epcisBody" && dec.PeekKind() == '{':
			// The last epcisBody counts, as in unmarshal.
			body, events, list, err := readBody(dec, data)
			if err != nil {
				return nil, nil, false
			}
			root[k], parts.body, parts.events = body, nil, nil
			if list {
				parts.body, parts.events = body, events
			}
			continue
		case keptRootMember(k):
			raw, err := dec.ReadValue()
			if err != nil {
				return nil, nil, false
			}
			if parts.root[k], err = appendCompact(nil, raw); err != nil {
				return nil, nil, false
			}
			root[k], err = unmarshal(raw) // raw is valid until the next read
			if err != nil {
				return nil, nil, false
			}
		default:
			if root[k], err = treeValue(dec); err != nil {
				return nil, nil, false
			}
		}
		if k == "epcisBody" {
			parts.body, parts.events = nil, nil
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, nil, false
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, nil, false
	}
	return root, parts, true
}

// readBody reads an epcisBody object of data as treeValue does, except
// the items of its last eventList when that is an array (list): those are
// returned as slices of data, and body has no eventList until the caller
// gives it them.
func readBody(dec *jsontext.Decoder, data []byte) (body map[string]any, events [][]byte, list bool, err error) {
	if _, err := dec.ReadToken(); err != nil {
		return nil, nil, false, err
	}
	m := make(map[string]any)
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, nil, false, err
		}
		name := tok.String() // tok is valid until the next read
		if name != "eventList" || dec.PeekKind() != '[' {
			if m[name], err = treeValue(dec); err != nil {
				return nil, nil, false, err
			}
			if name == "eventList" {
				events, list = nil, false // the last eventList counts
			}
			continue
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, nil, false, err
		}
		events, list = nil, true
		delete(m, name)
		for dec.PeekKind() != ']' {
			v, err := dec.ReadValue()
			if err != nil {
				return nil, nil, false, err
			}
			end := int(dec.InputOffset()) // v is the input's bytes before it
			events = append(events, data[end-len(v):end])
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, nil, false, err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, nil, false, err
	}
	return m, events, list, nil
}
