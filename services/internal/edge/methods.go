package edge

import (
	"strings"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// Class is the budget a method draws from.
type Class int

// Classes of methods.
const (
	// Write: everything not listed as a read or exempt, so that a method
	// added later gets the stricter budget until someone decides.
	Write Class = iota
	// Read: lookups, verification, history, trace, the alert feed, the
	// ledger's entries and proofs, reflection.
	Read
	// Exempt: health checks, which load balancers must never be refused.
	Exempt
)

func (c Class) String() string {
	switch c {
	case Read:
		return "read"
	case Exempt:
		return "exempt"
	default:
		return "write"
	}
}

var readMethods = map[string]bool{
	pb.RegistryService_GetParty_FullMethodName:          true,
	pb.RegistryService_ListParties_FullMethodName:       true,
	pb.RegistryService_GetProduct_FullMethodName:        true,
	pb.RegistryService_ListProducts_FullMethodName:      true,
	pb.RegistryService_GetBatch_FullMethodName:          true,
	pb.VerificationService_VerifyPack_FullMethodName:    true,
	pb.ProvenanceService_GetPack_FullMethodName:         true,
	pb.ProvenanceService_GetPackHistory_FullMethodName:  true,
	pb.ProvenanceService_TraceBatch_FullMethodName:      true,
	pb.ProvenanceService_GetContainer_FullMethodName:    true,
	pb.ProvenanceService_ListAlerts_FullMethodName:      true,
	pb.ProvenanceService_GetAlert_FullMethodName:        true,
	pb.ProvenanceService_WatchAlerts_FullMethodName:     true,
	pb.LedgerService_GetCheckpoint_FullMethodName:       true,
	pb.LedgerService_GetEntry_FullMethodName:            true,
	pb.LedgerService_GetInclusionProof_FullMethodName:   true,
	pb.LedgerService_GetConsistencyProof_FullMethodName: true,
}

var bulkMethods = map[string]bool{
	pb.RegistryService_CommissionSerials_FullMethodName:       true,
	pb.RegistryService_StreamCommissionSerials_FullMethodName: true,
}

// ClassOf returns the budget of a full gRPC method name.
func ClassOf(method string) Class {
	switch {
	case readMethods[method], strings.HasPrefix(method, "/grpc.reflection."):
		return Read
	case strings.HasPrefix(method, "/grpc.health.v1.Health/"):
		return Exempt
	}
	return Write
}

// IsBulk reports whether a method commissions serials in bulk: its calls
// in flight are capped per party, and its REST body may be up to
// MaxBulkBody.
func IsBulk(method string) bool { return bulkMethods[method] }
