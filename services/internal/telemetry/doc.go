// Package telemetry gives the node its metrics registry and the request
// logging and timing of its gRPC and HTTP servers.
//
// It also recovers panics in requests (RecoverUnary, RecoverStream,
// RecoverHTTP: the outermost interceptors and middleware), which become
// codes.Internal or HTTP 500 with a generic message, a log line with the
// stack, and pedigree_panics_recovered_total.
//
// Invariants: every node has its own Prometheus registry (no global
// collectors); request logs carry method, status and latency, never request
// or response payloads, tokens or keys; requests refused for a rate limit
// are logged at debug level only, so that a flood does not flood the log.
package telemetry
