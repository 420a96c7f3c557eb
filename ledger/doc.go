// Package ledger is a verifiable append-only log kept in a Pebble DB: a
// tamper-evident record of opaque entries with RFC 6962 Merkle proofs and
// signed checkpoints. It knows nothing about what the entries mean.
//
// It follows the design of Certificate Transparency (RFC 6962) and of the
// Go checksum database: the tree and proof code is
// golang.org/x/mod/sumdb/tlog, the tree is stored as tlog tiles, and
// checkpoints are C2SP tlog-checkpoints signed as golang.org/x/mod/sumdb/note
// signed notes, so any RFC 6962 verifier can check what it serves.
//
// # Hashes
//
// The leaf hash of an entry is SHA-256(0x00 ‖ entry). Each entry is stored
// with its chain hash chain_i = SHA-256(chain_{i-1} ‖ leaf_i), where
// chain_{-1} is 32 zero bytes, so a reader walking the log sees a break at
// the first altered entry. The Merkle tree over the leaf hashes is the
// RFC 6962 tree; proofs read O(log n) tiles. The on-disk format is
// described in one place, keys.go.
//
// # Invariants
//
//   - Entries are numbered 0, 1, 2, … without gaps; an entry, once
//     committed, never changes.
//   - For a committed size s, entries [0, s), their chain hashes, the tiles
//     of the tree of size s and the size s itself are committed in the same
//     Pebble batch, so a crash never separates them.
//   - A checkpoint is only issued for a size that is committed, and sizes of
//     successive checkpoints never decrease.
//   - The ledger writes only keys whose first byte is in
//     [PrefixFirst, PrefixLast] (0x01–0x0F). Other packages sharing the
//     DB use 0x10 and above.
//
// # Durability contract
//
// A Log has exactly one writer; reads are safe concurrently with it and see
// only committed entries. The writer either calls Append, which commits its
// own batch with pebble.Sync, or shares a batch with its own state:
//
//	b := db.NewBatch()
//	// … the caller's own keys (prefix ≥ 0x10) …
//	p, err := log.Stage(b, entries)
//	if err != nil { /* discard b */ }
//	if err := b.Commit(pebble.Sync); err != nil { log.Abort(p); … }
//	if err := log.Commit(p); err != nil { … }
//	// now, and only now, the entries are durable at p.First() …
//
// In the words of that contract:
//
//   - A caller MUST NOT report an index as durable before the batch holding
//     it was committed with pebble.Sync and the commit returned nil.
//   - A caller MUST call Commit after a successful commit, before staging
//     again; it MUST NOT call Commit if the commit failed.
//   - A caller MUST NOT commit a batch after Stage returned an error for it,
//     and MUST NOT commit an older staged batch after staging a newer one.
//   - If a batch is not committed, the caller MAY call Abort or simply drop
//     the Pending: the log stays at its old size.
//   - A crash after the commit and before Commit loses nothing and doubles
//     nothing: Open (and the next Stage) recover the size from the DB.
//
// # Checkpoints
//
// Checkpoint signs and stores a checkpoint of the committed size;
// RunCheckpointer issues one at least once per interval while entries
// arrive and hands each to a publish function (publishing, e.g. on NATS,
// is the caller's job). Every checkpoint is kept, numbered by a sequence.
// Witnesses cosign them (C2SP tlog-witness): see the sub-package
// ledger/witness, which the ledger does not import.
//
// # Audit
//
// Verify re-derives everything from the stored entry bytes in one pass on a
// stopped node's DB and names the first bad entry, tile or checkpoint;
// VerifyEntries also hands each entry to a caller's check.
//
// # Entries
//
// The ledger stores entries as opaque bytes. What a Pedigree node stores
// in them is specified in docs/ledger-format.md and implemented by the
// sub-package ledger/entry, which the ledger does not import.
package ledger
