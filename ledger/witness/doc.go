// Package witness implements C2SP tlog-witness (c2sp.org/tlog-witness) for
// Pedigree ledgers: a witness that cosigns checkpoints of the logs it
// follows, the HTTP client a log uses to ask for cosignatures, the
// collector a node runs to gather them under a k-of-n policy, the replica
// through which the nodes of a cluster cosign each other's checkpoints,
// and the check a regulator runs on a checkpoint that carries several
// signatures.
//
// Cosignatures are C2SP tlog-cosignature (c2sp.org/tlog-cosignature)
// cosignature/v1 Ed25519 signatures with a timestamp, made and checked by
// github.com/transparency-dev/formats/note; signed notes are
// golang.org/x/mod/sumdb/note; consistency proofs are checked with
// golang.org/x/mod/sumdb/tlog; the k-of-n policy is
// github.com/transparency-dev/formats/witness.
//
// # Invariants of the witness
//
//   - It keeps, per log origin, the last checkpoint it cosigned, in its own
//     Pebble DB; the check of a request against it and its replacement are
//     one critical section, and the new checkpoint is committed with
//     pebble.Sync before the cosignature leaves the witness.
//   - It cosigns a checkpoint only if a key it trusts for the origin signed
//     it, and only if it is the tree it last cosigned (same size, same
//     root) or a larger tree whose consistency proof from that one checks.
//     So it never cosigns two different trees of the same size, nor a tree
//     smaller than one it cosigned.
//   - Its answers follow the protocol's status codes: 400 for a malformed
//     request or an old size above the checkpoint's, 403 when no trusted
//     key signed the checkpoint, 404 for an unknown origin, 409 (with the
//     size it holds, text/x.tlog.size) when the old size is not the size it
//     cosigned or the same size has another root, 422 when the consistency
//     proof fails.
//
// # Invariants of a replica
//
//   - It cosigns a checkpoint only if its origin is its log's, its note
//     text is exactly the origin, size and root lines, and its own tree of
//     that size has that root; it needs no log signature nor consistency
//     proof for that, and checks neither.
//   - A checkpoint larger than its tree is answered 409 with its own size
//     (after waiting a bounded time for the tree to grow); one of its size
//     with another root is answered 409 with that size, logged as a fork
//     alarm and counted.
//   - A node cosigns with its node key as a cosignature/v1 key, whose
//     signed message starts with "cosignature/v1\n" and so is no protobuf
//     envelope nor notice that key signs.
//
// # Invariants of the collector
//
//   - Cosigning rounds run one at a time, in increasing checkpoint size;
//     each witness is asked concurrently, with the consistency proof from
//     the size it last cosigned (learnt from a 409 when unknown).
//   - A witness's failure never stops the ledger: it is logged and counted,
//     and the served checkpoint keeps the last one that met the policy.
//   - Peers (replicas of the same log) are asked in every round beside the
//     witnesses, without old size nor proof, outside the policy; a peer is
//     asked only once its key, learnt from the peer, passes the node's
//     Admit check. A round that missed a witness or a peer is run again
//     after the retry interval unless a newer checkpoint comes; a round
//     for the same checkpoint keeps the cosignatures of the one before.
//   - The served note is the node's signed checkpoint with every valid
//     cosignature it got appended (a C2SP signed note with several
//     signatures); signatures by keys the policy does not name are dropped.
package witness
