package epcis

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// field decodes an extension element: its attributes and child elements
// become children (attributes first, flagged Attr), its trimmed text the
// value. A GS1 CURIE value (gs1:…, cbv:…) is expanded, as in JSON-LD.
func (x *xmlDecoder) field(n *xnode, p string) (Field, error) {
	f := Field{Name: x.name(n.name)}
	for _, a := range n.attrs {
		if a.Name.Space != nsXSI {
			f.Children = append(f.Children, x.attrField(a))
		}
	}
	for _, k := range n.kids {
		c, err := x.field(k, joinPath(p, k.name.Local))
		if err != nil {
			return f, err
		}
		f.Children = append(f.Children, c)
	}
	f.Value = x.expand(trim(n.text))
	f.Kind = KindString
	if len(f.Children) > 0 {
		f.Kind = KindObject
	}
	return f, nil
}

// name returns the Name of an extension element or attribute.
func (x *xmlDecoder) name(n xml.Name) Name {
	if x.jsonLDCURIEs && n.Space == "urn:epcglobal:cbv:mda" {
		n.Space += ":"
	}
	return Name{Space: n.Space, Local: n.Local}
}

// attrField returns an attribute as a field flagged Attr.
func (x *xmlDecoder) attrField(a xml.Attr) Field {
	return Field{Name: x.name(a.Name), Kind: KindString,
		Value: x.expand(trim(a.Value)), Attr: true}
}

// attrFields appends the namespaced attributes of a standard element to
// ext as fields; xsi attributes are skipped. Unqualified attributes are
// refused, except on an event element, where they are ignored (tools copy
// the document's creationDate and schemaVersion onto bare events).
func (x *xmlDecoder) attrFields(n *xnode, p string, ext []Field) ([]Field, error) {
	for _, a := range n.attrs {
		switch {
		case a.Name.Space == nsXSI:
		case a.Name.Space == "":
			if !EventType(n.name.Local).Valid() {
				return nil, xmlErr(joinPath(p, "@"+a.Name.Local), n.line, "unknown attribute")
			}
		default:
			ext = append(ext, x.attrField(a))
		}
	}
	return ext, nil
}

// fields decodes the content of ilmd: namespaced elements (after the 1.x
// extension wrapper is removed) and namespaced attributes.
func (x *xmlDecoder) fields(n *xnode, p string) ([]Field, error) {
	out, err := x.attrFields(n, p, nil)
	if err != nil {
		return nil, err
	}
	for _, k := range flatten(n) {
		kp := joinPath(p, k.name.Local)
		if k.name.Space == "" {
			return nil, xmlErr(kp, k.line, "unknown element (ILMD fields need a namespace)")
		}
		f, err := x.field(k, kp)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func (x *xmlDecoder) sensorElements(n *xnode, p string) ([]SensorElement, error) {
	out := []SensorElement{}
	err := x.each(n, p, "sensorElement", nil, func(k *xnode, kp string) error {
		var se SensorElement
		err := x.members(k, kp, &se.Extensions, func(m *xnode, mp string) (bool, error) {
			switch m.name.Local {
			case "sensorMetadata":
				md, err := x.sensorMetadata(m, mp)
				se.Metadata = md
				return true, err
			case "sensorReport":
				mp = fmt.Sprintf("%s[%d]", mp, len(se.Reports))
				var r SensorReport
				err := x.sensorAttrs(m, mp, &r.Extensions, func(name, v, ap string) (bool, error) {
					return x.sensorReportAttr(&r, name, v, ap)
				})
				se.Reports = append(se.Reports, r)
				return true, err
			}
			return false, nil
		})
		out = append(out, se)
		return err
	})
	return out, err
}

// sensorAttrs decodes the attributes of a sensorMetadata or sensorReport
// element: fn handles the standard ones, namespaced ones become extension
// fields. The element may hold neither text nor child elements.
func (x *xmlDecoder) sensorAttrs(n *xnode, p string, ext *[]Field, fn func(name, v, ap string) (bool, error)) error {
	if len(n.kids) > 0 {
		return xmlErr(joinPath(p, n.kids[0].name.Local), n.kids[0].line, "unexpected element")
	}
	if strings.TrimSpace(n.text) != "" {
		return xmlErr(p, n.line, "text content is not supported")
	}
	for _, a := range n.attrs {
		ap := joinPath(p, "@"+a.Name.Local)
		switch a.Name.Space {
		case nsXSI:
		case "":
			known, err := fn(a.Name.Local, trim(a.Value), ap)
			if err != nil {
				return at(n, err)
			}
			if !known {
				// anyAttribute: kept, and hashed as the reference hashes
				// a member that is neither standard nor namespaced
				*ext = append(*ext, x.attrField(a))
			}
		default:
			*ext = append(*ext, x.attrField(a))
		}
	}
	return nil
}

func (x *xmlDecoder) sensorMetadata(n *xnode, p string) (*SensorMetadata, error) {
	m := new(SensorMetadata)
	err := x.sensorAttrs(n, p, &m.Extensions, func(name, v, ap string) (bool, error) {
		var err error
		switch name {
		case "time":
			m.Time, err = v, timeCheck(v, ap)
		case "startTime":
			m.StartTime, err = v, timeCheck(v, ap)
		case "endTime":
			m.EndTime, err = v, timeCheck(v, ap)
		case "deviceID":
			m.DeviceID = x.expand(v)
		case "deviceMetadata":
			m.DeviceMetadata = x.expand(v)
		case "rawData":
			m.RawData = x.expand(v)
		case "dataProcessingMethod":
			m.DataProcessingMethod = x.expand(v)
		case "bizRules":
			m.BizRules = x.expand(v)
		default:
			return false, nil
		}
		return true, err
	})
	return m, err
}

func timeCheck(v, p string) error {
	_, err := checkTime(v, p)
	return err
}

// xmlNumber checks an xsd:double attribute (finite values only).
func xmlNumber(v, p string) (string, error) {
	if _, ok := canonDecimal(v); !ok || strings.Contains(v, "_") {
		return "", fieldErr(p, "not a number")
	}
	return v, nil
}

// sensorReportAttr decodes one standard attribute of a sensorReport and
// reports whether name is one.
func (x *xmlDecoder) sensorReportAttr(r *SensorReport, name, v, p string) (bool, error) {
	var err error
	iri := x.expand(v)
	switch name {
	case "type":
		r.Type, err = x.term(vocabMeasurementType, v, p)
	case "exception":
		r.Exception, err = x.term(vocabSensorAlertType, v, p)
	case "deviceID":
		r.DeviceID = iri
	case "deviceMetadata":
		r.DeviceMetadata = iri
	case "rawData":
		r.RawData = iri
	case "dataProcessingMethod":
		r.DataProcessingMethod = iri
	case "time":
		r.Time, err = v, timeCheck(v, p)
	case "microorganism":
		r.Microorganism = iri
	case "chemicalSubstance":
		r.ChemicalSubstance = iri
	case "value":
		r.Value, err = xmlNumber(v, p)
	case "component":
		r.Component, err = x.term(vocabComponent, v, p)
	case "stringValue":
		r.StringValue = v
	case "booleanValue":
		switch v {
		case "true", "1":
			r.BooleanValue = "true"
		case "false", "0":
			r.BooleanValue = "false"
		default:
			err = fieldErr(p, "not a boolean")
		}
	case "hexBinaryValue":
		r.HexBinaryValue = v
	case "uriValue":
		r.URIValue = iri
	case "minValue":
		r.MinValue, err = xmlNumber(v, p)
	case "maxValue":
		r.MaxValue, err = xmlNumber(v, p)
	case "meanValue":
		r.MeanValue, err = xmlNumber(v, p)
	case "sDev":
		r.SDev, err = xmlNumber(v, p)
	case "percRank":
		r.PercRank, err = xmlNumber(v, p)
	case "percValue":
		r.PercValue, err = xmlNumber(v, p)
	case "uom":
		r.UOM = v
	case "coordinateReferenceSystem":
		r.CoordinateReferenceSystem = iri
	default:
		return false, nil
	}
	return true, err
}
