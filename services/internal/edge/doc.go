// Package edge guards the node's request edge: what every caller meets
// before a request reaches a service.
//
//   - Config: the bounds of the edge (body and message sizes, HTTP and
//     gRPC timeouts, keepalive, TLS files, rate limits), with defaults
//     for a national node; `pedigree serve` sets them from its flags.
//   - Limits: a token bucket per authenticated party, with separate
//     budgets for reads (verify, lookups, proofs) and writes; a budget per
//     client address for callers of public methods without a token; a cap
//     on each party's bulk commissions in flight. Over a limit a call
//     gets codes.ResourceExhausted with a retry-after header (HTTP 429
//     with Retry-After through the gateway).
//   - AuthTap: refuses a gRPC call that needs a token and has none that
//     is valid before its message is read.
//   - ServerTLS: the node's certificate, and with a client CA, mutual TLS.
//
// Invariants: the maps of budgets are bounded (the least recently used is
// evicted), so callers cannot grow the node's memory; limits count
// requests, never inspect payloads, and log nothing.
package edge
