package epcis

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Hash returns the CBV 2.0 event hash of ev,
// "ni:///sha-256;<64 lowercase hex digits>?ver=CBV2.0": the SHA-256 digest
// of the UTF-8 pre-hash string (see PreHash) in the RFC 6920 'ni' form.
func Hash(ev *Event) (string, error) {
	pre, err := PreHash(ev)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(pre))
	return "ni:///sha-256;" + hex.EncodeToString(sum[:]) + "?ver=CBV2.0", nil
}

// PreHash returns the canonical pre-hash string of ev, the input of the
// CBV 2.0 event hash (section 8.9), exactly as the reference implementation
// computes it:
//
//   - "eventType=" followed by eventTime, eventTimeZoneOffset,
//     certificationInfo, parentID, epcList, inputEPCList, childEPCs,
//     quantityList, childQuantityList, inputQuantityList, outputEPCList,
//     outputQuantityList, action, transformationID, bizStep, disposition,
//     persistentDisposition, readPoint, bizLocation and sensorElementList,
//     each as name=value (or the name of a structure followed by its
//     members), absent and empty ones left out;
//   - then, sorted as whole strings, bizTransactionList, destinationList,
//     sourceList, ilmd,
//     every top-level extension field as {namespace}local=value, and the
//     members of standard structures that are neither standard nor
//     namespaced, under the structure's path;
//   - list members and same-named siblings are sorted by byte order; the
//     extensions inside a standard structure follow its standard members;
//   - values are trimmed; timestamps are put in UTC with milliseconds;
//     numbers lose trailing zeros; CBV URNs and bare terms become CBV Web
//     URIs; EPC URNs and Digital Link URIs become constrained canonical
//     Digital Link URIs on https://id.gs1.org;
//   - eventID, recordTime, errorDeclaration and the fields named in
//     ev.IgnoreFields are left out.
//
// PreHash fails on an event that Decode would refuse.
func PreHash(ev *Event) (string, error) {
	if err := validateEvent(ev, ""); err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(512)
	b.WriteString("eventType=")
	b.WriteString(string(ev.Type))
	t, err := canonTime(ev.EventTime, "eventTime")
	if err != nil {
		return "", err
	}
	b.WriteString("eventTime=")
	b.WriteString(t)
	writeKV(&b, "eventTimeZoneOffset", ev.EventTimeZoneOffset)
	b.WriteString(sortedKVs("certificationInfo", ev.CertificationInfo))
	writeKV(&b, "parentID", ev.ParentID)
	writeList(&b, "epcList", sortedKVs("epc", ev.EPCList))
	writeList(&b, "inputEPCList", sortedKVs("epc", ev.InputEPCList))
	writeList(&b, "childEPCs", sortedKVs("epc", ev.ChildEPCs))
	writeList(&b, "quantityList", quantities(ev.QuantityList))
	writeList(&b, "childQuantityList", quantities(ev.ChildQuantityList))
	writeList(&b, "inputQuantityList", quantities(ev.InputQuantityList))
	writeList(&b, "outputEPCList", sortedKVs("epc", ev.OutputEPCList))
	writeList(&b, "outputQuantityList", quantities(ev.OutputQuantityList))
	writeKV(&b, "action", ev.Action)
	writeKV(&b, "transformationID", ev.TransformationID)
	writeKV(&b, "bizStep", vocabValue(vocabBizStep, ev.BizStep))
	writeKV(&b, "disposition", vocabValue(vocabDisposition, ev.Disposition))
	if pd := ev.PersistentDisposition; pd != nil {
		writeList(&b, "persistentDisposition", sortedVocab("set", pd.Set)+sortedVocab("unset", pd.Unset)+inlineExtensions(pd.Extensions))
	}
	writeList(&b, "readPoint", location(ev.ReadPoint))
	writeList(&b, "bizLocation", location(ev.BizLocation))
	sensors, err := sensorElements(ev.SensorElementList)
	if err != nil {
		return "", err
	}
	writeList(&b, "sensorElementList", sensors)
	b.WriteString(tail(ev))
	return b.String(), nil
}

// tail renders the members that follow the ordered part, sorted as whole
// strings: bizTransactionList, destinationList, sourceList, ilmd and the
// top-level extensions. The reference implementation does not match
// bizTransactionList in its property order, so it lands here, after
// sensorElementList (pinned by SensorDataExamples, case 11).
func tail(ev *Event) string {
	var parts []string
	bts := make([]string, 0, len(ev.BizTransactionList))
	for _, bt := range ev.BizTransactionList {
		bts = appendNonEmpty(bts, kv("type", vocabValue(vocabBizTransactionType, bt.Type))+kv("bizTransaction", bt.Value)+inlineExtensions(bt.Extensions))
	}
	parts = appendNonEmpty(parts, listString("bizTransactionList", sortedJoin(bts)))
	parts = appendNonEmpty(parts, listString("destinationList", sourceDests("destination", ev.DestinationList)))
	parts = appendNonEmpty(parts, listString("sourceList", sourceDests("source", ev.SourceList)))
	if len(ev.ILMD) > 0 {
		parts = append(parts, "ilmd"+extensions(ev.ILMD))
	}
	for _, f := range ev.Extensions {
		if !slices.Contains(ev.IgnoreFields, f.Name) {
			parts = append(parts, fieldString(f))
		}
	}
	return sortedJoin(appendBareMembers(parts, ev))
}

// appendBareMembers appends, for every standard structure holding members
// that are neither standard nor namespaced, those members under the
// structure's path (see bareMembers).
func appendBareMembers(parts []string, ev *Event) []string {
	for _, ql := range []struct {
		name string
		list []QuantityElement
	}{{"quantityList", ev.QuantityList}, {"childQuantityList", ev.ChildQuantityList},
		{"inputQuantityList", ev.InputQuantityList}, {"outputQuantityList", ev.OutputQuantityList}} {
		var elems []string
		for _, q := range ql.list {
			elems = appendNonEmpty(elems, listString("quantityElement", bareMembers(q.Extensions)))
		}
		parts = appendNonEmpty(parts, listString(ql.name, sortedJoin(elems)))
	}
	if pd := ev.PersistentDisposition; pd != nil {
		parts = appendNonEmpty(parts, listString("persistentDisposition", bareMembers(pd.Extensions)))
	}
	if l := ev.ReadPoint; l != nil {
		parts = appendNonEmpty(parts, listString("readPoint", bareMembers(l.Extensions)))
	}
	if l := ev.BizLocation; l != nil {
		parts = appendNonEmpty(parts, listString("bizLocation", bareMembers(l.Extensions)))
	}
	var bts []string
	for _, bt := range ev.BizTransactionList {
		bts = appendNonEmpty(bts, listString("bizTransaction", bareMembers(bt.Extensions)))
	}
	parts = appendNonEmpty(parts, listString("bizTransactionList", sortedJoin(bts)))
	var ses []string
	for _, se := range ev.SensorElementList {
		var inner []string
		if se.Metadata != nil {
			inner = appendNonEmpty(inner, listString("sensorMetadata", bareMembers(se.Metadata.Extensions)))
		}
		for _, r := range se.Reports {
			inner = appendNonEmpty(inner, listString("sensorReport", bareMembers(r.Extensions)))
		}
		inner = appendNonEmpty(inner, bareMembers(se.Extensions))
		ses = appendNonEmpty(ses, listString("sensorElement", sortedJoin(inner)))
	}
	return appendNonEmpty(parts, listString("sensorElementList", sortedJoin(ses)))
}

func sourceDests(key string, list []SourceDest) string {
	parts := make([]string, 0, len(list))
	for _, sd := range list {
		parts = appendNonEmpty(parts, kv("type", vocabValue(vocabSourceDestType, sd.Type))+kv(key, sd.ID)+extensions(sd.Extensions))
	}
	return sortedJoin(parts)
}

// kv renders name=value with the value canonicalised, or "" for an empty
// value.
func kv(name, value string) string {
	value = trim(value)
	if value == "" {
		return ""
	}
	return name + "=" + canonValue(value)
}

// writeKV writes kv(name, value) without building it.
func writeKV(b *strings.Builder, name, value string) {
	value = trim(value)
	if value == "" {
		return
	}
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(canonValue(value))
}

// listString prefixes non-empty content with the structure's name.
func listString(name, content string) string {
	if content == "" {
		return ""
	}
	return name + content
}

// writeList writes listString(name, content) without building it.
func writeList(b *strings.Builder, name, content string) {
	if content == "" {
		return
	}
	b.WriteString(name)
	b.WriteString(content)
}

func appendNonEmpty(parts []string, s string) []string {
	if s == "" {
		return parts
	}
	return append(parts, s)
}

// sortedJoin sorts parts in byte order and concatenates them.
func sortedJoin(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	slices.Sort(parts)
	return strings.Join(parts, "")
}

// sortedKVs renders name=value for every non-empty value, sorted.
func sortedKVs(name string, values []string) string {
	if len(values) == 1 {
		return kv(name, values[0])
	}
	parts := make([]string, 0, len(values))
	for _, v := range values {
		parts = appendNonEmpty(parts, kv(name, v))
	}
	return sortedJoin(parts)
}

// sortedVocab is sortedKVs for disposition values.
func sortedVocab(name string, values []string) string {
	parts := make([]string, 0, len(values))
	for _, v := range values {
		parts = appendNonEmpty(parts, kv(name, vocabValue(vocabDisposition, v)))
	}
	return sortedJoin(parts)
}

// vocabValue expands a bare standard vocabulary term, so that an event
// built in Go with BizStep "shipping" hashes like one decoded from JSON-LD.
func vocabValue(kind vocab, v string) string {
	if iri := expandTerm(kind, trim(v)); iri != "" {
		return iri
	}
	return v
}

func quantities(list []QuantityElement) string {
	parts := make([]string, 0, len(list))
	for _, q := range list {
		parts = appendNonEmpty(parts, listString("quantityElement",
			kv("epcClass", q.EPCClass)+kv("quantity", q.Quantity)+kv("uom", q.UOM)+inlineExtensions(q.Extensions)))
	}
	return sortedJoin(parts)
}

func location(l *Location) string {
	if l == nil {
		return ""
	}
	return kv("id", l.ID) + inlineExtensions(l.Extensions)
}

// inlineExtensions renders the namespaced extension fields of a standard
// structure, sorted; they follow its standard members.
func inlineExtensions(fields []Field) string {
	return extensionsWhere(fields, true)
}

// bareMembers renders the members of a standard structure that are neither
// standard nor namespaced, sorted. The reference implementation leaves them
// out of their structure and appends them to the event's tail under the
// structure's path (e.g. "sensorElementListsensorElementsensorReportbizRules=…").
func bareMembers(fields []Field) string {
	return extensionsWhere(fields, false)
}

func extensionsWhere(fields []Field, namespaced bool) string {
	var parts []string
	for _, f := range fields {
		if (f.Name.Space != "") == namespaced {
			parts = append(parts, fieldString(f))
		}
	}
	return sortedJoin(parts)
}

// extensions renders extension fields, sorted.
func extensions(fields []Field) string {
	if len(fields) == 0 {
		return ""
	}
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = fieldString(f)
	}
	return sortedJoin(parts)
}

// fieldString renders an extension field: its expanded name, "=value" when
// it has a value, then its children sorted.
func fieldString(f Field) string {
	s := f.Name.String()
	if v := trim(f.Value); v != "" {
		s += "=" + canonValue(v)
	}
	return s + extensions(f.Children)
}

// timeKV renders a timestamp member in UTC at millisecond precision.
func timeKV(name, value, path string) (string, error) {
	if trim(value) == "" {
		return "", nil
	}
	t, err := canonTime(value, path)
	if err != nil {
		return "", err
	}
	return name + "=" + t, nil
}

func sensorElements(list []SensorElement) (string, error) {
	parts := make([]string, 0, len(list))
	for i, se := range list {
		path := fmt.Sprintf("sensorElementList[%d]", i)
		var b strings.Builder
		if m := se.Metadata; m != nil {
			var times [3]string
			for j, t := range [3][2]string{{"time", m.Time}, {"startTime", m.StartTime}, {"endTime", m.EndTime}} {
				var err error
				if times[j], err = timeKV(t[0], t[1], path+".sensorMetadata."+t[0]); err != nil {
					return "", err
				}
			}
			b.WriteString(listString("sensorMetadata", times[0]+times[1]+times[2]+kv("deviceID", m.DeviceID)+
				kv("deviceMetadata", m.DeviceMetadata)+kv("rawData", m.RawData)+
				kv("dataProcessingMethod", m.DataProcessingMethod)+kv("bizRules", m.BizRules)+inlineExtensions(m.Extensions)))
		}
		reports := make([]string, 0, len(se.Reports))
		for j := range se.Reports {
			r, err := sensorReport(&se.Reports[j], fmt.Sprintf("%s.sensorReport[%d]", path, j))
			if err != nil {
				return "", err
			}
			reports = appendNonEmpty(reports, r)
		}
		b.WriteString(sortedJoin(reports))
		b.WriteString(inlineExtensions(se.Extensions))
		parts = appendNonEmpty(parts, listString("sensorElement", b.String()))
	}
	return sortedJoin(parts), nil
}

func sensorReport(r *SensorReport, path string) (string, error) {
	t, err := timeKV("time", r.Time, path+".time")
	if err != nil {
		return "", err
	}
	return listString("sensorReport",
		kv("type", vocabValue(vocabMeasurementType, r.Type))+
			kv("exception", vocabValue(vocabSensorAlertType, r.Exception))+
			kv("deviceID", r.DeviceID)+kv("deviceMetadata", r.DeviceMetadata)+kv("rawData", r.RawData)+
			kv("dataProcessingMethod", r.DataProcessingMethod)+t+
			kv("microorganism", r.Microorganism)+kv("chemicalSubstance", r.ChemicalSubstance)+
			kv("value", r.Value)+kv("component", vocabValue(vocabComponent, r.Component))+
			kv("stringValue", r.StringValue)+kv("booleanValue", r.BooleanValue)+
			kv("hexBinaryValue", r.HexBinaryValue)+kv("uriValue", r.URIValue)+
			kv("minValue", r.MinValue)+kv("maxValue", r.MaxValue)+kv("meanValue", r.MeanValue)+
			kv("sDev", r.SDev)+kv("percRank", r.PercRank)+kv("percValue", r.PercValue)+
			kv("uom", r.UOM)+kv("coordinateReferenceSystem", r.CoordinateReferenceSystem)+
			inlineExtensions(r.Extensions)), nil
}
