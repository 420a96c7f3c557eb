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
// The files, by job:
//   - consume: pipeline.go (Config, New, Run, the applied sequence),
//     consume.go (the durable consumer reset at the ledger's position, the
//     batching loop; why not an ordered consumer), consume_check.go (the
//     stream against the ledger before consuming), consume_watch.go (the
//     watchdog that makes a consumer delivering nothing anew while the
//     stream is ahead), recover.go (republishing what a stream lost).
//   - prepare (decode, authenticate, convert; on all cores): prepare.go,
//     prepare_authn.go. Field checks and the protobuf ⇄ domain conversion
//     are package services/internal/convert.
//   - apply (the rules over the batch's overlay, sequentially): apply.go
//     (scan events, deduplication, indexes), apply_masterdata.go (master
//     data: convert's field checks, then lifecycle's master-data rules),
//     apply_overlay.go and apply_creds.go (the batch-local view of writes not
//     yet committed, over the Store and its one exact cache),
//     apply_eventids.go and apply_idfilter.go (event IDs).
//   - commit: commit.go (the Pebble batch with the ledger entries, commit
//     with Sync, cache invalidation, ack), commit_notices.go (results,
//     alerts, refusals, dead letters).
//   - panics.go, metrics.go, validate.go (the writer's pre-check).
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
//     appended twice. Independently, an event ID its party already used
//     for the same event is recorded as a duplicate and changes nothing;
//     used for another event, it is refused (apply_eventids.go). Event IDs are
//     deduplicated per party: two parties' IDs never meet.
//   - Before it consumes, every time, the node compares the stream with what
//     the ledger committed (consume_check.go) and refuses a stream that ends
//     before the applied sequence (ErrStreamBehind: JetStream lost
//     acknowledged messages it had not synced) or that holds other messages
//     at applied sequences (ErrStreamDiverged). Recover republishes from
//     the ledger what a stream lost (pedigree recover).
//   - The outcome of a message depends only on the messages before it in the
//     stream and on its own content and stream record time: never on the
//     node's clock, map iteration order or batch boundaries. Two nodes that
//     consume the same stream reach the same ledger, byte for byte.
//   - The genesis, the ledger's first entry, must be signed by the key the
//     node is configured to trust (Config.GenesisKey). Another key's
//     genesis is a dead letter naming both keys, and the pipeline stops
//     after committing it (ErrUntrustedGenesis): a node never replays, nor
//     silently starts beside, a ledger whose origin it was not told.
//
// Pipelining (commit.go). While batch N commits, batch N+1 is built:
// decoded, its signatures checked and its events converted on all cores
// (prepare.go), then put through the rules over the state as N leaves it
// (N's writes are read from N's overlay until N is durable). At most one
// batch is in flight, and the ledger's single-writer contract holds: N+1
// is staged into the ledger only after N's commit returned and N's Pending
// was committed, and it is acknowledged and its outcomes published only
// after its own commit with Sync returned. If N's commit fails, N+1 is
// dropped without being staged, nothing of either is acknowledged, and
// Run returns the error.
//
// Deduplication reads the event table only for event IDs an in-memory
// Bloom filter of that table cannot rule out (apply_idfilter.go); the filter
// changes no outcome, only the cost of reaching it.
//
// Panics (panics.go): a panic while handling one message makes it a dead
// letter ("internal error: ...") and its batch is built again without
// what it half did; a panic in the storage engine, or one that no message
// can be blamed for, stops Run with an error. No message is skipped.
package ingest
