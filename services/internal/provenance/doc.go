// Package provenance implements ProvenanceService: the history of a pack
// (with the events of the containers it was inside at the time) with an
// inclusion proof of every entry against one signed checkpoint, batch
// traces, container contents, and alerts with their investigation.
//
// Invariants: every answer is read from the ledger and the indexes the
// ingest pipeline writes in the same batch as the entries; a history's
// proofs are all against the checkpoint it carries, so a client checks the
// whole answer offline. Regulators and admins see everything; any other
// party sees only the entries it made.
package provenance
