package epcis

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// rdfsComment is the expanded name of rdfs:comment, a human note that is
// never part of an event's content.
const rdfsComment = "http://www.w3.org/2000/01/rdf-schema#comment"

// decoder carries the active context while one event is decoded.
type decoder struct {
	ctx *context
}

// appendSortedKeys appends the member names of obj to keys in byte
// order, so that decoding (and the first error reported) does not depend
// on map order. Callers pass a small array's slice, which spares an
// allocation for most objects.
func appendSortedKeys(keys []string, obj map[string]any) []string {
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// decodeEvent decodes the JSON value v (an event object) into ev and
// validates it.
func decodeEvent(ctx *context, v any, path string, ev *Event) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return fieldErr(path, "event is not a JSON object")
	}
	if c, ok := obj["@context"]; ok {
		var err error
		if ctx, err = ctx.with(c, joinPath(path, "@context")); err != nil {
			return err
		}
	}
	d := decoder{ctx: ctx}
	var kb [16]string
	for _, k := range appendSortedKeys(kb[:0], obj) {
		if err := d.eventMember(ev, k, obj[k], joinPath(path, k)); err != nil {
			return err
		}
	}
	return validateEvent(ev, path)
}

// eventMember decodes one member of an event object.
func (d decoder) eventMember(ev *Event, k string, v any, p string) error {
	if v == nil {
		return nil // a null member is an absent member
	}
	var err error
	switch k {
	case "type":
		var s string
		if s, err = d.str(v, p); err == nil {
			ev.Type = EventType(s)
		}
	case "eventID", "id":
		// "id" is the JSON-LD alias of @id, which eventID also maps to.
		var id string
		if id, err = d.iri(v, p); err == nil && (k == "eventID" || ev.EventID == "") {
			ev.EventID = id
		}
	case "eventTime":
		ev.EventTime, err = d.str(v, p)
	case "eventTimeZoneOffset":
		ev.EventTimeZoneOffset, err = d.str(v, p)
	case "recordTime":
		ev.RecordTime, err = d.str(v, p)
	case "certificationInfo":
		ev.CertificationInfo, err = d.iriList(v, p)
	case "errorDeclaration":
		ev.ErrorDeclaration, err = d.errorDeclaration(v, p)
	case "parentID":
		ev.ParentID, err = d.iri(v, p)
	case "epcList":
		ev.EPCList, err = d.iriList(v, p)
	case "childEPCs":
		ev.ChildEPCs, err = d.iriList(v, p)
	case "inputEPCList":
		ev.InputEPCList, err = d.iriList(v, p)
	case "outputEPCList":
		ev.OutputEPCList, err = d.iriList(v, p)
	case "quantityList":
		ev.QuantityList, err = d.quantityList(v, p)
	case "childQuantityList":
		ev.ChildQuantityList, err = d.quantityList(v, p)
	case "inputQuantityList":
		ev.InputQuantityList, err = d.quantityList(v, p)
	case "outputQuantityList":
		ev.OutputQuantityList, err = d.quantityList(v, p)
	case "action":
		ev.Action, err = d.str(v, p)
	case "transformationID":
		ev.TransformationID, err = d.iri(v, p)
	case "bizStep":
		ev.BizStep, err = d.term(vocabBizStep, v, p)
	case "disposition":
		ev.Disposition, err = d.term(vocabDisposition, v, p)
	case "persistentDisposition":
		ev.PersistentDisposition, err = d.persistentDisposition(v, p)
	case "readPoint":
		ev.ReadPoint, err = d.location(v, p)
	case "bizLocation":
		ev.BizLocation, err = d.location(v, p)
	case "bizTransactionList":
		ev.BizTransactionList, err = d.bizTransactions(v, p)
	case "sourceList":
		ev.SourceList, err = d.sourceDests("source", v, p)
	case "destinationList":
		ev.DestinationList, err = d.sourceDests("destination", v, p)
	case "sensorElementList":
		ev.SensorElementList, err = d.sensorElements(v, p)
	case "ilmd":
		ev.ILMD, err = d.ilmd(v, p)
	default:
		ev.Extensions, err = d.extension(ev.Extensions, k, v, p)
	}
	return err
}

// str returns a JSON string value.
func (d decoder) str(v any, p string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fieldErr(p, "not a string")
	}
	return s, nil
}

// iri returns a JSON string value with a declared CURIE prefix expanded.
func (d decoder) iri(v any, p string) (string, error) {
	s, err := d.str(v, p)
	if err != nil {
		return "", err
	}
	return d.ctx.expandIRI(trim(s)), nil
}

// iriList returns a JSON array of strings (or a single string) as IRIs.
func (d decoder) iriList(v any, p string) ([]string, error) {
	if s, ok := v.(string); ok {
		return []string{d.ctx.expandIRI(trim(s))}, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fieldErr(p, "not an array of strings")
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		s, err := d.iri(e, fmt.Sprintf("%s[%d]", p, i))
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// term returns the IRI of a vocabulary value: a bare CBV/GS1 term known to
// the EPCIS context, a CURIE, or an absolute URI. Other bare words are
// refused for the closed CBV vocabularies (business steps, dispositions,
// transaction, source/destination and error types, whose user extensions
// must be URIs); in the measurement and sensor alert types, which GS1
// extends between context releases, a bare word is a GS1 Web Vocabulary
// term (see expandTerm), and a bare component is kept as written.
func (d decoder) term(kind vocab, v any, p string) (string, error) {
	s, err := d.str(v, p)
	if err != nil {
		return "", err
	}
	s = trim(s)
	if iri := expandTerm(kind, s); iri != "" {
		return iri, nil
	}
	open := kind == vocabMeasurementType || kind == vocabComponent || kind == vocabSensorAlertType
	if !open && !strings.Contains(s, ":") {
		return "", fieldErr(p, fmt.Sprintf("%q is neither a standard vocabulary term nor a URI", s))
	}
	return d.ctx.expandIRI(s), nil
}

// termList is term for a JSON array of values (or a single value).
func (d decoder) termList(kind vocab, v any, p string) ([]string, error) {
	arr, ok := v.([]any)
	if !ok {
		s, err := d.term(kind, v, p)
		return []string{s}, err
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		s, err := d.term(kind, e, fmt.Sprintf("%s[%d]", p, i))
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// number returns the lexical form of a JSON number.
func (d decoder) number(v any, p string) (string, error) {
	n, ok := v.(json.Number)
	if !ok {
		return "", fieldErr(p, "not a number")
	}
	return string(n), nil
}

// object returns a JSON object value.
func (d decoder) object(v any, p string) (map[string]any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fieldErr(p, "not an object")
	}
	return obj, nil
}

// objects returns the elements of a JSON array of objects; a single object
// is accepted as a one-element array.
func (d decoder) objects(v any, p string) ([]map[string]any, error) {
	if obj, ok := v.(map[string]any); ok {
		return []map[string]any{obj}, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fieldErr(p, "not an array of objects")
	}
	out := make([]map[string]any, len(arr))
	for i, e := range arr {
		obj, err := d.object(e, fmt.Sprintf("%s[%d]", p, i))
		if err != nil {
			return nil, err
		}
		out[i] = obj
	}
	return out, nil
}

// members calls fn for every member of obj in key order; members fn does
// not know are decoded as extensions and appended to *ext. Members without
// a namespace prefix are kept (with an empty Name.Space) as the EPCIS JSON
// schema allows them in most structures.
func (d decoder) members(obj map[string]any, p string, ext *[]Field, fn func(k string, v any, p string) (bool, error)) error {
	return d.membersAt(obj, p, ext, true, fn)
}

// membersAt is members; allowBare false refuses members without a
// namespace prefix.
func (d decoder) membersAt(obj map[string]any, p string, ext *[]Field, allowBare bool, fn func(k string, v any, p string) (bool, error)) error {
	var kb [16]string
	for _, k := range appendSortedKeys(kb[:0], obj) {
		kp := joinPath(p, k)
		if obj[k] == nil {
			continue
		}
		known, err := fn(k, obj[k], kp)
		if err != nil {
			return err
		}
		if !known {
			if *ext, err = d.extensionAt(*ext, k, obj[k], kp, allowBare); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d decoder) quantityList(v any, p string) ([]QuantityElement, error) {
	objs, err := d.objects(v, p)
	if err != nil {
		return nil, err
	}
	out := make([]QuantityElement, len(objs))
	for i, obj := range objs {
		q := &out[i]
		err := d.membersAt(obj, fmt.Sprintf("%s[%d]", p, i), &q.Extensions, false, func(k string, v any, p string) (bool, error) {
			var err error
			switch k {
			case "epcClass":
				q.EPCClass, err = d.iri(v, p)
			case "quantity":
				q.Quantity, err = d.number(v, p)
			case "uom":
				q.UOM, err = d.str(v, p)
			default:
				return false, nil
			}
			return true, err
		})
		if err != nil {
			return nil, err
		}
		if q.EPCClass == "" {
			return nil, fieldErr(fmt.Sprintf("%s[%d].epcClass", p, i), "missing")
		}
	}
	return out, nil
}

func (d decoder) persistentDisposition(v any, p string) (*PersistentDisposition, error) {
	obj, err := d.object(v, p)
	if err != nil {
		return nil, err
	}
	pd := new(PersistentDisposition)
	err = d.members(obj, p, &pd.Extensions, func(k string, v any, p string) (bool, error) {
		var err error
		switch k {
		case "set":
			pd.Set, err = d.termList(vocabDisposition, v, p)
		case "unset":
			pd.Unset, err = d.termList(vocabDisposition, v, p)
		default:
			return false, nil
		}
		return true, err
	})
	return pd, err
}

func (d decoder) location(v any, p string) (*Location, error) {
	if s, ok := v.(string); ok {
		return &Location{ID: d.ctx.expandIRI(trim(s))}, nil
	}
	obj, err := d.object(v, p)
	if err != nil {
		return nil, err
	}
	loc := new(Location)
	err = d.members(obj, p, &loc.Extensions, func(k string, v any, p string) (bool, error) {
		if k != "id" {
			return false, nil
		}
		var err error
		loc.ID, err = d.iri(v, p)
		return true, err
	})
	return loc, err
}

func (d decoder) bizTransactions(v any, p string) ([]BizTransaction, error) {
	objs, err := d.objects(v, p)
	if err != nil {
		return nil, err
	}
	out := make([]BizTransaction, len(objs))
	for i, obj := range objs {
		bt := &out[i]
		ep := fmt.Sprintf("%s[%d]", p, i)
		err := d.members(obj, ep, &bt.Extensions, func(k string, v any, p string) (bool, error) {
			var err error
			switch k {
			case "type":
				bt.Type, err = d.term(vocabBizTransactionType, v, p)
			case "bizTransaction":
				bt.Value, err = d.iri(v, p)
			default:
				return false, nil
			}
			return true, err
		})
		if err != nil {
			return nil, err
		}
		if bt.Value == "" {
			return nil, fieldErr(ep+".bizTransaction", "missing")
		}
	}
	return out, nil
}

// sourceDests decodes a sourceList or destinationList; key is "source" or
// "destination".
func (d decoder) sourceDests(key string, v any, p string) ([]SourceDest, error) {
	objs, err := d.objects(v, p)
	if err != nil {
		return nil, err
	}
	out := make([]SourceDest, len(objs))
	for i, obj := range objs {
		sd := &out[i]
		ep := fmt.Sprintf("%s[%d]", p, i)
		err := d.members(obj, ep, &sd.Extensions, func(k string, v any, p string) (bool, error) {
			var err error
			switch k {
			case "type":
				sd.Type, err = d.term(vocabSourceDestType, v, p)
			case key:
				sd.ID, err = d.iri(v, p)
			default:
				return false, nil
			}
			return true, err
		})
		if err != nil {
			return nil, err
		}
		if sd.ID == "" || sd.Type == "" {
			return nil, fieldErr(ep, "needs both type and "+key)
		}
	}
	return out, nil
}

func (d decoder) errorDeclaration(v any, p string) (*ErrorDeclaration, error) {
	obj, err := d.object(v, p)
	if err != nil {
		return nil, err
	}
	ed := new(ErrorDeclaration)
	err = d.members(obj, p, &ed.Extensions, func(k string, v any, p string) (bool, error) {
		var err error
		switch k {
		case "declarationTime":
			if ed.DeclarationTime, err = d.str(v, p); err == nil {
				_, err = checkTime(ed.DeclarationTime, p)
			}
		case "reason":
			ed.Reason, err = d.term(vocabErrorReason, v, p)
		case "correctiveEventIDs":
			ed.CorrectiveEventIDs, err = d.iriList(v, p)
		default:
			return false, nil
		}
		return true, err
	})
	return ed, err
}

func (d decoder) ilmd(v any, p string) ([]Field, error) {
	obj, err := d.object(v, p)
	if err != nil {
		return nil, err
	}
	var out []Field
	var kb [16]string
	for _, k := range appendSortedKeys(kb[:0], obj) {
		if out, err = d.extension(out, k, obj[k], joinPath(p, k)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// extension decodes the member k of value v as extension fields appended to
// out. Keywords (@…) and comments are skipped; null members are absent. A
// key without a namespace is refused unless nested inside an extension.
func (d decoder) extension(out []Field, k string, v any, p string) ([]Field, error) {
	return d.extensionAt(out, k, v, p, false)
}

func (d decoder) extensionAt(out []Field, k string, v any, p string, allowBare bool) ([]Field, error) {
	if strings.HasPrefix(k, "@") || k == "comment" || v == nil {
		return out, nil
	}
	name, err := d.ctx.expandKey(k, p)
	if err != nil {
		return nil, err
	}
	if name.Space+name.Local == rdfsComment {
		return out, nil
	}
	if name.Space == "" && !allowBare {
		return nil, fieldErr(p, "unknown member (extensions need a namespace prefix)")
	}
	return d.fieldValues(out, name, v, p)
}

// fieldValues appends one Field per value (arrays are flattened).
func (d decoder) fieldValues(out []Field, name Name, v any, p string) ([]Field, error) {
	f := Field{Name: name}
	switch v := v.(type) {
	case nil:
		return out, nil
	case []any:
		var err error
		for i, e := range v {
			if out, err = d.fieldValues(out, name, e, fmt.Sprintf("%s[%d]", p, i)); err != nil {
				return nil, err
			}
		}
		return out, nil
	case string:
		f.Kind, f.Value = KindString, d.ctx.expandGS1CURIE(v)
	case json.Number:
		f.Kind, f.Value = KindNumber, string(v)
	case bool:
		f.Kind, f.Value = KindBool, scalarString(v)
	case map[string]any:
		if val, ok := v["@value"]; ok {
			return d.fieldValues(out, name, val, p)
		}
		if val, ok := v["#text"]; ok {
			f.Value = scalarString(val)
		}
		f.Kind = KindObject
		var err error
		var kb [16]string
		for _, k := range appendSortedKeys(kb[:0], v) {
			if k == "#text" {
				continue
			}
			if f.Children, err = d.extensionAt(f.Children, k, v[k], joinPath(p, k), true); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fieldErr(p, "unsupported JSON value")
	}
	return append(out, f), nil
}
