// Package gateway serves Pedigree over HTTP: the REST/JSON API (grpc-gateway,
// under /v1/), liveness (/healthz), readiness (/readyz), Prometheus metrics
// (/metrics) and the OpenAPI document (/openapi.json).
//
// Invariants: the REST API is a translation of the gRPC API, not a second
// implementation: every /v1/ request is forwarded to the node's gRPC server,
// so authentication, validation and authorization happen once, there, and
// gRPC status codes become HTTP statuses by grpc-gateway's one table.
package gateway
