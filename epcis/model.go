package epcis

import (
	"fmt"
	"strings"
)

// EventType is the EPCIS event type, as named in the "type" member of a
// JSON-LD event.
type EventType string

// The five EPCIS 2.0 event types.
const (
	ObjectEvent         EventType = "ObjectEvent"
	AggregationEvent    EventType = "AggregationEvent"
	TransactionEvent    EventType = "TransactionEvent"
	TransformationEvent EventType = "TransformationEvent"
	AssociationEvent    EventType = "AssociationEvent"
)

// Valid reports whether t is one of the five EPCIS 2.0 event types.
func (t EventType) Valid() bool {
	switch t {
	case ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent:
		return true
	}
	return false
}

// Document is a decoded EPCIS 2.0 document: a capture document
// (EPCISDocument, events under epcisBody.eventList or epcisBody.event) or a
// query document (EPCISQueryDocument, events under
// epcisBody.queryResults.resultsBody.eventList).
type Document struct {
	// Type is the document type, "EPCISDocument" or "EPCISQueryDocument".
	Type string
	// SchemaVersion and CreationDate are copied from the document as given.
	SchemaVersion string
	CreationDate  string
	// Namespaces maps every prefix in force to its namespace IRI: the
	// prefixes of the standard EPCIS context (epcis, cbv, cbvmda, gs1, …)
	// overlaid with those the document's @context declares.
	Namespaces map[string]string
	// IgnoreFields lists the extension fields that the document (or its
	// queryResults) declares, under a member named ignoreFields, as
	// repository-specific; they are copied into every Event.IgnoreFields.
	IgnoreFields []Name
	// Events holds the events in document order.
	Events []Event
}

// Event is one EPCIS event of any of the five types, in expanded form: CBV
// and GS1 vocabulary values are full IRIs (the JSON-LD bare terms such as
// "shipping" and CURIEs such as "cbv:BizStep-shipping" are expanded when
// decoding), while identifiers (EPCs, class IDs, locations) are kept exactly
// as given, URN or Digital Link. Timestamps and numbers are kept as their
// lexical form. A field that is absent is empty.
type Event struct {
	Type                EventType
	EventID             string
	EventTime           string
	EventTimeZoneOffset string
	RecordTime          string
	CertificationInfo   []string
	ErrorDeclaration    *ErrorDeclaration

	ParentID           string
	EPCList            []string
	ChildEPCs          []string
	InputEPCList       []string
	OutputEPCList      []string
	QuantityList       []QuantityElement
	ChildQuantityList  []QuantityElement
	InputQuantityList  []QuantityElement
	OutputQuantityList []QuantityElement

	Action                string
	TransformationID      string
	BizStep               string
	Disposition           string
	PersistentDisposition *PersistentDisposition
	ReadPoint             *Location
	BizLocation           *Location
	BizTransactionList    []BizTransaction
	SourceList            []SourceDest
	DestinationList       []SourceDest
	SensorElementList     []SensorElement

	// ILMD holds the instance/lot master data fields (e.g. cbvmda:lotNumber).
	ILMD []Field
	// Extensions holds the event's user extension fields and any member
	// that is not part of the EPCIS event model.
	Extensions []Field
	// IgnoreFields names top-level extension fields left out of the
	// pre-hash (see Document.IgnoreFields).
	IgnoreFields []Name
}

// QuantityElement is one entry of a quantity list.
type QuantityElement struct {
	EPCClass string
	// Quantity is the decimal quantity as written, "" when absent.
	Quantity   string
	UOM        string
	Extensions []Field
}

// PersistentDisposition lists the dispositions an event sets and unsets.
type PersistentDisposition struct {
	Set        []string
	Unset      []string
	Extensions []Field
}

// Location is a readPoint or bizLocation.
type Location struct {
	ID         string
	Extensions []Field
}

// BizTransaction is one business transaction reference.
type BizTransaction struct {
	Type       string
	Value      string
	Extensions []Field
}

// SourceDest is one entry of a sourceList or destinationList.
type SourceDest struct {
	Type       string
	ID         string
	Extensions []Field
}

// SensorElement is one entry of a sensorElementList.
type SensorElement struct {
	Metadata   *SensorMetadata
	Reports    []SensorReport
	Extensions []Field
}

// SensorMetadata describes the device and the period of a sensor element.
type SensorMetadata struct {
	Time                 string
	StartTime            string
	EndTime              string
	DeviceID             string
	DeviceMetadata       string
	RawData              string
	DataProcessingMethod string
	BizRules             string
	Extensions           []Field
}

// SensorReport is one sensor measurement or observation. Numeric members
// keep their lexical form.
type SensorReport struct {
	Type                      string
	Exception                 string
	DeviceID                  string
	DeviceMetadata            string
	RawData                   string
	DataProcessingMethod      string
	Time                      string
	Microorganism             string
	ChemicalSubstance         string
	Value                     string
	Component                 string
	StringValue               string
	BooleanValue              string
	HexBinaryValue            string
	URIValue                  string
	MinValue                  string
	MaxValue                  string
	MeanValue                 string
	SDev                      string
	PercRank                  string
	PercValue                 string
	UOM                       string
	CoordinateReferenceSystem string
	Extensions                []Field
}

// ErrorDeclaration marks an event as erroneous. It never takes part in the
// event hash.
type ErrorDeclaration struct {
	DeclarationTime    string
	Reason             string
	CorrectiveEventIDs []string
	Extensions         []Field
}

// Name is the expanded name of an extension field: the namespace IRI as
// declared in @context (trailing '/' or '#' included) and the local name.
// A member whose key has no prefix has an empty Space.
type Name struct {
	Space string
	Local string
}

// String returns the name in the pre-hash notation "{space}local", or the
// bare local name when Space is empty.
func (n Name) String() string {
	if n.Space == "" {
		return n.Local
	}
	return "{" + n.Space + "}" + n.Local
}

// Kind is the JSON kind of a Field's value.
type Kind uint8

// Field value kinds.
const (
	KindString Kind = iota
	KindNumber
	KindBool
	KindObject
)

// Field is one extension member (user extension, ILMD field, or an unknown
// member of a standard structure). A scalar has Value (numbers and booleans
// in their JSON lexical form); an object has Children. A JSON array is
// flattened into one Field per element, all with the same Name, as the XML
// binding repeats an element.
type Field struct {
	Name     Name
	Kind     Kind
	Value    string
	Children []Field
	// Attr reports that the field was an XML attribute of its parent
	// element, so that EncodeXML writes it back as one. The JSON-LD binding
	// has no attributes; the pre-hash does not depend on Attr.
	Attr bool
}

// FieldError reports an invalid or missing value. Field is the JSON path of
// the offending member relative to the event (or document), for example
// "eventTime" or "sensorElementList[0].sensorMetadata.time"; for an XML
// document it is the path of element names, e.g.
// "EPCISBody.EventList.ObjectEvent[2].eventTime", and Line is the line of
// the element (0 for JSON).
type FieldError struct {
	Field string
	Line  int
	Msg   string
}

func (e *FieldError) Error() string {
	s := "epcis: "
	if e.Line > 0 {
		s += fmt.Sprintf("line %d: ", e.Line)
	}
	if e.Field == "" {
		return s + e.Msg
	}
	return s + e.Field + ": " + e.Msg
}

func fieldErr(field, msg string) error { return &FieldError{Field: field, Msg: msg} }

// joinPath joins JSON path segments with '.', leaving index suffixes as given.
func joinPath(parent, child string) string {
	switch {
	case parent == "":
		return child
	case child == "":
		return parent
	case strings.HasPrefix(child, "["):
		return parent + child
	}
	return parent + "." + child
}
