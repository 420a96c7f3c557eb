package epcisapi

import (
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/epcis"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/convert"
)

// Behaviour is what a capture does when some of its events cannot be
// captured (header GS1-Capture-Error-Behaviour).
type Behaviour int

// Capture error behaviours.
const (
	// Rollback: all events or none (the binding's default).
	Rollback Behaviour = iota
	// Proceed: the events that can be captured are.
	Proceed
)

// String is the header value.
func (b Behaviour) String() string {
	if b == Proceed {
		return "proceed"
	}
	return "rollback"
}

// ParseBehaviour reads the GS1-Capture-Error-Behaviour header: empty or
// "rollback", or "proceed" (case-insensitive).
func ParseBehaviour(h string) (Behaviour, error) {
	switch strings.ToLower(strings.TrimSpace(h)) {
	case "", "rollback":
		return Rollback, nil
	case "proceed":
		return Proceed, nil
	}
	return 0, &DocError{Status: 400, Field: "GS1-Capture-Error-Behaviour", Msg: fmt.Sprintf("rollback or proceed, got %q", h)}
}

// Format is the syntax of a capture body.
type Format int

// Capture body formats.
const (
	// JSON is JSON-LD (application/ld+json or application/json).
	JSON Format = iota
	// XML is EPCIS 2.0 or 1.x XML (application/xml or text/xml).
	XML
)

// FormatOf reads a Content-Type header.
func FormatOf(contentType string) (Format, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return 0, &DocError{Status: 415, Field: "Content-Type", Msg: fmt.Sprintf("not a media type: %q", contentType)}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return 0, &DocError{Status: 415, Field: "Content-Type", Msg: fmt.Sprintf("charset %q: only UTF-8", cs)}
	}
	switch mt {
	case "application/ld+json", "application/json":
		return JSON, nil
	case "application/xml", "text/xml":
		return XML, nil
	}
	return 0, &DocError{Status: 415, Field: "Content-Type", Msg: fmt.Sprintf("application/ld+json, application/json or application/xml, got %q", mt)}
}

// Limits bound one capture (headers GS1-EPCIS-Capture-Limit and
// GS1-EPCIS-Capture-File-Size-Limit).
type Limits struct {
	MaxEvents int   // events in one document
	MaxBytes  int64 // bytes of one body
}

// DefaultLimits are the capture limits unless configured.
func DefaultLimits() Limits { return Limits{MaxEvents: 10_000, MaxBytes: 32 << 20} }

// DocError refuses a whole capture request: Status is the HTTP status
// (400, 413 or 415); Field is a JSON pointer ("/epcisBody/eventList/3/action"),
// an XML element path, or a header name; Line the XML line when known.
type DocError struct {
	Status int
	Field  string
	Line   int
	Msg    string
}

func (e *DocError) Error() string {
	s := "capture: "
	if e.Line > 0 {
		s += "line " + strconv.Itoa(e.Line) + ": "
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Msg
}

// EventError names one event of a document that cannot be captured.
type EventError struct {
	Index   int    // position in the document, from 0
	EventID string // its eventID, or the CBV 2.0 hash the node gives it; empty when neither is known
	Field   string // the member at fault, as envelope.FieldError names it
	Msg     string
}

func (e EventError) Error() string {
	s := "event " + strconv.Itoa(e.Index)
	if e.EventID != "" {
		s += " (" + e.EventID + ")"
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Msg
}

// Prepared is a capture ready to publish.
type Prepared struct {
	// Events are the scan events to publish, in document order; with
	// Proceed the refused ones are left out, with Rollback there are none
	// when Errors is not empty.
	Events []*pb.ScanEvent
	// Positions give each of Events its position in the document.
	Positions []int
	// Errors are the events that cannot be captured.
	Errors []EventError
	// Total is the number of events in the document.
	Total int
	// EPCISHead is the epcis_head of the captures that carry Events: each
	// event's epcis bytes are then its event object alone (a JSON-LD
	// document that split into its events, epcis.Captured); nil when each
	// event's epcis bytes are its whole document.
	EPCISHead []byte
}

// Preparer turns capture bodies into scan events. It is safe for
// concurrent use.
type Preparer struct {
	v      *epcis.Validator
	limits Limits
}

// NewPreparer returns a preparer with limits (zero fields: the defaults).
func NewPreparer(limits Limits) (*Preparer, error) {
	d := DefaultLimits()
	if limits.MaxEvents <= 0 {
		limits.MaxEvents = d.MaxEvents
	}
	if limits.MaxBytes <= 0 {
		limits.MaxBytes = d.MaxBytes
	}
	v, err := epcis.NewValidator()
	if err != nil {
		return nil, err
	}
	return &Preparer{v: v, limits: limits}, nil
}

// Limits returns the preparer's limits, as OPTIONS announces them.
func (p *Preparer) Limits() Limits { return p.limits }

// Prepare checks and decodes body (of format f), captured by party actor,
// and projects each event onto the scan event the node publishes. A
// document that cannot be read at all is a *DocError.
func (p *Preparer) Prepare(body []byte, f Format, actor string, b Behaviour) (*Prepared, error) {
	if int64(len(body)) > p.limits.MaxBytes {
		return nil, &DocError{Status: 413, Field: "GS1-EPCIS-Capture-File-Size-Limit",
			Msg: fmt.Sprintf("the document is %d bytes, the limit %d", len(body), p.limits.MaxBytes)}
	}
	var doc *epcis.Document
	var captured []epcis.Captured // the bytes each JSON-LD event is kept as, from the document's own
	var err error
	if f == JSON {
		doc, captured, err = p.v.DecodeCapture(body)
		var se *epcis.SchemaError
		if errors.As(err, &se) {
			return nil, schemaError(err)
		}
	} else {
		doc, err = epcis.DecodeXMLStrict(body)
	}
	if err != nil && f == XML {
		// A bare event element is a document of one event. (A bare
		// JSON-LD event fails the document schema above; POST
		// /epcis/events wraps it in a document first, asDocument.)
		if ev, evErr := epcis.DecodeXMLEvent(body); evErr == nil {
			doc, err = &epcis.Document{Events: []epcis.Event{*ev}}, nil
		}
	}
	if err != nil {
		return nil, decodeError(err)
	}
	if len(doc.Events) == 0 {
		return nil, &DocError{Status: 400, Field: "epcisBody", Msg: "no events to capture"}
	}
	if len(doc.Events) > p.limits.MaxEvents {
		return nil, &DocError{Status: 413, Field: "GS1-EPCIS-Capture-Limit",
			Msg: fmt.Sprintf("the document holds %d events, the limit %d", len(doc.Events), p.limits.MaxEvents)}
	}
	out := &Prepared{Total: len(doc.Events)}
	if captured != nil {
		out.EPCISHead = captured[0].Head()
	}
	projected := make([]*pb.ScanEvent, len(doc.Events))
	failed := make([]error, len(doc.Events))
	now := time.Now().UnixMilli()
	doc.EachEvent(func(i int, ev *epcis.Event) {
		var se *pb.ScanEvent
		var err error
		if captured != nil {
			se, err = envelope.ProjectCaptured(captured[i], actor)
		} else {
			se, err = envelope.Project(ev, doc.Namespaces, actor)
		}
		if err == nil {
			err = ingestCheck(se, actor, now)
		}
		if err != nil {
			failed[i] = err
			return
		}
		projected[i] = se
	})
	for i, se := range projected {
		if failed[i] != nil {
			out.Errors = append(out.Errors, eventError(i, &doc.Events[i], actor, failed[i]))
			continue
		}
		out.Events = append(out.Events, se)
		out.Positions = append(out.Positions, i)
	}
	if b == Rollback && len(out.Errors) > 0 {
		out.Events, out.Positions = nil, nil
	}
	return out, nil
}

// ingestCheck checks a projected event as ingest will, so that a prepared
// event is never dead-lettered: the EPCIS check is what the projection
// (envelope.Project or ProjectCaptured) just did; the rules' own outcome
// comes later.
func ingestCheck(se *pb.ScanEvent, actor string, now int64) error {
	var le lifecycle.Event
	return convert.EventChecked(0, &le, nil, se, actor, now, projected)
}

// projected is the EPCIS check of an event envelope.Project made: it
// checked it.
func projected(*pb.ScanEvent, string) error { return nil }

// eventError describes why event i cannot be captured.
func eventError(i int, ev *epcis.Event, actor string, err error) EventError {
	e := EventError{Index: i, EventID: ev.EventID, Msg: err.Error()}
	if e.EventID == "" {
		if h, herr := epcis.Hash(ev); herr == nil {
			e.EventID = h
		}
	}
	var fe *envelope.FieldError
	var ce *convert.FieldError
	switch {
	case errors.As(err, &fe):
		e.Field, e.Msg = fe.Field, fe.Msg
	case errors.As(err, &ce):
		e.Field, e.Msg = strings.TrimPrefix(ce.Field, "capture.events[0]."), ce.Msg
	}
	return e
}

// schemaError is a schema violation as a DocError.
func schemaError(err error) error {
	var se *epcis.SchemaError
	if errors.As(err, &se) {
		status := 400
		if se.Rule == "size" {
			status = 413
		}
		return &DocError{Status: status, Field: se.Pointer, Msg: se.Msg + " (schema: " + se.Rule + ")"}
	}
	return &DocError{Status: 400, Msg: err.Error()}
}

// decodeError is a decoder's refusal as a DocError.
func decodeError(err error) error {
	var fe *epcis.FieldError
	if errors.As(err, &fe) {
		return &DocError{Status: 400, Field: fe.Field, Line: fe.Line, Msg: fe.Msg}
	}
	return &DocError{Status: 400, Msg: err.Error()}
}
