// Package node wires one Pedigree node together: Pebble (state and ledger),
// NATS JetStream (embedded or external), the gRPC services and the HTTP
// front, and runs them until its context ends.
//
// Invariants:
//   - Start returns only when every component is up, or cleans up what it
//     started and returns the error.
//   - Shutdown happens in reverse order of dependency: stop taking requests
//     (HTTP, then gRPC), drain NATS, then flush and close Pebble, so that
//     nothing acknowledged is lost.
//   - The first start on an empty data directory creates the admin party and
//     writes its token to DATA/admin.token (mode 0600); later starts reuse it.
//   - With peers (Config.Peers), a node cosigns a checkpoint of its ledger
//     only when its own tree of that size has that root, and refuses any
//     other as a fork alarm (cosign.go); its served checkpoint carries its
//     own cosignature and those of the peers that agree.
//   - A cluster member's node reaches NATS through its member's client port
//     and fails over to the other members (cluster.go), so its ledger goes
//     on when its member stops.
//   - Ready is false until the node has applied what the stream held when
//     it started (readiness.go), and while its ledger is too far behind a
//     stream whose retention dropped messages it needs; such a node applies
//     nothing until it is restored from a backup.
//   - The stream drops a message only with retention after-backup, and only
//     once every node the ledger trusts reported having applied it and a
//     verified backup of this ledger holds it (retention.go).
package node
