package epcis

import "fmt"

func (d decoder) sensorElements(v any, p string) ([]SensorElement, error) {
	objs, err := d.objects(v, p)
	if err != nil {
		return nil, err
	}
	out := make([]SensorElement, len(objs))
	for i, obj := range objs {
		se := &out[i]
		err := d.members(obj, fmt.Sprintf("%s[%d]", p, i), &se.Extensions, func(k string, v any, p string) (bool, error) {
			var err error
			switch k {
			case "sensorMetadata":
				se.Metadata, err = d.sensorMetadata(v, p)
			case "sensorReport":
				se.Reports, err = d.sensorReports(v, p)
			case "type":
				// the JSON-LD @type of the element (epcis:SensorElement)
			default:
				return false, nil
			}
			return true, err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d decoder) sensorMetadata(v any, p string) (*SensorMetadata, error) {
	obj, err := d.object(v, p)
	if err != nil {
		return nil, err
	}
	m := new(SensorMetadata)
	err = d.members(obj, p, &m.Extensions, func(k string, v any, p string) (bool, error) {
		var err error
		switch k {
		case "time":
			m.Time, err = d.timestamp(v, p)
		case "startTime":
			m.StartTime, err = d.timestamp(v, p)
		case "endTime":
			m.EndTime, err = d.timestamp(v, p)
		case "deviceID":
			m.DeviceID, err = d.iri(v, p)
		case "deviceMetadata":
			m.DeviceMetadata, err = d.iri(v, p)
		case "rawData":
			m.RawData, err = d.iri(v, p)
		case "dataProcessingMethod":
			m.DataProcessingMethod, err = d.iri(v, p)
		case "bizRules":
			m.BizRules, err = d.iri(v, p)
		default:
			return false, nil
		}
		return true, err
	})
	return m, err
}

func (d decoder) sensorReports(v any, p string) ([]SensorReport, error) {
	objs, err := d.objects(v, p)
	if err != nil {
		return nil, err
	}
	out := make([]SensorReport, len(objs))
	for i, obj := range objs {
		r := &out[i]
		err := d.members(obj, fmt.Sprintf("%s[%d]", p, i), &r.Extensions, func(k string, v any, p string) (bool, error) {
			return d.sensorReportMember(r, k, v, p)
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sensorReportMember decodes one standard member of a sensorReport and
// reports whether k is one.
func (d decoder) sensorReportMember(r *SensorReport, k string, v any, p string) (bool, error) {
	var err error
	switch k {
	case "type":
		r.Type, err = d.term(vocabMeasurementType, v, p)
	case "exception":
		r.Exception, err = d.term(vocabSensorAlertType, v, p)
	case "deviceID":
		r.DeviceID, err = d.iri(v, p)
	case "deviceMetadata":
		r.DeviceMetadata, err = d.iri(v, p)
	case "rawData":
		r.RawData, err = d.iri(v, p)
	case "dataProcessingMethod":
		r.DataProcessingMethod, err = d.iri(v, p)
	case "time":
		r.Time, err = d.timestamp(v, p)
	case "microorganism":
		r.Microorganism, err = d.iri(v, p)
	case "chemicalSubstance":
		r.ChemicalSubstance, err = d.iri(v, p)
	case "value":
		r.Value, err = d.number(v, p)
	case "component":
		r.Component, err = d.term(vocabComponent, v, p)
	case "stringValue":
		r.StringValue, err = d.str(v, p)
	case "booleanValue":
		b, ok := v.(bool)
		if !ok {
			return true, fieldErr(p, "not a boolean")
		}
		r.BooleanValue = scalarString(b)
	case "hexBinaryValue":
		r.HexBinaryValue, err = d.str(v, p)
	case "uriValue":
		r.URIValue, err = d.iri(v, p)
	case "minValue":
		r.MinValue, err = d.number(v, p)
	case "maxValue":
		r.MaxValue, err = d.number(v, p)
	case "meanValue":
		r.MeanValue, err = d.number(v, p)
	case "sDev":
		r.SDev, err = d.number(v, p)
	case "percRank":
		r.PercRank, err = d.number(v, p)
	case "percValue":
		r.PercValue, err = d.number(v, p)
	case "uom":
		r.UOM, err = d.str(v, p)
	case "coordinateReferenceSystem":
		r.CoordinateReferenceSystem, err = d.iri(v, p)
	default:
		return false, nil
	}
	return true, err
}

// timestamp returns a JSON string that must be an RFC 3339 timestamp.
func (d decoder) timestamp(v any, p string) (string, error) {
	s, err := d.str(v, p)
	if err != nil {
		return "", err
	}
	_, err = checkTime(s, p)
	return s, err
}

// validateEvent checks the members every event of its type must have and
// the syntax of those the hash depends on.
func validateEvent(ev *Event, path string) error {
	p := func(f string) string { return joinPath(path, f) }
	if ev.Type == "" {
		return fieldErr(p("type"), "missing")
	}
	if !ev.Type.Valid() {
		return fieldErr(p("type"), fmt.Sprintf("unknown event type %q", string(ev.Type)))
	}
	if ev.EventTime == "" {
		return fieldErr(p("eventTime"), "missing")
	}
	if _, err := checkTime(ev.EventTime, p("eventTime")); err != nil {
		return err
	}
	if ev.RecordTime != "" {
		if _, err := checkTime(ev.RecordTime, p("recordTime")); err != nil {
			return err
		}
	}
	if ev.EventTimeZoneOffset == "" {
		return fieldErr(p("eventTimeZoneOffset"), "missing")
	}
	if !ValidTimeZoneOffset(ev.EventTimeZoneOffset) {
		return fieldErr(p("eventTimeZoneOffset"), "not a time zone offset (±hh:mm)")
	}
	if ev.Type != TransformationEvent {
		switch ev.Action {
		case "ADD", "OBSERVE", "DELETE":
		case "":
			return fieldErr(p("action"), "missing")
		default:
			return fieldErr(p("action"), fmt.Sprintf("%q is not ADD, OBSERVE or DELETE", ev.Action))
		}
	}
	if ev.Type == ObjectEvent {
		if ev.EPCList == nil && len(ev.QuantityList) == 0 && (len(ev.SensorElementList) == 0 || ev.ReadPoint == nil) {
			return fieldErr(p("epcList"), "an ObjectEvent needs epcList, quantityList, or sensorElementList and readPoint")
		}
		if len(ev.ILMD) > 0 && ev.Action != "ADD" {
			return fieldErr(p("ilmd"), "only allowed with action ADD")
		}
	}
	for _, q := range [][]QuantityElement{ev.QuantityList, ev.ChildQuantityList, ev.InputQuantityList, ev.OutputQuantityList} {
		for _, e := range q {
			if e.Quantity != "" {
				if _, ok := canonDecimal(e.Quantity); !ok {
					return fieldErr(p("quantity"), fmt.Sprintf("%q is not a number", e.Quantity))
				}
			}
		}
	}
	return nil
}

// ValidTimeZoneOffset reports whether s is an EPCIS eventTimeZoneOffset:
// ±hh:mm with hh ≤ 14 and mm < 60.
func ValidTimeZoneOffset(s string) bool {
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return false
	}
	for _, i := range []int{1, 2, 4, 5} {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	hh := int(s[1]-'0')*10 + int(s[2]-'0')
	mm := int(s[4]-'0')*10 + int(s[5]-'0')
	return hh <= 14 && mm < 60
}
