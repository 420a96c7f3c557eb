// Package epcisapi is the EPCIS 2.0 REST binding of the node (GS1 EPCIS
// 2.0 section 12, its OpenAPI description): capture of EPCIS documents
// from trading partners onto the ledger, and query.
//
// Handler (http.go) serves /epcis: capture (capture.go, job.go,
// publish.go, receipt.go, viewcache.go) and, behind it, Query for the
// rest. Prepare (prepare.go)
// turns a request body into the scan events the node publishes, one per
// EPCIS event, each carrying the event as captured (ScanEvent.epcis).
//
// # Capture invariants
//
//   - Nothing is published from a document that fails the GS1 JSON schema,
//     the XSD's element order (epcis.DecodeXMLStrict) or the decoder: it
//     is refused whole, with the location of the first problem (a JSON
//     pointer, or an XML line). A bare XML event is read as a document of one
//     event.
//   - Every valid EPCIS event is captured: what the pack rules do not track
//     is recorded without them (ScanEvent.not_applied), never refused.
//   - Every prepared scan event passes the ledger's check of an event
//     (convert.Event, envelope.CheckEPCIS included) for the capturing
//     party, so a capture the API accepts is never dead-lettered. The
//     check of the captured bytes is made once per node: each envelope of
//     prepared events is remembered, once sealed and before it is
//     published, in the node's envelope.CheckedEPCIS, which the ledger's
//     pipeline consults; another node checks in full and decides the same.
//   - A capture's envelopes are sealed on all cores ahead of publishing,
//     and published in document order, each acknowledged by the stream
//     before the next is sent, so that a refused one has none after it.
//   - A document is parsed once (epcis.Validator.Decode), and its events
//     are checked, decoded and projected on every core; the result is that
//     of doing so one event after another, first problem first.
//   - A capture job is stored before its 202 is answered, and a job a
//     stopped node left running is finished at its next start; a retried
//     document records nothing twice (its events' IDs are on the ledger).
//   - A finished job is kept for Config.JobRetention (30 days unless
//     configured; `serve --epcis-job-retention`), then deleted by an hourly
//     sweep; a running job is never deleted. What it captured stays on the
//     ledger, and its receipt stays verifiable.
//   - A job's receipt is read from the ledger entries and proven: a
//     checkpoint covering them and each entry's inclusion proof. A party
//     sees only its own jobs (another's is not found).
//   - With the rollback behaviour (the binding's default) a document with
//     any event that cannot be captured yields no events; with proceed it
//     yields the others, and the errors name each refused event by its
//     position and ID.
//   - Limits are checked before the body is parsed: at most MaxBytes, at
//     most MaxEvents events.
//   - No input panics; the package holds no mutable package-level state.
//
// # Query
//
// The query file group (query*.go, subscribe.go) serves GET /epcis/events,
// /epcis/events/{eventID}, /epcis/epcs/{epc}/events, the vocabulary lists
// and ?stream=true subscriptions (Query, NewQuery):
//
//   - An event comes back as captured (the epcis bytes of its scan event),
//     or as the EPCIS event a native scan event projects to, with the
//     eventID and recordTime (the ledger entry's) the node gave it; its
//     standard vocabulary values are written as bare terms, the JSON
//     schema's form, which decode to the same event.
//   - A caller sees the events it captured and those naming it as owning
//     or possessing party in their sources or destinations; regulators
//     and the admin see all. Pages and streams apply it to every event.
//   - Results are in ledger order. A page examines at most PageWork ledger
//     entries (found through the EPCIS event-ID, pack, container and
//     class indexes when the query names such a key, else walked from the
//     first entry recorded at GE_recordTime on); a page that stops there
//     links the next, even when empty. Page tokens are bound to the query
//     and the caller, and expire.
//   - An unknown parameter or a malformed value is refused (400,
//     application/problem+json) naming the parameter.
//   - A stream sends each matching entry's events once, with the entry's
//     ledger index as SSE id, resumed after Last-Event-ID; it wakes on the
//     pipeline's commits, never on a timer, and ends at Shutdown.
package epcisapi
