// Package natsbus runs or connects to the NATS server that carries
// Pedigree's writes, and declares the JetStream streams the node relies on.
//
// Invariants:
//   - The SCANS stream (subjects pedigree.scan.>) is the source of truth for
//     the order of writes. It denies deletes and purges, discards new
//     messages (never old ones) when a limit is reached, and keeps a
//     duplicate window so that a publisher's retry with the same
//     Nats-Msg-Id is stored once.
//   - The DEADLETTER stream (pedigree.deadletter) keeps every message the
//     ledger node could not decode or authenticate, with the reason.
//   - An embedded server stores JetStream data under its own directory and,
//     unless told otherwise, listens for clients on loopback only. It takes
//     no anonymous client: every connection, in-process ones included, is
//     decided by the authenticator it is given (package natsauth).
package natsbus
