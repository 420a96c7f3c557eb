// Package epcis reads and writes GS1 EPCIS documents, JSON-LD (EPCIS 2.0)
// and XML (EPCIS 2.0 and 1.x), through one typed model (Document, Event),
// and computes the CBV 2.0 event hash
// (ni:///sha-256;<hex>?ver=CBV2.0, GS1 CBV 2.0 section 8.9).
//
// # Decoding JSON-LD
//
// Decode reads a capture document (epcisBody.eventList or epcisBody.event)
// or a query document (epcisBody.queryResults.resultsBody.eventList);
// DecodeEvent reads one event object. The @context is read for its
// namespace prefixes only; remote contexts are never fetched, a string
// context being taken for the standard EPCIS context. Decoding expands what
// JSON-LD would expand: bare CBV and GS1 terms ("shipping", "in_transit",
// "po", "Temperature") and CURIEs in identifier and vocabulary members
// become full IRIs, and extension member names become Names carrying the
// namespace IRI. Identifiers are kept as written (URN or Digital Link).
// Timestamps and numbers keep their lexical form.
//
// The decoder refuses what the EPCIS 2.0 JSON schema refuses and the hash
// depends on: an unknown event type, a missing or malformed eventTime or
// eventTimeZoneOffset, a missing or unknown action, an ObjectEvent without
// epcList or quantityList, a bare vocabulary word that is not a standard
// term, a quantity or sensor value that is not a JSON number, an extension
// key without a declared namespace prefix. Errors are *FieldError values
// naming the member, e.g. "epcis: eventTime: not RFC 3339".
//
// # Decoding XML
//
// DecodeXML reads an epcis:EPCISDocument or epcisq:EPCISQueryDocument in
// the EPCIS 2.0 (urn:epcglobal:epcis:xsd:2) or 1.x
// (urn:epcglobal:epcis:xsd:1) XML binding, with or without a
// StandardBusinessDocumentHeader, into the same model, so that an event
// hashes the same whichever binding carried it; DecodeXMLEvent reads one
// event element. The 1.x wrappers (extension, baseExtension) are read as if
// their content stood in their place. Extension elements become Fields in
// their XML namespace, their attributes Fields flagged Attr. Values are
// URIs: only the gs1: and cbv: prefixes of the 2.0 binding are expanded
// (gs1:Temperature), as the reference implementation does. The reader is
// bounded and hostile-input safe: encoding/xml tokens, no DTD (hence no
// entity), at most MaxXMLSize bytes and MaxXMLDepth levels. It refuses what
// the XSD refuses where the model can tell (unknown event type or element,
// missing eventTime, bad action, repeated member, non-decimal quantity, …)
// with a *FieldError naming the element path and its line, e.g.
// "epcis: line 17: EPCISDocument.EPCISBody.EventList.ObjectEvent[2].action:
// missing".
//
// # Validating
//
// NewValidator compiles the GS1 EPCIS 2.0 JSON schema (schema/, embedded,
// GS1 licence in schema/LICENSE) once; Validator.Validate checks a JSON
// document of at most MaxJSONSize bytes against it and returns a
// *SchemaError naming the JSON pointer of the offending value and the
// schema keyword it breaks. ValidateJSON does the same with a fresh
// Validator. "format" is read as an annotation, as the reference validator
// does; the one ECMA-262 construct beyond RE2 the schema uses (a leading
// negative lookahead) is translated. The schema and Decode disagree on a
// few documents on purpose (see acceptedDespiteSchema and
// refusedDespiteSchema in the tests): a capture handler runs both, and
// Validator.Decode does both from one parse. The events of a long capture
// document are checked one by one on all cores, each against the schema of
// an eventList item of its type, which is the whole schema's verdict (the
// schema puts no constraint on the list but its items); Decode decodes
// them on all cores too, and both report the first problem in document
// order, as a loop would. The JSON is read in one pass (jsontext), a
// repeated name's last value counting as in encoding/json; invalid UTF-8
// is refused. For a capture document (Validator.Decode and DecodeCapture)
// that pass only finds where each event of the eventList ends; the events
// are then read into trees on all cores, giving the tree one pass would
// (TestUnmarshalCaptureReadsAsUnmarshal, FuzzCaptured).
// Validator.DecodeCapture also gives each event of a capture document as
// a one-event document made of the document's own bytes (Captured), what
// a ledger keeps for the event: a head the document's events share, the
// event, and CaptureTail.
//
// # Encoding
//
// EncodeJSONLD writes a Document as an EPCIS 2.0 JSON-LD capture or query
// document (standard context plus the extension namespaces, with the
// document's own prefixes where it declared them); EncodeXML writes EPCIS
// 2.0 XML, standard members in the XSD order of each event type. Decoding
// what they write gives back equal events: the same model, hence the same
// hash.
//
// # Hashing
//
// PreHash and Hash follow the reference implementation
// (github.com/RalphTro/epcis-event-hash-generator) as pinned by its test
// vectors, which the tests replay: field order, sorting, value
// canonicalisation and the members left out are documented on PreHash.
// Numbers are written as the reference writes them, through an IEEE 754
// double (see hashNumber): every expected hash of its vectors is
// reproduced, so an event ID computed here equals the one another
// repository computes. Where the vectors are silent the package keeps to
// the CBV rules: a JSON null is an absent member, booleans are
// "true"/"false".
//
// # Invariants
//
//   - Hash is a pure function of the Event: no clock, no network, no
//     package state; equal events give equal hashes on every machine.
//   - The pre-hash depends only on the event's content, never on JSON
//     member order, array order of unordered lists, namespace prefix names,
//     time zone of the timestamps, or URN-versus-Digital-Link spelling of a
//     GS1 identifier.
//   - eventID, recordTime and errorDeclaration never change the hash, so a
//     node can compute the ID of an event that carries none, and an event
//     keeps its hash when an ID or an error declaration is added.
//   - No input makes Decode, DecodeEvent, DecodeXML, DecodeXMLEvent,
//     EncodeJSONLD, EncodeXML, PreHash or Hash panic; malformed input
//     yields an error. EncodeJSONLDCompact is EncodeJSONLD without
//     whitespace, byte for byte what json.Compact makes of it.
//   - Decode(EncodeJSONLD(d)) and DecodeXML(EncodeXML(d)) give back the
//     events of a decoded document d, model and hash.
//   - Decode of a Captured's Bytes gives back its Event exactly.
//   - The package holds no mutable package-level state and is safe for
//     concurrent use.
package epcis
