// Package telemetry gives the node its metrics registry and the request
// logging and timing of its gRPC and HTTP servers.
//
// Invariants: every node has its own Prometheus registry (no global
// collectors); request logs carry method, status and latency, never request
// or response payloads, tokens or keys.
package telemetry
