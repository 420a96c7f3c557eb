// Package epcisapi is the EPCIS 2.0 REST binding of the node (GS1 EPCIS
// 2.0 section 12, its OpenAPI description): capture of EPCIS documents
// from trading partners onto the ledger, and query.
//
// This file group so far holds the capture's preparation (prepare.go):
// from a request body to the scan events the node publishes, one per EPCIS
// event, each carrying the event as captured (ScanEvent.epcis).
//
// # Invariants
//
//   - Nothing is published from a document that fails the GS1 JSON schema,
//     the XSD's element order (epcis.DecodeXMLStrict) or the decoder: it
//     is refused whole, with the location of the first problem (a JSON
//     pointer, or an XML line). A bare event is read as a document of one
//     event.
//   - Every valid EPCIS event is captured: what the pack rules do not track
//     is recorded without them (ScanEvent.not_applied), never refused.
//   - Every prepared scan event passes envelope.CheckEPCIS for the
//     capturing party, the check ingest applies, so a capture the API
//     accepts is never dead-lettered for its projection.
//   - With the rollback behaviour (the binding's default) a document with
//     any event that cannot be captured yields no events; with proceed it
//     yields the others, and the errors name each refused event by its
//     position and ID.
//   - Limits are checked before the body is parsed: at most MaxBytes, at
//     most MaxEvents events.
//   - No input panics; the package holds no mutable package-level state.
package epcisapi
