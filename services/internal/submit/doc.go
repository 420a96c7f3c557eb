// Package submit puts writes on the stream on behalf of a node: it seals an
// envelope with the node's key, publishes it with its message ID and, when
// asked, waits for the ledger's outcome.
//
// Invariants: the outcome comes from this node's own ledger once it has
// applied the stream sequence JetStream acknowledged, never from a message
// on NATS; a write the stream already had (a retry) is answered with the
// entry that first recorded it; Submit never reports an outcome that the
// ledger did not commit.
package submit
