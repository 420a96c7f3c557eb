// Package client is the Go client of Pedigree's API over gRPC, used by the
// CLI and the simulator: one connection to a node's gRPC address and the
// generated client of each service (pb.*ServiceClient), the bearer token
// sent on every call. REST (the grpc-gateway under /v1/) is the contract
// for other languages and is tested in services/node.
//
// Invariants: a refused call's error is an *Error carrying the gRPC code,
// the server's message (which names the field at fault) and the
// google.rpc.BadRequest field violations; the bearer token is sent on
// every call and never printed; a Client is closed by whoever made it.
package client
