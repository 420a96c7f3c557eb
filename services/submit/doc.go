// Package submit puts writes on the stream on behalf of a node: it seals an
// envelope with the node's key, publishes it with its message ID and, when
// asked, waits for the ledger's outcome.
//
// Invariants: the result subscription is made before the publish, so an
// outcome is never missed; a write the stream already had (a retry) is
// answered from the ledger instead; Submit never reports an outcome that
// the ledger did not commit.
package submit
