// Package ledgersvc serves the ledger over gRPC (LedgerService): the latest
// signed checkpoint, entries with their exact stored bytes, and RFC 6962
// inclusion and consistency proofs.
//
// Invariants: checkpoints and proofs are public (they are hashes, and anyone
// must be able to check them); an entry's content is shown to regulators and
// admins, and to the party that made it.
package ledgersvc
