package epcis

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Bounds of the XML reader: a document larger than MaxXMLSize bytes or
// nested deeper than MaxXMLDepth elements is refused before it is decoded.
const (
	MaxXMLSize  = 64 << 20
	MaxXMLDepth = 64
)

// XML namespaces the decoder knows.
const (
	nsXSI     = "http://www.w3.org/2001/XMLSchema-instance"
	nsXML     = "http://www.w3.org/XML/1998/namespace"
	nsEPCIS2  = "urn:epcglobal:epcis:xsd:2"
	nsEPCIS1  = "urn:epcglobal:epcis:xsd:1"
	nsQuery2  = "urn:epcglobal:epcis-query:xsd:2"
	nsQuery1  = "urn:epcglobal:epcis-query:xsd:1"
	nsSBDH    = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
	xmlnsAttr = "xmlns"
)

// xnode is one element of a parsed XML document: its expanded name, its
// attributes (namespace declarations left out, names expanded), its
// character data and its child elements, with the line it starts on.
type xnode struct {
	name  xml.Name
	attrs []xml.Attr
	text  string
	kids  []*xnode
	line  int
}

// xmlTree is a parsed document: the root element and every namespace
// declaration met, prefix to IRI (the first binding of a prefix wins).
type xmlTree struct {
	root   *xnode
	prefix map[string]string
	// rootSpace is the namespace of the root element when it is an EPCIS
	// namespace (the root's name is then recorded without it, as are all
	// elements in the EPCIS namespaces).
	rootSpace string
}

// lineCounter turns decoder input offsets into 1-based line numbers,
// counting newlines incrementally as the offsets only grow.
type lineCounter struct {
	data []byte
	off  int64
	line int
}

func (c *lineCounter) at(off int64) int {
	if off > int64(len(c.data)) {
		off = int64(len(c.data))
	}
	if off > c.off {
		c.line += bytes.Count(c.data[c.off:off], []byte{'\n'})
		c.off = off
	}
	return c.line
}

// xmlErr returns a FieldError for the element at path and line.
func xmlErr(path string, line int, msg string) error {
	return &FieldError{Field: path, Line: line, Msg: msg}
}

// parseXML reads data into an element tree. It refuses DTDs (a DOCTYPE
// with an internal subset or an external identifier, hence every entity
// definition; "<!DOCTYPE name>" alone declares nothing and is let through),
// undeclared namespace prefixes, documents over MaxXMLSize bytes and
// nesting deeper than MaxXMLDepth. Elements in the EPCIS namespaces are
// recorded as unqualified, the form the XSD prescribes below the root. Namespace prefixes are resolved here, with the scoping
// rules of XML Namespaces 1.0.
func parseXML(data []byte) (*xmlTree, error) {
	if len(data) > MaxXMLSize {
		return nil, xmlErr("", 0, fmt.Sprintf("XML document larger than %d bytes", MaxXMLSize))
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // a UTF-8 byte order mark
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	lines := &lineCounter{data: data, line: 1}
	tree := &xmlTree{prefix: map[string]string{}}
	type frame struct {
		node  *xnode
		raw   xml.Name
		scope map[string]string
		path  string
		text  strings.Builder
	}
	var stack []*frame
	sawDoctype := false
	scope := map[string]string{"xml": nsXML}
	path := ""
	for {
		off := dec.InputOffset()
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		line := lines.at(off)
		if err != nil {
			msg := err.Error()
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				line, msg = se.Line, se.Msg
			}
			return nil, xmlErr(path, line, "malformed XML: "+msg)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if tree.root != nil && len(stack) == 0 {
				return nil, xmlErr(path, line, "more than one root element")
			}
			if len(stack) >= MaxXMLDepth {
				return nil, xmlErr(path, line, fmt.Sprintf("elements nested deeper than %d", MaxXMLDepth))
			}
			inner, copied := scope, false
			for _, a := range t.Attr {
				if a.Name.Space == xmlnsAttr || (a.Name.Space == "" && a.Name.Local == xmlnsAttr) {
					if !copied {
						copied = true
						inner = make(map[string]string, len(scope)+2)
						for k, v := range scope {
							inner[k] = v
						}
					}
					p := a.Name.Local
					if a.Name.Space == "" {
						p = ""
					}
					inner[p] = a.Value
					if _, ok := tree.prefix[p]; !ok && p != "" && a.Value != "" {
						tree.prefix[p] = a.Value
					}
				}
			}
			n := &xnode{line: line}
			elPath := joinPath(path, t.Name.Local)
			if n.name, err = resolve(inner, t.Name, true); err != nil {
				return nil, xmlErr(elPath, line, err.Error())
			}
			if n.name.Space == nsEPCIS2 || n.name.Space == nsEPCIS1 {
				// Standard elements are unqualified; some writers qualify
				// them with the EPCIS namespace all the same.
				if tree.root == nil {
					tree.rootSpace = n.name.Space
				}
				n.name.Space = ""
			}
			for _, a := range t.Attr {
				if a.Name.Space == xmlnsAttr || (a.Name.Space == "" && a.Name.Local == xmlnsAttr) {
					continue
				}
				an, err := resolve(inner, a.Name, false)
				if err != nil {
					return nil, xmlErr(joinPath(elPath, "@"+a.Name.Local), line, err.Error())
				}
				n.attrs = append(n.attrs, xml.Attr{Name: an, Value: a.Value})
			}
			if len(stack) > 0 {
				parent := stack[len(stack)-1].node
				parent.kids = append(parent.kids, n)
			} else {
				tree.root = n
			}
			stack = append(stack, &frame{node: n, raw: t.Name, scope: scope, path: path})
			scope, path = inner, elPath
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, xmlErr(path, line, "unexpected end element")
			}
			f := stack[len(stack)-1]
			if f.raw != t.Name {
				return nil, xmlErr(path, line, fmt.Sprintf("element <%s> closed by </%s>", rawName(f.raw), rawName(t.Name)))
			}
			f.node.text = f.text.String()
			stack = stack[:len(stack)-1]
			scope, path = f.scope, f.path
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, xmlErr(path, line, "text outside the root element")
				}
				continue
			}
			stack[len(stack)-1].text.Write(t)
		case xml.Directive:
			if !bareDoctype(t) || sawDoctype || tree.root != nil {
				return nil, xmlErr(path, line, "DTD declarations (entities, internal subsets, external DTDs) are not accepted")
			}
			sawDoctype = true
		}
	}
	if len(stack) > 0 {
		return nil, xmlErr(path, lines.at(int64(len(data))), "unexpected end of document")
	}
	if tree.root == nil {
		return nil, xmlErr("", 1, "no XML root element")
	}
	return tree, nil
}

// bareDoctype reports whether a directive is a document type declaration
// naming the root element only, "<!DOCTYPE name>", which declares nothing.
func bareDoctype(d xml.Directive) bool {
	f := strings.Fields(string(d))
	return len(f) == 2 && f[0] == "DOCTYPE" && !strings.ContainsAny(f[1], "[<>%&\"'")
}

// resolve expands a raw name with the namespace declarations in scope. An
// unprefixed element takes the default namespace; an unprefixed attribute
// has none.
func resolve(scope map[string]string, raw xml.Name, element bool) (xml.Name, error) {
	if raw.Space == "" {
		if element {
			return xml.Name{Space: scope[""], Local: raw.Local}, nil
		}
		return xml.Name{Local: raw.Local}, nil
	}
	iri, ok := scope[raw.Space]
	if !ok || iri == "" {
		return xml.Name{}, fmt.Errorf("undeclared namespace prefix %q", raw.Space)
	}
	return xml.Name{Space: iri, Local: raw.Local}, nil
}

func rawName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}
