package registry

import (
	"context"
	"crypto/ed25519"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
	"github.com/pedigree-project/pedigree/services/internal/writer"
)

// AddNodeKey makes the ledger trust another ledger node's key: a NodeKey
// envelope, which every node applies by lifecycle.TrustNodeKey.
func (s *Service) AddNodeKey(ctx context.Context, req *pb.AddNodeKeyRequest) (*pb.AddNodeKeyResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if err := writer.Refused(lifecycle.MayTrustNodeKey(actor(p).Role)); err != nil {
		return nil, s.fail(ctx, err)
	}
	if len(req.GetPublicKey()) != ed25519.PublicKeySize {
		return nil, s.fail(ctx, apierr.Invalid("publicKey", "a raw Ed25519 public key is 32 bytes, got %d", len(req.GetPublicKey())))
	}
	env := writer.Envelope(p)
	env.Body = &pb.Envelope_NodeKey{NodeKey: &pb.NodeKey{Name: req.GetName(), PublicKey: req.GetPublicKey()}}
	res, err := s.w.Submit(ctx, env, true)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if _, err := writer.Outcome(res); err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.AddNodeKeyResponse{KeyId: envelope.KeyID(req.GetPublicKey()), LedgerIndex: res.Entry.GetIndex()}, nil
}
