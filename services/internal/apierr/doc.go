// Package apierr is the one place where Pedigree's errors become gRPC status
// codes (and, through grpc-gateway, HTTP statuses).
//
// Invariants: a message in an *Error is safe to show to the caller and names
// the field and the rule it broke; any error that is not recognised becomes
// Internal with a generic message, and its text is logged, not returned.
package apierr
