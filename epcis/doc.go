// Package epcis decodes GS1 EPCIS 2.0 JSON-LD documents and events into a
// typed model and computes the CBV 2.0 event hash
// (ni:///sha-256;<hex>?ver=CBV2.0, GS1 CBV 2.0 section 8.9).
//
// # Decoding
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
// # Hashing
//
// PreHash and Hash follow the reference implementation
// (github.com/RalphTro/epcis-event-hash-generator) as pinned by its test
// vectors, which the tests replay: field order, sorting, value
// canonicalisation and the members left out are documented on PreHash.
// Where the vectors are silent the package keeps to the CBV rules: numbers
// are written as exact plain decimals (no exponent, no float rounding), a
// JSON null is an absent member, booleans are "true"/"false".
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
//   - No input makes Decode, DecodeEvent, PreHash or Hash panic; malformed
//     input yields an error.
//   - The package holds no mutable package-level state and is safe for
//     concurrent use.
package epcis
