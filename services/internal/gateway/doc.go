// Package gateway serves Pedigree over HTTP: the REST/JSON API (grpc-gateway,
// under /v1/), liveness (/healthz), readiness (/readyz: "ready" or "not
// ready", the reason goes to the log) and the OpenAPI document
// (/openapi.json); NewMetrics serves the operator listener (/metrics, and
// /readyz with the reason).
//
// Invariants: the REST API is a translation of the gRPC API, not a second
// implementation: every /v1/ request is forwarded to the node's gRPC server,
// so validation and authorization happen once, there, and gRPC status codes
// become HTTP statuses by grpc-gateway's one table. Before a request's body
// is read, the gateway resolves its bearer token (401 unless the route is
// public), charges the caller's budget (429 with Retry-After) and refuses a
// body over the limit (413); the body is then read through
// http.MaxBytesReader, so no request makes the node read more than the
// limit.
package gateway
