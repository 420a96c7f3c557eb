// Package pedigreev1 is the generated Go code of the Pedigree API
// (proto/pedigree/v1): messages, gRPC clients and servers, and grpc-gateway
// handlers. Do not edit the generated files; change the .proto files and run
// `go generate ./proto/...` from the repository root.
//
// Invariants: the API is versioned by package; a field number, once
// released, is never reused; ledger entries are LedgerEntry encoded as
// docs/ledger-format.md specifies (package ledger/entry), so changing a
// message a LedgerEntry holds is a ledger format change.
package pedigreev1

//go:generate sh -c "cd ../../.. && go tool buf lint && go tool buf generate"
