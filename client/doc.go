// Package client is a Go client of Pedigree's REST API (the grpc-gateway
// under /v1/), used by the CLI, the simulator and the benchmark. Requests and
// responses are the API's protobuf messages in their canonical JSON form.
//
// Invariants: a non-2xx answer becomes an *Error carrying the HTTP status,
// the gRPC code and the server's message (which names the field at fault);
// the bearer token is sent on every request and never printed.
package client
