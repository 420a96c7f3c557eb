package epcis

import (
	"errors"
	"fmt"
)

// xmlDecoder maps the elements of an EPCIS XML document onto the model.
// Its decoder carries the standard JSON-LD prefixes overlaid with the
// document's namespace declarations, used to expand CURIE values.
type xmlDecoder struct {
	d decoder
	// jsonLDCURIEs reads values as JSON-LD reads them: a CURIE with any
	// declared prefix is expanded, and the CBV master-data namespace
	// urn:epcglobal:cbv:mda is the cbvmda namespace of the JSON-LD context
	// (with its trailing ':'). The reference implementation does neither
	// for XML; the tests use it to show that this is all that separates
	// the pairs of another implementation that hash XML as JSON-LD.
	jsonLDCURIEs bool
	// strictOrder refuses the standard elements of an event out of the
	// order of the XSD sequence (DecodeXMLStrict).
	strictOrder bool
}

// xsdNamespace reports whether iri is one of the namespaces of the XML
// binding itself (EPCIS, EPCIS query, EPCglobal, XML Schema), whose
// prefixes say nothing about extension fields.
func xsdNamespace(iri string) bool {
	switch iri {
	case nsEPCIS1, nsEPCIS2, nsQuery1, nsQuery2, nsXSI, nsSBDH, "urn:epcglobal:xsd:1", "urn:epcglobal:xsd:2",
		"http://www.w3.org/2001/XMLSchema", "urn:epcglobal:epcis-masterdata:xsd:1", "urn:epcglobal:epcis-masterdata:xsd:2":
		return true
	}
	return false
}

// DecodeXML parses an EPCIS XML capture document (epcis:EPCISDocument) or
// query document (epcisq:EPCISQueryDocument), EPCIS 2.0
// (urn:epcglobal:epcis:xsd:2) or 1.x (urn:epcglobal:epcis:xsd:1), with or
// without a StandardBusinessDocumentHeader, into the same model Decode
// gives for JSON-LD, so that PreHash and Hash apply unchanged. The 1.x
// extension wrappers (extension, baseExtension) are read as if their
// content stood in their place. Every event is validated as Decode
// validates it; the first problem is returned as a *FieldError naming the
// element path and its line, e.g.
// "epcis: line 17: EPCISBody.EventList.ObjectEvent[2].eventTime: missing".
//
// The reader is bounded: documents over MaxXMLSize bytes, nested deeper
// than MaxXMLDepth, with a DOCTYPE (hence entity definitions), undeclared
// namespace prefixes or an encoding other than UTF-8 are refused.
func DecodeXML(data []byte) (*Document, error) {
	return decodeXML(data, false)
}

// DecodeXMLStrict is DecodeXML that also holds the standard elements of
// each event to the order of the XSD sequence (EPCIS 2.0, and 1.x with its
// extension wrappers read in place), as a repository validating captures
// against the XSD must: an element out of order is a *FieldError naming it
// and its line. DecodeXML accepts any order, as the reference hash
// implementations do, so that any document can be hashed.
func DecodeXMLStrict(data []byte) (*Document, error) {
	return decode(data, xmlOptions{strictOrder: true})
}

func decodeXML(data []byte, jsonLDCURIEs bool) (*Document, error) {
	return decode(data, xmlOptions{jsonLDCURIEs: jsonLDCURIEs})
}

// xmlOptions say how a document is read.
type xmlOptions struct {
	jsonLDCURIEs bool // see xmlDecoder
	strictOrder  bool // see xmlDecoder
}

func decode(data []byte, o xmlOptions) (*Document, error) {
	tree, err := parseXML(data)
	if err != nil {
		return nil, err
	}
	root := tree.root
	ctx := standardContext()
	for p, iri := range tree.prefix {
		if !xsdNamespace(iri) {
			ctx.prefixes[p] = iri
		}
	}
	x := &xmlDecoder{d: decoder{ctx: ctx}, jsonLDCURIEs: o.jsonLDCURIEs, strictOrder: o.strictOrder}
	doc := &Document{Namespaces: ctx.prefixes, Type: root.name.Local}
	path := root.name.Local
	switch {
	case root.name.Local == "EPCISDocument" && tree.rootSpace != "":
	case root.name.Local == "EPCISQueryDocument" && (root.name.Space == nsQuery2 || root.name.Space == nsQuery1):
	default:
		return nil, xmlErr(path, root.line, "the root element is neither an EPCIS document nor an EPCIS query document")
	}
	for _, a := range root.attrs {
		switch {
		case a.Name.Space == "" && a.Name.Local == "schemaVersion":
			doc.SchemaVersion = trim(a.Value)
		case a.Name.Space == "" && a.Name.Local == "creationDate":
			doc.CreationDate = trim(a.Value)
		}
	}
	lists, err := x.bodies(root, path, doc)
	if err != nil {
		return nil, err
	}
	for _, l := range lists {
		if err := x.eventList(l.node, l.path, doc); err != nil {
			return nil, err
		}
	}
	for i := range doc.Events {
		doc.Events[i].IgnoreFields = doc.IgnoreFields
	}
	return doc, nil
}

type located struct {
	node *xnode
	path string
}

// bodies walks the document structure down to its EventList elements:
// EPCISBody/EventList for a capture document,
// EPCISBody/QueryResults/resultsBody/EventList for a query document. The
// header (EPCISHeader, with its SBDH) is skipped; ignoreFields elements
// met on the way are read into doc.IgnoreFields.
func (x *xmlDecoder) bodies(root *xnode, path string, doc *Document) ([]located, error) {
	query := doc.Type == "EPCISQueryDocument"
	var lists []located
	sawBody, sawResults := false, false
	var walk func(n *xnode, path string, depth int) error
	walk = func(n *xnode, path string, depth int) error {
		for _, k := range n.kids {
			kp := joinPath(path, k.name.Local)
			switch {
			case k.name.Local == "ignoreFields":
				for _, f := range k.kids {
					doc.IgnoreFields = append(doc.IgnoreFields, Name{Space: f.name.Space, Local: f.name.Local})
				}
			case k.name.Local == "EPCISHeader" || k.name.Space != "" && !xsdNamespace(k.name.Space):
				// header, SBDH and foreign elements: not part of the events
			case k.name.Local == "EventList" && k.name.Space == "":
				lists = append(lists, located{k, kp})
			case depth < 4 && (k.name.Local == "EPCISBody" || k.name.Local == "QueryResults" ||
				k.name.Local == "resultsBody" || k.name.Local == "extension"):
				sawBody = sawBody || k.name.Local == "EPCISBody"
				sawResults = sawResults || k.name.Local == "resultsBody"
				if err := walk(k, kp, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(root, path, 0); err != nil {
		return nil, err
	}
	switch {
	case query && !sawResults:
		return nil, xmlErr(joinPath(path, "EPCISBody"), root.line, "a query document without QueryResults/resultsBody (not a query result)")
	case !query && !sawBody:
		return nil, xmlErr(joinPath(path, "EPCISBody"), root.line, "missing")
	case len(lists) > 1:
		return nil, xmlErr(lists[1].path, lists[1].node.line, "more than one EventList")
	}
	return lists, nil
}

// eventList decodes the events of an EventList (and of its 1.x extension
// wrappers) in document order.
func (x *xmlDecoder) eventList(list *xnode, path string, doc *Document) error {
	for _, n := range flatten(list) {
		p := fmt.Sprintf("%s.%s[%d]", path, n.name.Local, len(doc.Events))
		if n.name.Space != "" {
			return xmlErr(p, n.line, fmt.Sprintf("unknown event type {%s}%s", n.name.Space, n.name.Local))
		}
		ev := Event{}
		if err := x.event(n, p, &ev); err != nil {
			return err
		}
		doc.Events = append(doc.Events, ev)
	}
	return nil
}

// DecodeXMLEvent parses a single EPCIS event given as an XML element
// (<ObjectEvent>…</ObjectEvent> and the other four types), as in the
// capture examples of the standard. Namespace declarations on the element
// are in force as in a document.
func DecodeXMLEvent(data []byte) (*Event, error) {
	tree, err := parseXML(data)
	if err != nil {
		return nil, err
	}
	ctx := standardContext()
	for p, iri := range tree.prefix {
		if !xsdNamespace(iri) {
			ctx.prefixes[p] = iri
		}
	}
	x := &xmlDecoder{d: decoder{ctx: ctx}}
	ev := new(Event)
	if tree.root.name.Space != "" {
		return nil, xmlErr(tree.root.name.Local, tree.root.line, "not an EPCIS event element")
	}
	if err := x.event(tree.root, tree.root.name.Local, ev); err != nil {
		return nil, err
	}
	return ev, nil
}

// flatten returns the child elements of n with every unqualified
// extension or baseExtension wrapper (EPCIS 1.x) replaced by its content.
func flatten(n *xnode) []*xnode {
	out := make([]*xnode, 0, len(n.kids))
	for _, k := range n.kids {
		if k.name.Space == "" && (k.name.Local == "extension" || k.name.Local == "baseExtension") {
			out = append(out, flatten(k)...)
			continue
		}
		out = append(out, k)
	}
	return out
}

// at gives a FieldError without a line the line of n.
func at(n *xnode, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) && fe.Line == 0 {
		fe.Line = n.line
	}
	return err
}
