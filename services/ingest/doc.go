// Package ingest is the ledger node's write path: it consumes the SCANS
// stream in batches and turns every message into a ledger entry and state
// changes.
//
// For each consumed batch: decode → authenticate → validate → deduplicate →
// apply the rules (package lifecycle) → stage every ledger entry and every
// state change into ONE Pebble batch → commit it with Sync → acknowledge the
// messages → publish alerts (pedigree.alert.<CODE>) and outcomes
// (pedigree.result.<id>).
//
// Durability and exactly-once contract:
//   - A message MUST NOT be acknowledged before the Pebble batch that records
//     it (its ledger entry, its state changes and the stream sequence it
//     reached) is committed with Sync, or, for a message that cannot be
//     decoded, authenticated or validated, before the dead-letter stream has
//     acknowledged storing it with its reason.
//   - The last applied stream sequence commits in the same batch as the
//     entries. A message redelivered after a crash (committed, not
//     acknowledged) has a sequence at or below it and is skipped: nothing is
//     appended twice. Independently, an event ID already on the ledger is
//     recorded as a duplicate and changes nothing.
//   - The outcome of a message depends only on the messages before it in the
//     stream and on its own content and stream record time: never on the
//     node's clock, map iteration order or batch boundaries. Two nodes that
//     consume the same stream reach the same ledger, byte for byte.
package ingest
