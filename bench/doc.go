// Package bench measures a Pedigree server against the design's figures
// to reach, in one run: what `pedigree bench` prints.
//
// Run starts an embedded node (services/node, the defaults of `pedigree
// serve`) on a temporary directory, or measures a running server given by
// its HTTP, gRPC and NATS addresses and an admin token. Either way it
// drives the server through its public interfaces only: it registers its
// own manufacturer, two pharmacies (each with an Ed25519 key, to publish
// straight to NATS), a product and a batch through RegistryService, then
// runs the phases below, one at a time (Config.Phases may leave some
// out; commissioning always runs). Config.Duration sizes the timed
// phases: each gets a fixed share of it (config.go); commissioning is sized
// by its count. The load generator runs in the same process as an
// embedded server and shares its CPUs; signing, which scanners do on their
// own devices, is done before each phase starts, on every core, and is not
// timed.
//
// The figures, and how each is measured:
//
//   - Commissioning (serials/s): Config.Commission serials (default 1M per
//     2 minutes of duration) through RegistryService.CommissionSerials, in
//     requests of CommissionChunk explicit serials, two in flight. A request
//     returns once the ledger has committed its serials, so the rate is
//     commissioned-and-committed. Target: 1M in at most 10 s.
//
//   - Raw JetStream publish (msgs/s, events/s): the signed dispense
//     envelopes of the next phase, published asynchronously with at most
//     MaxPendingAcks acknowledgements outstanding into a scratch stream
//     configured as SCANS (storage, replicas, duplicate window) that nobody
//     consumes; from the first publish to the last acknowledgement. Once
//     for single-event envelopes, once for captures of CaptureSize events.
//     The scratch stream is deleted afterwards.
//
//   - Ingest (events/s, and its ratio to the raw rate): the same signed
//     single-pack dispense envelopes (each pack commissioned, never
//     dispensed before) published on pedigree.scan.<pharmacy GLN>, each
//     pharmacy on its own NATS connection logged in with its key (as
//     scanners do), until the ledger node has authenticated, validated,
//     deduplicated, applied the rules to and committed every one.
//     Completion is exact: every 1,000th message, and the last of each
//     pharmacy, is a marker whose pedigree.result.<GLN>.<hash> subject is
//     subscribed to before it is published; a connection's messages reach
//     the stream in order, the ledger commits in stream order and
//     publishes an outcome only after the commit, so the last markers'
//     outcomes are the moment the last event was committed. A marker's
//     outcome counts only once it verifies with the node key
//     (envelope.OpenResult: node-signed receipt, inclusion proof, the
//     marker's own bytes); only markers are checked, which keeps the load
//     generator's cost per event unchanged. Markers also bound the backlog
//     (at most 16 outstanding), and each must report every event applied. Then again with captures of CaptureSize events
//     under one signature: the single-event figure is bound by the
//     signature checks (~11 µs per signature, checked in batches, on the
//     reference machine) and JetStream's own cost per message, the capture
//     figure by the rules and the append. Targets (single events):
//     at least 100,000 events/s and at least 0.7 of the raw rate.
//
//   - Verify latency (p50, p99, p99.9): VerificationService.VerifyPack with
//     the raw DataMatrix element string of a random active pack, over
//     loopback gRPC, open loop at Config.VerifyRate requests/s on a fixed
//     schedule, spread over 4 connections and 64 workers. A request's
//     latency runs from the time the schedule said to send it, not from
//     the time a worker sent it, so a stall is charged to every request
//     that queued behind it (no coordinated omission); requests still
//     queued a second after the schedule ends are not sent, and count as
//     unanswered with the time they had waited; requests carry no
//     deadline of their own (a per-request deadline costs a timer on both
//     ends, and the generator shares the server's CPUs), and those still
//     in flight ten seconds after that are cancelled. Meanwhile single-pack
//     dispenses are ingested in the background at Config.VerifyIngestRate
//     (default 1,000 events/s; 0: as fast as the ledger takes them); the
//     rate reached is reported too. The answered rate is per second of
//     the schedule. Target: p99 at most 2 ms at 10,000 requests/s while
//     ingesting. Just before, for a quarter of that time, the same schedule
//     sends the standard gRPC health check instead, on the same
//     connections and with the same background ingest: the floor any RPC
//     has on this machine with this load generator, reported beside the
//     verify figures.
//
//   - Dispense latency (p50, p99): VerificationService.DispensePack, which
//     goes through the stream and returns the ledger's outcome, from four
//     pharmacy terminals one request after another, each for a distinct
//     active pack; every outcome must be "applied". Target: p99 at most
//     25 ms.
//
//   - Inclusion and consistency proofs (p50, p99): LedgerService proofs for
//     random entries of the latest tree, and from a random older size to
//     it, one request at a time over gRPC; then the standard health check,
//     the cost of the gRPC round trip alone. Target: at most 200 µs each
//     (the design states it at 10M entries; the report gives the tree
//     size).
//
//   - Ledger verify (entries/s): embedded server only. After the node is
//     shut down, ledger.Verify on its Pebble directory, opened read-only
//     with ledger.AuditPebbleOptions, as `pedigree ledger verify` does:
//     every leaf, the chain, the tree and every checkpoint. Target: at
//     least 1M entries/s.
//
//   - Disk (bytes/event): embedded server only, after shutdown. Pebble's
//     live bytes (sstables, blob files and live WAL data; not the WAL files
//     Pebble keeps for reuse) plus the JetStream directory (the SCANS
//     stream keeps every envelope), divided by the pack events recorded:
//     one per serial commissioned and one per pack dispensed. Both parts
//     are reported per event too. Target: at most 300 bytes per event.
//
//   - Peak RSS: for the embedded server, VmHWM of the process (server and
//     load generator together), at the end of commissioning (before any
//     signed envelopes are held) and at the end; for a running server, the
//     largest process_resident_memory_bytes its metrics listener's
//     /metrics reported, sampled every second (Target.MetricsAddr).
//
// NATS. Pharmacies publish with their own keys, under the limits the node
// sets every party (natsauth): the embedded server lifts the per-party
// publish rate, as it lifts the API's budgets; a running server must allow
// the pharmacies the ingest rate (--nats-publish-rate). The raw publish
// phase's scratch stream and the SCANS stream's size need the node's own
// NATS key (DATA/keys/nats.key: the embedded server's, or
// Target.NATSAdminKeyFile); without it those figures are not measured.
// Outcomes are believed only when signed by Target.NodeKeys (the embedded
// server's own key).
//
// The report also gives runtime.NumCPU, GOMAXPROCS, the Go version and the
// load average at the start and the end: on a shared machine the figures
// move with it.
//
// RunScale (`pedigree bench --scale`) grows one node's data in steps of
// EPCIS events with a market (scale_flow.go: pallets packed, shipped,
// received and unpacked, orders shipped and received, packs verified and
// dispensed, as signed captures straight to NATS, each tier committed
// before the next is published) and measures every figure at each step
// beside the limit measured in the same step (scale_step.go). Its node is
// `pedigree serve` run as a child process (ScaleConfig.ServeArgv), so that
// it can be killed with SIGKILL and its memory is its own. With
// ScaleConfig.DataDir the run's state (scale_state.go) is saved beside the
// node's data at every point where the node holds whole blocks and whole
// steps, marked pending while it changes them; a run resumes only from a
// state that is not pending, under the settings it began with. RunSoak
// (`--soak`) fills an embedded node and runs a steady mixed load, each call
// on a fixed schedule with latency from the scheduled time, bucket by
// bucket; it reads GC pauses with runtime/metrics, which is the node's only
// because the node runs in the same process. Report draws either as one
// HTML page of inline SVG (report.go): no script, no external asset, every
// name escaped by html/template.
package bench
