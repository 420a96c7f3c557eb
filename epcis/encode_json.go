package epcis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// StandardContext is the URL of the EPCIS 2.0 JSON-LD context that
// EncodeJSONLD puts first in every @context.
const StandardContext = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

// jsonObject is a JSON object whose members are written in the order
// given.
type jsonObject []jsonMember

type jsonMember struct {
	key   string
	value any
}

func (o *jsonObject) add(key string, value any) { *o = append(*o, jsonMember{key, value}) }

// addString adds a string member unless s is empty.
func (o *jsonObject) addString(key, s string) {
	if s != "" {
		o.add(key, s)
	}
}

// MarshalJSON writes the members in order.
func (o jsonObject) MarshalJSON() ([]byte, error) { return appendJSON(nil, o) }

// jsonNumber returns the lexical form of a number as a JSON number: as
// written when it is valid JSON, else its plain decimal form ("+1" → 1,
// ".5" → 0.5); ok is false for what is no number at all.
func jsonNumber(s string) (json.Number, bool) {
	if json.Valid([]byte(s)) && s != "" && (s[0] == '-' || isDigit(s[0])) {
		return json.Number(s), true
	}
	n, ok := canonDecimal(s)
	return json.Number(n), ok
}

// jsonEncoder writes the model as JSON-LD.
type jsonEncoder struct {
	ns *prefixTable
}

// EncodeJSONLD writes doc as an EPCIS 2.0 JSON-LD document: an
// EPCISDocument (epcisBody.eventList) or, when doc.Type is
// "EPCISQueryDocument", a query document
// (epcisBody.queryResults.resultsBody.eventList). The @context is the
// standard EPCIS context followed by the namespace prefixes of the
// extension fields, taken from doc.Namespaces where the document declared
// them. Decode reads the output back to the same events: Decode(
// EncodeJSONLD(Decode(x))) equals Decode(x) event for event. Values are
// written as the model holds them, vocabulary values as full IRIs; an
// event the model cannot express in JSON-LD (an extension field without a
// namespace at the top of an event, a number that is no number) is
// refused with a FieldError.
func EncodeJSONLD(doc *Document) ([]byte, error) {
	compact, err := EncodeJSONLDCompact(doc)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(compact) * 5 / 4)
	if err := json.Indent(&b, compact, "", "  "); err != nil {
		return nil, fmt.Errorf("epcis: encoding JSON-LD: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// EncodeJSONLDCompact is EncodeJSONLD without whitespace: the same JSON
// value, as json.Compact would write it.
func EncodeJSONLDCompact(doc *Document) ([]byte, error) {
	root, err := jsonLDRoot(doc)
	if err != nil {
		return nil, err
	}
	b, err := appendJSON(make([]byte, 0, 512*len(doc.Events)+256), root)
	if err != nil {
		return nil, fmt.Errorf("epcis: encoding JSON-LD: %w", err)
	}
	return b, nil
}

// jsonLDRoot builds the document EncodeJSONLD writes.
func jsonLDRoot(doc *Document) (jsonObject, error) {
	if doc == nil {
		return nil, fieldErr("", "no document")
	}
	// A prefix named like the scheme of an identifier would make Decode
	// read that identifier as a CURIE: such prefixes are not declared.
	schemes := map[string]bool{}
	for i := range doc.Events {
		visitIRIs(&doc.Events[i], func(v string) {
			if j := strings.IndexByte(v, ':'); j > 0 {
				schemes[v[:j]] = true
			}
		})
	}
	reserved := func(p string) bool { return schemes[p] || jsonReservedPrefix(p) }
	e := &jsonEncoder{ns: newPrefixTable(doc, standardContext().prefixes, reserved)}
	for i := range doc.Events {
		visitNames(&doc.Events[i], func(n Name) {
			if n.Space != "" {
				e.ns.prefix(n.Space)
			}
		})
	}
	for _, n := range doc.IgnoreFields {
		if n.Space != "" {
			e.ns.prefix(n.Space)
		}
	}
	events := make([]jsonObject, len(doc.Events))
	for i := range doc.Events {
		var err error
		if events[i], err = e.event(&doc.Events[i], fmt.Sprintf("epcisBody.eventList[%d]", i)); err != nil {
			return nil, err
		}
	}
	var root jsonObject
	ctx := []any{StandardContext}
	if decl := e.ns.declarations(); len(decl) > 0 {
		var c jsonObject
		for _, d := range decl {
			c.add(d[0], d[1])
		}
		ctx = append(ctx, c)
	}
	root.add("@context", ctx)
	query := doc.Type == "EPCISQueryDocument"
	if query {
		root.add("type", "EPCISQueryDocument")
	} else {
		root.add("type", "EPCISDocument")
	}
	root.add("schemaVersion", "2.0")
	root.addString("creationDate", doc.CreationDate)
	if len(doc.IgnoreFields) > 0 {
		names := make([]string, len(doc.IgnoreFields))
		for i, n := range doc.IgnoreFields {
			names[i] = e.key(n)
		}
		root.add("ignoreFields", names)
	}
	var body jsonObject
	if query {
		var rb, qr jsonObject
		rb.add("eventList", events)
		qr.add("queryName", "SimpleEventQuery")
		qr.add("resultsBody", rb)
		body.add("queryResults", qr)
	} else {
		body.add("eventList", events)
	}
	root.add("epcisBody", body)
	return root, nil
}

// jsonReservedPrefix tells the prefixes EncodeJSONLD never declares: URI
// schemes that identifiers are written with, which a prefix of that name
// would turn into CURIEs.
func jsonReservedPrefix(p string) bool {
	switch strings.ToLower(p) {
	case "urn", "http", "https", "ni", "tag", "geo", "mailto", "did", "data", "file", "ftp", "uuid":
		return true
	}
	return strings.HasPrefix(p, "@")
}

// visitIRIs calls fn with every value of ev that Decode reads as an IRI,
// expanding a CURIE.
func visitIRIs(ev *Event, fn func(string)) {
	all := func(l []string) {
		for _, v := range l {
			fn(v)
		}
	}
	fn(ev.EventID)
	all(ev.CertificationInfo)
	fn(ev.ParentID)
	all(ev.EPCList)
	all(ev.ChildEPCs)
	all(ev.InputEPCList)
	all(ev.OutputEPCList)
	for _, ql := range [][]QuantityElement{ev.QuantityList, ev.ChildQuantityList, ev.InputQuantityList, ev.OutputQuantityList} {
		for _, q := range ql {
			fn(q.EPCClass)
		}
	}
	fn(ev.TransformationID)
	fn(ev.BizStep)
	fn(ev.Disposition)
	if pd := ev.PersistentDisposition; pd != nil {
		all(pd.Set)
		all(pd.Unset)
	}
	for _, l := range []*Location{ev.ReadPoint, ev.BizLocation} {
		if l != nil {
			fn(l.ID)
		}
	}
	for _, bt := range ev.BizTransactionList {
		fn(bt.Type)
		fn(bt.Value)
	}
	for _, sl := range [][]SourceDest{ev.SourceList, ev.DestinationList} {
		for _, sd := range sl {
			fn(sd.Type)
			fn(sd.ID)
		}
	}
	if ed := ev.ErrorDeclaration; ed != nil {
		fn(ed.Reason)
		all(ed.CorrectiveEventIDs)
	}
	for _, se := range ev.SensorElementList {
		if m := se.Metadata; m != nil {
			all([]string{m.DeviceID, m.DeviceMetadata, m.RawData, m.DataProcessingMethod, m.BizRules})
		}
		for _, r := range se.Reports {
			all([]string{r.Type, r.Exception, r.DeviceID, r.DeviceMetadata, r.RawData, r.DataProcessingMethod,
				r.Microorganism, r.ChemicalSubstance, r.Component, r.URIValue, r.CoordinateReferenceSystem})
		}
	}
}

// key returns the JSON member name of an extension field.
func (e *jsonEncoder) key(n Name) string {
	if n.Space == "" {
		return n.Local
	}
	return e.ns.prefix(n.Space) + ":" + n.Local
}

// stringList returns a list of strings for JSON, nil staying absent.
func stringList(l []string) any {
	if l == nil {
		return nil
	}
	return l
}

func (e *jsonEncoder) event(ev *Event, p string) (jsonObject, error) {
	var o jsonObject
	o.add("type", string(ev.Type))
	o.addString("eventID", ev.EventID)
	o.addString("eventTime", ev.EventTime)
	o.addString("recordTime", ev.RecordTime)
	o.addString("eventTimeZoneOffset", ev.EventTimeZoneOffset)
	if ev.CertificationInfo != nil {
		o.add("certificationInfo", ev.CertificationInfo)
	}
	if ed := ev.ErrorDeclaration; ed != nil {
		var eo jsonObject
		eo.addString("declarationTime", ed.DeclarationTime)
		eo.addString("reason", ed.Reason)
		if ed.CorrectiveEventIDs != nil {
			eo.add("correctiveEventIDs", ed.CorrectiveEventIDs)
		}
		if err := e.fields(&eo, ed.Extensions, joinPath(p, "errorDeclaration")); err != nil {
			return nil, err
		}
		o.add("errorDeclaration", eo)
	}
	o.addString("parentID", ev.ParentID)
	for _, l := range []struct {
		key  string
		list []string
	}{{"epcList", ev.EPCList}, {"childEPCs", ev.ChildEPCs}, {"inputEPCList", ev.InputEPCList}, {"outputEPCList", ev.OutputEPCList}} {
		if l.list != nil {
			o.add(l.key, stringList(l.list))
		}
	}
	for _, l := range []struct {
		key  string
		list []QuantityElement
	}{{"quantityList", ev.QuantityList}, {"childQuantityList", ev.ChildQuantityList},
		{"inputQuantityList", ev.InputQuantityList}, {"outputQuantityList", ev.OutputQuantityList}} {
		if l.list == nil {
			continue
		}
		ql, err := e.quantities(l.list, joinPath(p, l.key))
		if err != nil {
			return nil, err
		}
		o.add(l.key, ql)
	}
	o.addString("action", ev.Action)
	o.addString("transformationID", ev.TransformationID)
	o.addString("bizStep", ev.BizStep)
	o.addString("disposition", ev.Disposition)
	if pd := ev.PersistentDisposition; pd != nil {
		var po jsonObject
		if pd.Set != nil {
			po.add("set", pd.Set)
		}
		if pd.Unset != nil {
			po.add("unset", pd.Unset)
		}
		if err := e.fields(&po, pd.Extensions, joinPath(p, "persistentDisposition")); err != nil {
			return nil, err
		}
		o.add("persistentDisposition", po)
	}
	for _, l := range []struct {
		key string
		loc *Location
	}{{"readPoint", ev.ReadPoint}, {"bizLocation", ev.BizLocation}} {
		if l.loc == nil {
			continue
		}
		var lo jsonObject
		lo.addString("id", l.loc.ID)
		if err := e.fields(&lo, l.loc.Extensions, joinPath(p, l.key)); err != nil {
			return nil, err
		}
		o.add(l.key, lo)
	}
	if ev.BizTransactionList != nil {
		list := make([]jsonObject, len(ev.BizTransactionList))
		for i, bt := range ev.BizTransactionList {
			list[i].addString("type", bt.Type)
			list[i].add("bizTransaction", bt.Value)
			if err := e.fields(&list[i], bt.Extensions, fmt.Sprintf("%s.bizTransactionList[%d]", p, i)); err != nil {
				return nil, err
			}
		}
		o.add("bizTransactionList", list)
	}
	for _, l := range []struct {
		key, member string
		list        []SourceDest
	}{{"sourceList", "source", ev.SourceList}, {"destinationList", "destination", ev.DestinationList}} {
		if l.list == nil {
			continue
		}
		list := make([]jsonObject, len(l.list))
		for i, sd := range l.list {
			list[i].add("type", sd.Type)
			list[i].add(l.member, sd.ID)
			if err := e.fields(&list[i], sd.Extensions, fmt.Sprintf("%s.%s[%d]", p, l.key, i)); err != nil {
				return nil, err
			}
		}
		o.add(l.key, list)
	}
	if ev.SensorElementList != nil {
		list, err := e.sensorElements(ev.SensorElementList, joinPath(p, "sensorElementList"))
		if err != nil {
			return nil, err
		}
		o.add("sensorElementList", list)
	}
	if len(ev.ILMD) > 0 {
		var io jsonObject
		if err := e.topFields(&io, ev.ILMD, joinPath(p, "ilmd")); err != nil {
			return nil, err
		}
		o.add("ilmd", io)
	}
	if err := e.topFields(&o, ev.Extensions, p); err != nil {
		return nil, err
	}
	return o, nil
}

func (e *jsonEncoder) quantities(list []QuantityElement, p string) ([]jsonObject, error) {
	out := make([]jsonObject, len(list))
	for i, q := range list {
		qp := fmt.Sprintf("%s[%d]", p, i)
		out[i].add("epcClass", q.EPCClass)
		if q.Quantity != "" {
			n, ok := jsonNumber(q.Quantity)
			if !ok {
				return nil, fieldErr(qp+".quantity", "not a number")
			}
			out[i].add("quantity", n)
		}
		out[i].addString("uom", q.UOM)
		for _, f := range q.Extensions {
			if f.Name.Space == "" {
				return nil, fieldErr(joinPath(qp, f.Name.Local), "extension field without a namespace")
			}
		}
		if err := e.fields(&out[i], q.Extensions, qp); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (e *jsonEncoder) sensorElements(list []SensorElement, p string) ([]jsonObject, error) {
	out := make([]jsonObject, len(list))
	for i, se := range list {
		sp := fmt.Sprintf("%s[%d]", p, i)
		if m := se.Metadata; m != nil {
			var mo jsonObject
			for _, kv := range [][2]string{{"time", m.Time}, {"startTime", m.StartTime}, {"endTime", m.EndTime},
				{"deviceID", m.DeviceID}, {"deviceMetadata", m.DeviceMetadata}, {"rawData", m.RawData},
				{"dataProcessingMethod", m.DataProcessingMethod}, {"bizRules", m.BizRules}} {
				mo.addString(kv[0], kv[1])
			}
			if err := e.fields(&mo, m.Extensions, sp+".sensorMetadata"); err != nil {
				return nil, err
			}
			out[i].add("sensorMetadata", mo)
		}
		if se.Reports != nil {
			reports := make([]jsonObject, len(se.Reports))
			for j := range se.Reports {
				var err error
				if reports[j], err = e.sensorReport(&se.Reports[j], fmt.Sprintf("%s.sensorReport[%d]", sp, j)); err != nil {
					return nil, err
				}
			}
			out[i].add("sensorReport", reports)
		}
		if err := e.fields(&out[i], se.Extensions, sp); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (e *jsonEncoder) sensorReport(r *SensorReport, p string) (jsonObject, error) {
	var o jsonObject
	for _, m := range sensorReportMembers(r) {
		switch {
		case m.value == "":
		case m.number:
			n, ok := jsonNumber(m.value)
			if !ok {
				return nil, fieldErr(joinPath(p, m.key), "not a number")
			}
			o.add(m.key, n)
		case m.key == "booleanValue":
			if m.value != "true" && m.value != "false" {
				return nil, fieldErr(joinPath(p, m.key), "not a boolean")
			}
			o.add(m.key, m.value == "true")
		default:
			o.add(m.key, m.value)
		}
	}
	return o, e.fields(&o, r.Extensions, p)
}

// reportMember is one standard member of a sensorReport.
type reportMember struct {
	key, value string
	number     bool
}

// sensorReportMembers lists the standard members of r in the order of the
// EPCIS standard.
func sensorReportMembers(r *SensorReport) []reportMember {
	return []reportMember{{"type", r.Type, false}, {"exception", r.Exception, false}, {"deviceID", r.DeviceID, false},
		{"deviceMetadata", r.DeviceMetadata, false}, {"rawData", r.RawData, false},
		{"dataProcessingMethod", r.DataProcessingMethod, false}, {"time", r.Time, false},
		{"microorganism", r.Microorganism, false}, {"chemicalSubstance", r.ChemicalSubstance, false},
		{"value", r.Value, true}, {"component", r.Component, false}, {"stringValue", r.StringValue, false},
		{"booleanValue", r.BooleanValue, false}, {"hexBinaryValue", r.HexBinaryValue, false},
		{"uriValue", r.URIValue, false}, {"minValue", r.MinValue, true}, {"maxValue", r.MaxValue, true},
		{"meanValue", r.MeanValue, true}, {"sDev", r.SDev, true}, {"percRank", r.PercRank, true},
		{"percValue", r.PercValue, true}, {"uom", r.UOM, false},
		{"coordinateReferenceSystem", r.CoordinateReferenceSystem, false}}
}

// topFields is fields for the members of an event or of ilmd, where every
// field needs a namespace.
func (e *jsonEncoder) topFields(o *jsonObject, fields []Field, p string) error {
	for _, f := range fields {
		if f.Name.Space == "" {
			return fieldErr(joinPath(p, f.Name.Local), "extension field without a namespace")
		}
	}
	return e.fields(o, fields, p)
}

// fields adds extension fields to o, same-named fields as one array in
// their order.
func (e *jsonEncoder) fields(o *jsonObject, fields []Field, p string) error {
	var order []Name
	groups := make(map[Name][]int, len(fields))
	for i, f := range fields {
		if _, ok := groups[f.Name]; !ok {
			order = append(order, f.Name)
		}
		groups[f.Name] = append(groups[f.Name], i)
	}
	for _, n := range order {
		key := e.key(n)
		if n.Space == "" && (strings.HasPrefix(key, "@") || key == "comment" || key == "#text" || strings.Contains(key, ":")) ||
			strings.HasPrefix(n.Local, "//") {
			return fieldErr(joinPath(p, key), "a member name JSON-LD would read otherwise")
		}
		values := make([]any, len(groups[n]))
		for j, i := range groups[n] {
			v, err := e.fieldValue(fields[i], joinPath(p, key))
			if err != nil {
				return err
			}
			values[j] = v
		}
		if len(values) == 1 {
			o.add(key, values[0])
		} else {
			o.add(key, values)
		}
	}
	return nil
}

// fieldValue returns the JSON value of one field.
func (e *jsonEncoder) fieldValue(f Field, p string) (any, error) {
	switch f.Kind {
	case KindString:
		if len(f.Children) == 0 {
			return f.Value, nil
		}
	case KindNumber:
		n, ok := jsonNumber(f.Value)
		if !ok {
			return nil, fieldErr(p, "not a number")
		}
		return n, nil
	case KindBool:
		if f.Value != "true" && f.Value != "false" {
			return nil, fieldErr(p, "not a boolean")
		}
		return f.Value == "true", nil
	}
	var o jsonObject
	if f.Value != "" {
		o.add("#text", f.Value)
	}
	if err := e.fields(&o, f.Children, p); err != nil {
		return nil, err
	}
	return o, nil
}
