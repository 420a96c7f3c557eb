package epcis

import (
	"errors"
	"fmt"
	"strings"
)

// event decodes the event element n (its local name is the event type)
// into ev and validates it.
func (x *xmlDecoder) event(n *xnode, path string, ev *Event) error {
	ev.Type = EventType(n.name.Local)
	if !ev.Type.Valid() {
		return xmlErr(path, n.line, fmt.Sprintf("unknown event type %q", n.name.Local))
	}
	var err error
	if ev.Extensions, err = x.attrFields(n, path, nil); err != nil {
		return err
	}
	lines := map[string]int{} // standard member → line of its element
	if x.strictOrder {
		if err := inOrder(n, path, xsdRanks(ev.Type)); err != nil {
			return err
		}
	}
	for _, k := range flatten(n) {
		kp := joinPath(path, k.name.Local)
		if k.name.Space != "" {
			f, err := x.field(k, kp)
			if err != nil {
				return err
			}
			ev.Extensions = append(ev.Extensions, f)
			continue
		}
		if _, seen := lines[k.name.Local]; seen && k.name.Local != "certificationInfo" {
			return xmlErr(kp, k.line, "repeated")
		}
		lines[k.name.Local] = k.line
		if err := at(k, x.eventMember(ev, k, kp)); err != nil {
			return err
		}
	}
	if err := validateEvent(ev, path); err != nil {
		// the line of the member at fault, or of the event when it is missing
		var fe *FieldError
		if errors.As(err, &fe) {
			member, _, _ := strings.Cut(strings.TrimPrefix(fe.Field, path+"."), ".")
			if l, ok := lines[member]; ok {
				fe.Line = l
			}
		}
		return at(n, err)
	}
	return nil
}

// xsdRanks gives the standard members of an event of type t their
// position in the XSD sequence: the members of every event, then those of
// the type (xmlEventOrder, the order EncodeXML writes).
func xsdRanks(t EventType) map[string]int {
	common := []string{"eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "errorDeclaration", "certificationInfo"}
	ranks := make(map[string]int, len(common)+16)
	for i, m := range append(common, xmlEventOrder(t)...) {
		ranks[m] = i
	}
	return ranks
}

// inOrder checks that the standard children of event element n follow
// ranks. The content of a 1.x extension wrapper (extension,
// baseExtension) is not checked: the 1.x XSD leaves its inner extension
// open (xsd:any), where documents put the 2.0 members in any order.
func inOrder(n *xnode, path string, ranks map[string]int) error {
	last, lastName := -1, ""
	for _, k := range n.kids {
		if k.name.Space != "" {
			continue
		}
		r, ok := ranks[k.name.Local]
		if !ok {
			continue
		}
		if r < last {
			return xmlErr(joinPath(path, k.name.Local), k.line, "out of order: the XSD sequence puts it before "+lastName)
		}
		last, lastName = r, k.name.Local
	}
	return nil
}

// eventMember decodes one standard child element of an event.
func (x *xmlDecoder) eventMember(ev *Event, k *xnode, p string) error {
	var err error
	switch k.name.Local {
	case "eventTime":
		ev.EventTime, err = x.text(k, p)
	case "eventTimeZoneOffset":
		ev.EventTimeZoneOffset, err = x.text(k, p)
	case "recordTime":
		ev.RecordTime, err = x.text(k, p)
	case "eventID":
		ev.EventID, err = x.iri(k, p)
	case "certificationInfo":
		var s string
		if s, err = x.iri(k, p); err == nil {
			ev.CertificationInfo = append(ev.CertificationInfo, s)
		}
	case "errorDeclaration":
		ev.ErrorDeclaration, err = x.errorDeclaration(k, p)
	case "parentID":
		ev.ParentID, err = x.iri(k, p)
	case "epcList":
		ev.EPCList, err = x.epcs(k, p, "epc")
	case "childEPCs":
		ev.ChildEPCs, err = x.epcs(k, p, "epc")
	case "inputEPCList":
		ev.InputEPCList, err = x.epcs(k, p, "epc")
	case "outputEPCList":
		ev.OutputEPCList, err = x.epcs(k, p, "epc")
	case "quantityList":
		ev.QuantityList, err = x.quantityList(k, p)
	case "childQuantityList":
		ev.ChildQuantityList, err = x.quantityList(k, p)
	case "inputQuantityList":
		ev.InputQuantityList, err = x.quantityList(k, p)
	case "outputQuantityList":
		ev.OutputQuantityList, err = x.quantityList(k, p)
	case "action":
		ev.Action, err = x.text(k, p)
	case "transformationID":
		ev.TransformationID, err = x.iri(k, p)
	case "bizStep":
		ev.BizStep, err = x.termText(vocabBizStep, k, p)
	case "disposition":
		ev.Disposition, err = x.termText(vocabDisposition, k, p)
	case "persistentDisposition":
		ev.PersistentDisposition, err = x.persistentDisposition(k, p)
	case "readPoint":
		ev.ReadPoint, err = x.location(k, p)
	case "bizLocation":
		ev.BizLocation, err = x.location(k, p)
	case "bizTransactionList":
		ev.BizTransactionList, err = x.bizTransactions(k, p)
	case "sourceList":
		ev.SourceList, err = x.sourceDests(k, p, "source")
	case "destinationList":
		ev.DestinationList, err = x.sourceDests(k, p, "destination")
	case "sensorElementList":
		ev.SensorElementList, err = x.sensorElements(k, p)
	case "ilmd":
		ev.ILMD, err = x.fields(k, p)
	default:
		return xmlErr(p, k.line, "unknown element (extensions need a namespace)")
	}
	return err
}

// text returns the trimmed character data of a simple element, refusing
// child elements and attributes other than xsi:*.
func (x *xmlDecoder) text(n *xnode, p string) (string, error) {
	if len(n.kids) > 0 {
		return "", xmlErr(joinPath(p, n.kids[0].name.Local), n.kids[0].line, "unexpected element in a simple value")
	}
	for _, a := range n.attrs {
		if a.Name.Space != nsXSI {
			return "", xmlErr(joinPath(p, "@"+a.Name.Local), n.line, "unexpected attribute")
		}
	}
	return trim(n.text), nil
}

// iri returns the text of n with a GS1 CURIE expanded (see expand).
func (x *xmlDecoder) iri(n *xnode, p string) (string, error) {
	s, err := x.text(n, p)
	if err != nil {
		return "", err
	}
	return x.expand(s), nil
}

// expand expands a value written with the gs1: or cbv: prefix of the
// EPCIS 2.0 XML binding (gs1:Temperature, cbv:Comp-x) to the GS1 Web
// Vocabulary or CBV IRI, whatever the document binds these prefixes to, as
// the reference implementation does. XML values are URIs: other prefixes
// are URI schemes and kept.
func (x *xmlDecoder) expand(v string) string {
	switch {
	case strings.HasPrefix(v, "gs1:"):
		return "https://gs1.org/voc/" + v[len("gs1:"):]
	case strings.HasPrefix(v, "cbv:"):
		return "https://ref.gs1.org/cbv/" + v[len("cbv:"):]
	case x.jsonLDCURIEs:
		return x.d.ctx.expandIRI(v)
	}
	return v
}

// termText returns the text of n as a vocabulary IRI (see term).
func (x *xmlDecoder) termText(kind vocab, n *xnode, p string) (string, error) {
	s, err := x.text(n, p)
	if err != nil {
		return "", err
	}
	return x.term(kind, s, p)
}

// term returns a vocabulary value: a bare standard term becomes its IRI, a
// GS1 CURIE is expanded, and a bare word that is not a standard term is
// refused for the closed CBV vocabularies.
func (x *xmlDecoder) term(kind vocab, s, p string) (string, error) {
	if iri := expandTerm(kind, s); iri != "" {
		return iri, nil
	}
	open := kind == vocabMeasurementType || kind == vocabComponent || kind == vocabSensorAlertType
	if !open && !strings.Contains(s, ":") {
		return "", fieldErr(p, fmt.Sprintf("%q is neither a standard vocabulary term nor a URI", s))
	}
	return x.expand(s), nil
}

// epcs decodes a list of EPC elements named child. An empty list is
// present (non-nil), as in JSON.
func (x *xmlDecoder) epcs(n *xnode, p, child string) ([]string, error) {
	out := []string{}
	for i, k := range flatten(n) {
		kp := fmt.Sprintf("%s.%s[%d]", p, k.name.Local, i)
		if k.name.Space != "" || k.name.Local != child {
			return nil, xmlErr(kp, k.line, "unexpected element (want "+child+")")
		}
		s, err := x.iri(k, kp)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// each calls fn for every child of n named child, refusing other
// unqualified children; namespaced ones are appended to *ext as fields.
func (x *xmlDecoder) each(n *xnode, p, child string, ext *[]Field, fn func(k *xnode, kp string) error) error {
	i := 0
	for _, k := range flatten(n) {
		if k.name.Space != "" && ext != nil {
			f, err := x.field(k, joinPath(p, k.name.Local))
			if err != nil {
				return err
			}
			*ext = append(*ext, f)
			continue
		}
		kp := fmt.Sprintf("%s.%s[%d]", p, k.name.Local, i)
		if k.name.Space != "" || k.name.Local != child {
			return xmlErr(kp, k.line, "unexpected element (want "+child+")")
		}
		if err := at(k, fn(k, kp)); err != nil {
			return err
		}
		i++
	}
	return nil
}

// members decodes the children of a standard structure: fn handles the
// standard ones (reporting false for a name it does not know), namespaced
// ones and attributes become extension fields, and any other is refused.
func (x *xmlDecoder) members(n *xnode, p string, ext *[]Field, fn func(k *xnode, kp string) (bool, error)) error {
	var err error
	if *ext, err = x.attrFields(n, p, *ext); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, k := range flatten(n) {
		kp := joinPath(p, k.name.Local)
		if k.name.Space != "" {
			f, err := x.field(k, kp)
			if err != nil {
				return err
			}
			*ext = append(*ext, f)
			continue
		}
		if seen[k.name.Local] && !repeatable(k.name.Local) {
			return xmlErr(kp, k.line, "repeated")
		}
		seen[k.name.Local] = true
		known, err := fn(k, kp)
		if err != nil {
			return at(k, err)
		}
		if !known {
			return xmlErr(kp, k.line, "unknown element (extensions need a namespace)")
		}
	}
	return nil
}

func (x *xmlDecoder) quantityList(n *xnode, p string) ([]QuantityElement, error) {
	out := []QuantityElement{}
	err := x.each(n, p, "quantityElement", nil, func(k *xnode, kp string) error {
		var q QuantityElement
		err := x.members(k, kp, &q.Extensions, func(m *xnode, mp string) (bool, error) {
			var err error
			switch m.name.Local {
			case "epcClass":
				q.EPCClass, err = x.iri(m, mp)
			case "quantity":
				if q.Quantity, err = x.text(m, mp); err == nil && q.Quantity != "" {
					if _, ok := canonDecimal(q.Quantity); !ok || strings.ContainsAny(q.Quantity, "eE_") {
						err = fieldErr(mp, "not a decimal number")
					}
				}
			case "uom":
				q.UOM, err = x.text(m, mp)
			default:
				return false, nil
			}
			return true, err
		})
		if err != nil {
			return err
		}
		if q.EPCClass == "" {
			return xmlErr(joinPath(kp, "epcClass"), k.line, "missing")
		}
		out = append(out, q)
		return nil
	})
	return out, err
}

func (x *xmlDecoder) persistentDisposition(n *xnode, p string) (*PersistentDisposition, error) {
	pd := new(PersistentDisposition)
	err := x.members(n, p, &pd.Extensions, func(k *xnode, kp string) (bool, error) {
		switch k.name.Local {
		case "set", "unset":
			s, err := x.termText(vocabDisposition, k, kp)
			if k.name.Local == "set" {
				pd.Set = append(pd.Set, s)
			} else {
				pd.Unset = append(pd.Unset, s)
			}
			return true, err
		}
		return false, nil
	})
	return pd, err
}

func (x *xmlDecoder) location(n *xnode, p string) (*Location, error) {
	loc := new(Location)
	err := x.members(n, p, &loc.Extensions, func(k *xnode, kp string) (bool, error) {
		if k.name.Local != "id" {
			return false, nil
		}
		var err error
		loc.ID, err = x.iri(k, kp)
		return true, err
	})
	return loc, err
}

// typedValue reads an element whose text is an identifier and whose type
// attribute is a vocabulary value (bizTransaction, source, destination);
// other namespaced attributes become extension fields.
func (x *xmlDecoder) typedValue(k *xnode, kp string, kind vocab) (typ, value string, ext []Field, err error) {
	for _, a := range k.attrs {
		switch {
		case a.Name.Space == "" && a.Name.Local == "type":
			if typ, err = x.term(kind, trim(a.Value), joinPath(kp, "@type")); err != nil {
				return "", "", nil, err
			}
		case a.Name.Space == "" || a.Name.Space == nsXSI:
			if a.Name.Space == "" {
				return "", "", nil, xmlErr(joinPath(kp, "@"+a.Name.Local), k.line, "unknown attribute")
			}
		default:
			ext = append(ext, x.attrField(a))
		}
	}
	for _, c := range k.kids {
		if c.name.Space == "" {
			return "", "", nil, xmlErr(joinPath(kp, c.name.Local), c.line, "unexpected element")
		}
		f, err := x.field(c, joinPath(kp, c.name.Local))
		if err != nil {
			return "", "", nil, err
		}
		ext = append(ext, f)
	}
	return typ, x.expand(trim(k.text)), ext, nil
}

func (x *xmlDecoder) bizTransactions(n *xnode, p string) ([]BizTransaction, error) {
	out := []BizTransaction{}
	err := x.each(n, p, "bizTransaction", nil, func(k *xnode, kp string) error {
		typ, v, ext, err := x.typedValue(k, kp, vocabBizTransactionType)
		if err != nil {
			return err
		}
		if v == "" {
			return xmlErr(kp, k.line, "missing business transaction identifier")
		}
		out = append(out, BizTransaction{Type: typ, Value: v, Extensions: ext})
		return nil
	})
	return out, err
}

func (x *xmlDecoder) sourceDests(n *xnode, p, child string) ([]SourceDest, error) {
	out := []SourceDest{}
	err := x.each(n, p, child, nil, func(k *xnode, kp string) error {
		typ, v, ext, err := x.typedValue(k, kp, vocabSourceDestType)
		if err != nil {
			return err
		}
		if v == "" || typ == "" {
			return xmlErr(kp, k.line, "needs both the type attribute and the identifier")
		}
		out = append(out, SourceDest{Type: typ, ID: v, Extensions: ext})
		return nil
	})
	return out, err
}

func (x *xmlDecoder) errorDeclaration(n *xnode, p string) (*ErrorDeclaration, error) {
	ed := new(ErrorDeclaration)
	err := x.members(n, p, &ed.Extensions, func(k *xnode, kp string) (bool, error) {
		var err error
		switch k.name.Local {
		case "declarationTime":
			if ed.DeclarationTime, err = x.text(k, kp); err == nil {
				_, err = checkTime(ed.DeclarationTime, kp)
			}
		case "reason":
			ed.Reason, err = x.termText(vocabErrorReason, k, kp)
		case "correctiveEventIDs":
			ed.CorrectiveEventIDs, err = x.epcs(k, kp, "correctiveEventID")
		default:
			return false, nil
		}
		return true, err
	})
	return ed, err
}

// repeatable reports whether a standard child element may occur more than
// once in its structure.
func repeatable(local string) bool {
	return local == "set" || local == "unset" || local == "sensorReport"
}
