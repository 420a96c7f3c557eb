// Package apierr is the one place where Pedigree's errors become gRPC status
// codes (and, through grpc-gateway, HTTP statuses).
//
// Invariants: a message in an *Error is safe to show to the caller and names
// the field and the rule it broke; an error about a field also carries a
// google.rpc.BadRequest field violation (field path, rule) as a status
// detail, which grpc-gateway passes to REST clients in the body of the HTTP
// 400; any error that is not recognised becomes Internal with a generic
// message, and its text is logged, not returned.
package apierr
