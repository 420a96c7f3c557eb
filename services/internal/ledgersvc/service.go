package ledgersvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pedigree-project/pedigree/ledger"
	ledgerentry "github.com/pedigree-project/pedigree/ledger/entry"
	"github.com/pedigree-project/pedigree/ledger/witness"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
	"github.com/pedigree-project/pedigree/services/internal/auth"
)

// Service implements pb.LedgerServiceServer.
type Service struct {
	pb.UnimplementedLedgerServiceServer
	log    *ledger.Log
	logger *slog.Logger
	// Checkpoints, when set, gives the checkpoint to serve: the latest
	// that met the witness policy, with its cosignatures. Unset: the
	// ledger's latest.
	Checkpoints *witness.Collector
}

var _ pb.LedgerServiceServer = (*Service)(nil)

// New returns the service over log.
func New(log *ledger.Log, logger *slog.Logger) (*Service, error) {
	if log == nil || logger == nil {
		return nil, errors.New("ledgersvc: log and logger are required")
	}
	return &Service{log: log, logger: logger}, nil
}

// served returns the checkpoint to serve.
func (s *Service) served() (ledger.Checkpoint, error) {
	if s.Checkpoints != nil {
		return s.Checkpoints.Served()
	}
	return s.log.Latest()
}

// GetCheckpoint returns the latest signed checkpoint; with witnesses, the
// latest that met their policy, carrying their cosignatures.
func (s *Service) GetCheckpoint(ctx context.Context, _ *pb.GetCheckpointRequest) (*pb.GetCheckpointResponse, error) {
	cp, err := s.served()
	if err != nil {
		return nil, apierr.Status(ctx, s.logger, err)
	}
	return &pb.GetCheckpointResponse{Note: string(cp.Note), Size: cp.Size, RootHash: cp.Root[:], VerifierKey: cp.VerifierKey}, nil
}

// GetEntry returns one entry with its exact stored bytes.
func (s *Service) GetEntry(ctx context.Context, req *pb.GetEntryRequest) (*pb.GetEntryResponse, error) {
	if size := s.log.Size(); req.GetIndex() >= size {
		return nil, apierr.Status(ctx, s.logger, apierr.NotFound("index: entry %d does not exist (the ledger has %d entries)", req.GetIndex(), size))
	}
	e, err := s.log.Entry(ctx, req.GetIndex())
	if err != nil {
		return nil, apierr.Status(ctx, s.logger, err)
	}
	entry, err := ledgerentry.Decode(e.Data)
	if err != nil {
		return nil, apierr.Status(ctx, s.logger, fmt.Errorf("ledger entry %d: %w", e.Index, err))
	}
	if err := mayRead(ctx, entry); err != nil {
		return nil, apierr.Status(ctx, s.logger, err)
	}
	return &pb.GetEntryResponse{Index: e.Index, Data: e.Data, ChainHash: e.Chain[:], Entry: entry}, nil
}

// mayRead allows regulators and admins, and the party that made the entry.
func mayRead(ctx context.Context, entry *pb.LedgerEntry) error {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return apierr.Denied("ledger entries are shown to regulators and to the party that made them")
	}
	if lifecycle.SeesAll(lifecycle.Role(p.Party.GetRole())) || entry.GetPartyGln() == p.Party.GetGln() {
		return nil
	}
	return apierr.Denied("entry %d was made by another party", entry.GetIndex())
}

// GetInclusionProof returns the audit path of an entry.
func (s *Service) GetInclusionProof(ctx context.Context, req *pb.GetInclusionProofRequest) (*pb.GetInclusionProofResponse, error) {
	size := req.GetTreeSize()
	if size == 0 {
		cp, err := s.served()
		if err != nil {
			return nil, apierr.Status(ctx, s.logger, err)
		}
		size = cp.Size
	}
	if req.GetIndex() >= size {
		return nil, apierr.Status(ctx, s.logger, apierr.Invalid("index", "must be below treeSize %d, got %d", size, req.GetIndex()))
	}
	if cur := s.log.Size(); size > cur {
		return nil, apierr.Status(ctx, s.logger, apierr.Invalid("treeSize", "must be at most the ledger size %d, got %d", cur, size))
	}
	proof, err := s.log.InclusionProof(ctx, req.GetIndex(), size)
	if err != nil {
		return nil, apierr.Status(ctx, s.logger, err)
	}
	e, err := s.log.Entry(ctx, req.GetIndex())
	if err != nil {
		return nil, apierr.Status(ctx, s.logger, err)
	}
	leaf := e.LeafHash()
	resp := &pb.GetInclusionProofResponse{TreeSize: size, LeafHash: leaf[:], Hashes: make([][]byte, len(proof))}
	for i := range proof {
		resp.Hashes[i] = proof[i][:]
	}
	return resp, nil
}

// GetConsistencyProof returns the proof that the tree of size from is a
// prefix of the tree of size to.
func (s *Service) GetConsistencyProof(ctx context.Context, req *pb.GetConsistencyProofRequest) (*pb.GetConsistencyProofResponse, error) {
	from, to := req.GetFrom(), req.GetTo()
	if from == 0 {
		return nil, apierr.Status(ctx, s.logger, apierr.Invalid("from", "must be at least 1"))
	}
	if to < from {
		return nil, apierr.Status(ctx, s.logger, apierr.Invalid("to", "must be at least from (%d), got %d", from, to))
	}
	if cur := s.log.Size(); to > cur {
		return nil, apierr.Status(ctx, s.logger, apierr.Invalid("to", "must be at most the ledger size %d, got %d", cur, to))
	}
	proof, err := s.log.ConsistencyProof(ctx, from, to)
	if err != nil {
		return nil, apierr.Status(ctx, s.logger, err)
	}
	resp := &pb.GetConsistencyProofResponse{Hashes: make([][]byte, len(proof))}
	for i := range proof {
		resp.Hashes[i] = proof[i][:]
	}
	return resp, nil
}
