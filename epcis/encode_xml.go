package epcis

import (
	"bytes"
	"encoding/xml"
	"fmt"
)

// xmlWriter writes indented XML, remembering the first error.
type xmlWriter struct {
	b     bytes.Buffer
	ns    *prefixTable
	depth int
	err   error
}

// xattr is one attribute to write; name is already qualified.
type xattr struct{ name, value string }

func (w *xmlWriter) fail(path, msg string) {
	if w.err == nil {
		w.err = fieldErr(path, msg)
	}
}

func (w *xmlWriter) indent() {
	w.b.WriteByte('\n')
	for i := 0; i < w.depth; i++ {
		w.b.WriteString("  ")
	}
}

// text writes escaped character data, refusing characters XML cannot
// carry.
func (w *xmlWriter) text(s, path string) {
	if !validXMLText(s) {
		w.fail(path, "a character XML cannot carry")
		return
	}
	_ = xml.EscapeText(&w.b, []byte(s)) // writing to a bytes.Buffer does not fail
}

// start writes a start tag; empty closes it at once.
func (w *xmlWriter) start(name string, attrs []xattr, path string, empty bool) {
	w.indent()
	w.b.WriteByte('<')
	w.b.WriteString(name)
	for _, a := range attrs {
		w.b.WriteByte(' ')
		w.b.WriteString(a.name)
		w.b.WriteString(`="`)
		w.text(a.value, joinPath(path, "@"+a.name))
		w.b.WriteByte('"')
	}
	if empty {
		w.b.WriteString("/>")
		return
	}
	w.b.WriteByte('>')
	w.depth++
}

func (w *xmlWriter) end(name string) {
	w.depth--
	w.indent()
	w.b.WriteString("</" + name + ">")
}

// leaf writes <name attrs>text</name>.
func (w *xmlWriter) leaf(name, text string, attrs []xattr, path string) {
	w.start(name, attrs, path, false)
	w.text(text, path)
	w.b.WriteString("</" + name + ">")
	w.depth--
}

// leafIf writes a leaf when text is not empty.
func (w *xmlWriter) leafIf(name, text, path string) {
	if text != "" {
		w.leaf(name, text, nil, joinPath(path, name))
	}
}

// qname returns the qualified XML name of a field, assigning its prefix.
func (w *xmlWriter) qname(n Name, path string) string {
	if !validNCName(n.Local) {
		w.fail(path, fmt.Sprintf("%q is not an XML name", n.Local))
		return "invalid"
	}
	if n.Space == "" {
		return n.Local
	}
	return w.ns.prefix(n.Space) + ":" + n.Local
}

// EncodeXML writes doc as an EPCIS 2.0 XML document
// (urn:epcglobal:epcis:xsd:2): an epcis:EPCISDocument, or an
// epcisq:EPCISQueryDocument with QueryResults when doc.Type is
// "EPCISQueryDocument". Standard elements follow the order of the XSD
// for each event type; extension fields are written in their namespaces,
// with the document's own prefixes where it declared them, fields that
// were XML attributes (Field.Attr) as attributes. DecodeXML reads the
// output back to the same events. What XML cannot express (a name that is
// not an XML name, a character XML cannot carry, a sensor extension that
// is not a scalar) is refused with a FieldError.
func EncodeXML(doc *Document) ([]byte, error) {
	if doc == nil {
		return nil, fieldErr("", "no document")
	}
	w := &xmlWriter{ns: newPrefixTable(doc, nil, reservedXMLPrefix)}
	var body xmlWriter
	body.ns, body.depth = w.ns, 3
	query := doc.Type == "EPCISQueryDocument"
	if query {
		body.depth = 5
	}
	for i := range doc.Events {
		body.event(&doc.Events[i], fmt.Sprintf("EventList.%s[%d]", doc.Events[i].Type, i))
	}
	var ignore xmlWriter
	ignore.ns, ignore.depth = w.ns, 1
	if len(doc.IgnoreFields) > 0 {
		ignore.start("epcis:ignoreFields", nil, "ignoreFields", false)
		for _, n := range doc.IgnoreFields {
			ignore.start(ignore.qname(n, "ignoreFields"), nil, "ignoreFields", true)
		}
		ignore.end("epcis:ignoreFields")
	}
	for _, sub := range []*xmlWriter{&body, &ignore} {
		if sub.err != nil {
			return nil, sub.err
		}
	}
	root := "epcis:EPCISDocument"
	attrs := []xattr{{"xmlns:epcis", nsEPCIS2}}
	if query {
		root = "epcisq:EPCISQueryDocument"
		attrs = append(attrs, xattr{"xmlns:epcisq", nsQuery2})
	}
	for _, d := range w.ns.declarations() {
		attrs = append(attrs, xattr{"xmlns:" + d[0], d[1]})
	}
	attrs = append(attrs, xattr{"schemaVersion", "2.0"})
	if doc.CreationDate != "" {
		attrs = append(attrs, xattr{"creationDate", doc.CreationDate})
	}
	w.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	w.start(root, attrs, "", false)
	w.b.Write(ignore.b.Bytes())
	w.start("EPCISBody", nil, "EPCISBody", false)
	if query {
		w.start("epcisq:QueryResults", nil, "QueryResults", false)
		w.leaf("queryName", "SimpleEventQuery", nil, "queryName")
		w.start("resultsBody", nil, "resultsBody", false)
	}
	w.start("EventList", nil, "EventList", false)
	w.b.Write(body.b.Bytes())
	w.end("EventList")
	if query {
		w.end("resultsBody")
		w.end("epcisq:QueryResults")
	}
	w.end("EPCISBody")
	w.end(root)
	w.b.WriteByte('\n')
	if w.err != nil {
		return nil, w.err
	}
	return w.b.Bytes(), nil
}

// xmlEventOrder lists, for each event type, its standard members in the
// order of the EPCIS 2.0 XSD (after the members common to all events).
func xmlEventOrder(t EventType) []string {
	switch t {
	case ObjectEvent:
		return []string{"epcList", "action", "bizStep", "disposition", "readPoint", "bizLocation", "bizTransactionList",
			"quantityList", "sourceList", "destinationList", "sensorElementList", "persistentDisposition", "ilmd"}
	case AggregationEvent:
		return []string{"parentID", "childEPCs", "action", "bizStep", "disposition", "readPoint", "bizLocation",
			"bizTransactionList", "childQuantityList", "sourceList", "destinationList", "sensorElementList", "persistentDisposition"}
	case TransactionEvent:
		return []string{"bizTransactionList", "parentID", "epcList", "action", "bizStep", "disposition", "readPoint",
			"bizLocation", "quantityList", "sourceList", "destinationList", "sensorElementList", "persistentDisposition"}
	case TransformationEvent:
		return []string{"inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList", "transformationID",
			"bizStep", "disposition", "readPoint", "bizLocation", "bizTransactionList", "sourceList", "destinationList",
			"sensorElementList", "persistentDisposition", "ilmd"}
	case AssociationEvent:
		return []string{"parentID", "childEPCs", "childQuantityList", "action", "bizStep", "disposition", "readPoint",
			"bizLocation", "bizTransactionList", "sourceList", "destinationList", "sensorElementList", "persistentDisposition"}
	}
	return nil
}

// allEventMembers lists every standard member, so that one the XSD does
// not give the event's type is still written (after the others).
func allEventMembers() []string {
	return []string{"parentID", "epcList", "childEPCs", "inputEPCList", "outputEPCList", "quantityList",
		"childQuantityList", "inputQuantityList", "outputQuantityList", "action", "transformationID", "bizStep", "disposition",
		"readPoint", "bizLocation", "bizTransactionList", "sourceList", "destinationList", "sensorElementList",
		"persistentDisposition", "ilmd"}
}

func (w *xmlWriter) event(ev *Event, p string) {
	name := string(ev.Type)
	if !ev.Type.Valid() {
		w.fail(joinPath(p, "type"), fmt.Sprintf("unknown event type %q", name))
		return
	}
	attrs, elems := w.splitAttrs(ev.Extensions, p)
	w.start(name, attrs, p, false)
	w.leafIf("eventTime", ev.EventTime, p)
	w.leafIf("recordTime", ev.RecordTime, p)
	w.leafIf("eventTimeZoneOffset", ev.EventTimeZoneOffset, p)
	w.leafIf("eventID", ev.EventID, p)
	if ed := ev.ErrorDeclaration; ed != nil {
		ep := joinPath(p, "errorDeclaration")
		a, e := w.splitAttrs(ed.Extensions, ep)
		w.start("errorDeclaration", a, ep, false)
		w.leafIf("declarationTime", ed.DeclarationTime, ep)
		w.leafIf("reason", ed.Reason, ep)
		if ed.CorrectiveEventIDs != nil {
			w.list("correctiveEventIDs", "correctiveEventID", ed.CorrectiveEventIDs, ep)
		}
		w.fields(e, ep)
		w.end("errorDeclaration")
	}
	for _, c := range ev.CertificationInfo {
		w.leaf("certificationInfo", c, nil, joinPath(p, "certificationInfo"))
	}
	done := map[string]bool{}
	for _, m := range xmlEventOrder(ev.Type) {
		w.member(ev, m, p)
		done[m] = true
	}
	for _, m := range allEventMembers() {
		if !done[m] {
			w.member(ev, m, p)
		}
	}
	for _, f := range elems {
		if f.Name.Space == "" {
			w.fail(joinPath(p, f.Name.Local), "extension field without a namespace")
		}
	}
	w.fields(elems, p)
	w.end(name)
}

// member writes the standard member m of ev when it is present.
func (w *xmlWriter) member(ev *Event, m, p string) {
	mp := joinPath(p, m)
	switch m {
	case "parentID":
		w.leafIf(m, ev.ParentID, p)
	case "epcList", "childEPCs", "inputEPCList", "outputEPCList":
		l := map[string][]string{"epcList": ev.EPCList, "childEPCs": ev.ChildEPCs,
			"inputEPCList": ev.InputEPCList, "outputEPCList": ev.OutputEPCList}[m]
		if l != nil {
			w.list(m, "epc", l, p)
		}
	case "quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList":
		l := map[string][]QuantityElement{"quantityList": ev.QuantityList, "childQuantityList": ev.ChildQuantityList,
			"inputQuantityList": ev.InputQuantityList, "outputQuantityList": ev.OutputQuantityList}[m]
		if l != nil {
			w.quantities(m, l, mp)
		}
	case "action":
		w.leafIf(m, ev.Action, p)
	case "transformationID":
		w.leafIf(m, ev.TransformationID, p)
	case "bizStep":
		w.leafIf(m, ev.BizStep, p)
	case "disposition":
		w.leafIf(m, ev.Disposition, p)
	case "readPoint", "bizLocation":
		loc := ev.ReadPoint
		if m == "bizLocation" {
			loc = ev.BizLocation
		}
		if loc != nil {
			a, e := w.splitAttrs(loc.Extensions, mp)
			w.start(m, a, mp, false)
			w.leafIf("id", loc.ID, mp)
			w.fields(e, mp)
			w.end(m)
		}
	case "bizTransactionList":
		if ev.BizTransactionList != nil {
			w.start(m, nil, mp, len(ev.BizTransactionList) == 0)
			for i, bt := range ev.BizTransactionList {
				w.typed("bizTransaction", bt.Type, bt.Value, bt.Extensions, fmt.Sprintf("%s[%d]", mp, i))
			}
			w.closeList(m, len(ev.BizTransactionList))
		}
	case "sourceList", "destinationList":
		l, child := ev.SourceList, "source"
		if m == "destinationList" {
			l, child = ev.DestinationList, "destination"
		}
		if l != nil {
			w.start(m, nil, mp, len(l) == 0)
			for i, sd := range l {
				w.typed(child, sd.Type, sd.ID, sd.Extensions, fmt.Sprintf("%s[%d]", mp, i))
			}
			w.closeList(m, len(l))
		}
	case "sensorElementList":
		if ev.SensorElementList != nil {
			w.sensorElements(ev.SensorElementList, mp)
		}
	case "persistentDisposition":
		if pd := ev.PersistentDisposition; pd != nil {
			a, e := w.splitAttrs(pd.Extensions, mp)
			w.start(m, a, mp, false)
			for _, v := range pd.Unset {
				w.leaf("unset", v, nil, mp+".unset")
			}
			for _, v := range pd.Set {
				w.leaf("set", v, nil, mp+".set")
			}
			w.fields(e, mp)
			w.end(m)
		}
	case "ilmd":
		if len(ev.ILMD) > 0 {
			a, e := w.splitAttrs(ev.ILMD, mp)
			for _, f := range e {
				if f.Name.Space == "" {
					w.fail(joinPath(mp, f.Name.Local), "ILMD field without a namespace")
				}
			}
			w.start(m, a, mp, len(e) == 0)
			w.fields(e, mp)
			w.closeList(m, len(e))
		}
	}
}

// closeList ends a list element opened by start unless it was empty.
func (w *xmlWriter) closeList(name string, n int) {
	if n > 0 {
		w.end(name)
	}
}

// list writes <name><child>v</child>…</name>.
func (w *xmlWriter) list(name, child string, values []string, p string) {
	lp := joinPath(p, name)
	w.start(name, nil, lp, len(values) == 0)
	for i, v := range values {
		w.leaf(child, v, nil, fmt.Sprintf("%s.%s[%d]", lp, child, i))
	}
	w.closeList(name, len(values))
}

func (w *xmlWriter) quantities(name string, list []QuantityElement, p string) {
	w.start(name, nil, p, len(list) == 0)
	for i, q := range list {
		qp := fmt.Sprintf("%s.quantityElement[%d]", p, i)
		a, e := w.splitAttrs(q.Extensions, qp)
		w.start("quantityElement", a, qp, false)
		w.leaf("epcClass", q.EPCClass, nil, qp+".epcClass")
		w.leafIf("quantity", q.Quantity, qp)
		w.leafIf("uom", q.UOM, qp)
		w.fields(e, qp)
		w.end("quantityElement")
	}
	w.closeList(name, len(list))
}

// typed writes a bizTransaction, source or destination: the identifier as
// text, the type as attribute, extension fields as attributes or child
// elements (written inline, so that the text stays the identifier).
func (w *xmlWriter) typed(name, typ, value string, ext []Field, p string) {
	attrs, elems := w.splitAttrs(ext, p)
	if typ != "" {
		attrs = append([]xattr{{"type", typ}}, attrs...)
	}
	w.start(name, attrs, p, false)
	w.text(value, p)
	depth := w.depth
	for _, f := range elems {
		w.inline(f, joinPath(p, f.Name.Local))
	}
	w.depth = depth - 1
	w.b.WriteString("</" + name + ">")
}

// splitAttrs returns the fields that are XML attributes (scalars flagged
// Attr) as attributes, and the others.
func (w *xmlWriter) splitAttrs(fields []Field, p string) ([]xattr, []Field) {
	var attrs []xattr
	var elems []Field
	for _, f := range fields {
		if f.Attr && len(f.Children) == 0 {
			attrs = append(attrs, xattr{w.qname(f.Name, joinPath(p, f.Name.Local)), f.Value})
			continue
		}
		elems = append(elems, f)
	}
	return attrs, elems
}

// fields writes extension fields as elements.
func (w *xmlWriter) fields(fields []Field, p string) {
	for _, f := range fields {
		fp := joinPath(p, f.Name.Local)
		attrs, elems := w.splitAttrs(f.Children, fp)
		name := w.qname(f.Name, fp)
		switch {
		case len(elems) == 0:
			w.leaf(name, f.Value, attrs, fp)
		case f.Value != "":
			// text and elements: inline, so that the text stays the value
			w.indent()
			w.inline(f, fp)
		default:
			w.start(name, attrs, fp, false)
			w.fields(elems, fp)
			w.end(name)
		}
	}
}

// inline writes a field and its children without any white space.
func (w *xmlWriter) inline(f Field, p string) {
	attrs, elems := w.splitAttrs(f.Children, p)
	name := w.qname(f.Name, p)
	w.b.WriteString("<" + name)
	for _, a := range attrs {
		w.b.WriteString(" " + a.name + `="`)
		w.text(a.value, joinPath(p, "@"+a.name))
		w.b.WriteByte('"')
	}
	w.b.WriteByte('>')
	w.text(f.Value, p)
	for _, c := range elems {
		w.inline(c, joinPath(p, c.Name.Local))
	}
	w.b.WriteString("</" + name + ">")
}

func (w *xmlWriter) sensorElements(list []SensorElement, p string) {
	w.start("sensorElementList", nil, p, len(list) == 0)
	for i, se := range list {
		sp := fmt.Sprintf("%s.sensorElement[%d]", p, i)
		a, e := w.splitAttrs(se.Extensions, sp)
		w.start("sensorElement", a, sp, false)
		if m := se.Metadata; m != nil {
			attrs := nonEmptyAttrs([][2]string{{"time", m.Time}, {"startTime", m.StartTime}, {"endTime", m.EndTime},
				{"deviceID", m.DeviceID}, {"deviceMetadata", m.DeviceMetadata}, {"rawData", m.RawData},
				{"dataProcessingMethod", m.DataProcessingMethod}, {"bizRules", m.BizRules}})
			w.start("sensorMetadata", append(attrs, w.sensorAttrs(m.Extensions, sp+".sensorMetadata")...), sp+".sensorMetadata", true)
		}
		for j := range se.Reports {
			r := &se.Reports[j]
			rp := fmt.Sprintf("%s.sensorReport[%d]", sp, j)
			var kv [][2]string
			for _, m := range sensorReportMembers(r) {
				kv = append(kv, [2]string{m.key, m.value})
			}
			w.start("sensorReport", append(nonEmptyAttrs(kv), w.sensorAttrs(r.Extensions, rp)...), rp, true)
		}
		w.fields(e, sp)
		w.end("sensorElement")
	}
	w.closeList("sensorElementList", len(list))
}

// sensorAttrs returns the extension fields of sensor metadata or of a
// sensor report as attributes, the only form XML has for them.
func (w *xmlWriter) sensorAttrs(fields []Field, p string) []xattr {
	var out []xattr
	for _, f := range fields {
		fp := joinPath(p, f.Name.Local)
		if len(f.Children) > 0 || f.Kind == KindObject {
			w.fail(fp, "a structured sensor extension has no XML form")
			continue
		}
		out = append(out, xattr{w.qname(f.Name, fp), f.Value})
	}
	return out
}

func nonEmptyAttrs(kv [][2]string) []xattr {
	var out []xattr
	for _, a := range kv {
		if a[1] != "" {
			out = append(out, xattr{a[0], a[1]})
		}
	}
	return out
}
