// Package verification implements VerificationService: "is this pack
// genuine, may I hand it out?" (read-only) and the synchronous writes that
// take packs out of the supply chain (dispense, decommission, undo).
//
// Invariants: VerifyPack changes no state; when its answer carries alerts it
// also puts an inspecting event on the stream so that the ledger records
// them, as EU rules require. Dispense, decommission and undo publish an
// event from the caller and return the ledger's outcome within the request.
package verification
