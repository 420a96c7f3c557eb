// Package state is the node's view of the world in Pebble: parties and their
// credentials, products, batches, packs, containers and alerts. It shares
// one Pebble database with the ledger, so that a consumed batch of writes
// commits ledger entries and state changes atomically.
//
// Invariants:
//   - State is a deterministic function of the ledger: every change is made
//     by the ingest pipeline in the same Pebble batch as the ledger entry
//     that causes it. There is no exception: the node's bootstrap of its
//     admin party goes through the stream too, as the genesis envelope on a
//     new ledger and as a token change otherwise (services/node/bootstrap.go).
//   - Every key starts with one table prefix byte (keys.go); prefixes below
//     0x10 belong to the ledger package.
//   - API tokens are stored only as SHA-256 hashes.
//   - Parties, products, batches and tokens are read through an exact
//     in-memory cache (cache.go). Whoever commits writes to those tables
//     calls Store.InvalidateCache after the commit and before the commit
//     is made known; the ingest pipeline does, and so does Store.Apply.
package state
