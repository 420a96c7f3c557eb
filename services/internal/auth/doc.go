// Package auth authenticates API callers by bearer token and carries the
// caller's identity in the request context.
//
// Invariants:
//   - Tokens are 256-bit random values; only their SHA-256 hashes are
//     stored, and a token is shown once, when it is issued.
//   - Every gRPC method requires a valid token except the ones listed as
//     public (health, reflection, and the ledger's checkpoint and proofs,
//     which anyone may verify). A missing or unknown token is
//     Unauthenticated (HTTP 401); authorization (403) is the services' job.
//   - A token may carry an expiry: from that instant on (by the
//     Authenticator's clock, at every request, cached principals
//     included) it is Unauthenticated with a message saying it expired.
//   - Tokens and keys are never logged.
package auth
