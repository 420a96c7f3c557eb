package registry

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/convert"
	"github.com/pedigree-project/pedigree/services/internal/pagetoken"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/services/internal/writer"
)

// Service implements pb.RegistryServiceServer.
type Service struct {
	pb.UnimplementedRegistryServiceServer
	w   *writer.Writer
	log *ledger.Log
}

var _ pb.RegistryServiceServer = (*Service)(nil)

// New returns the service; log is the ledger it reads idempotent
// commissioning requests back from.
func New(w *writer.Writer, log *ledger.Log) (*Service, error) {
	if w == nil || log == nil {
		return nil, errors.New("registry: writer and ledger are required")
	}
	return &Service{w: w, log: log}, nil
}

func (s *Service) fail(ctx context.Context, err error) error {
	return apierr.Status(ctx, s.w.Logger(), err)
}

// actor is the caller as the rules see it.
func actor(p *auth.Principal) lifecycle.Party { return convert.Party(p.Party) }

// isAuthority reports whether the caller reads every party's records.
func isAuthority(p *auth.Principal) bool { return lifecycle.SeesAll(actor(p).Role) }

func isAdmin(p *auth.Principal) bool { return actor(p).Role == lifecycle.RoleAdmin }

// CreateParty registers a party and returns its first token.
func (s *Service) CreateParty(ctx context.Context, req *pb.CreatePartyRequest) (*pb.CreatePartyResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if req.GetParty() == nil {
		return nil, s.fail(ctx, apierr.Invalid("party", "required"))
	}
	if err := writer.Refused(lifecycle.MayRegisterParty(actor(p).Role, lifecycle.Role(req.GetParty().GetRole()))); err != nil {
		return nil, s.fail(ctx, err)
	}
	token, id, err := auth.NewToken()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	hash := state.TokenHash(token)
	env := writer.Envelope(p)
	env.Body = &pb.Envelope_Party{Party: &pb.PartyRegistration{Party: req.GetParty(), TokenHash: hash[:], TokenId: auth.TokenIDString(id)}}
	res, err := s.w.Submit(ctx, env, true)
	if err != nil {
		return nil, s.fail(ctx, prefix(err, "party."))
	}
	if _, err := writer.Outcome(res); err != nil {
		return nil, s.fail(ctx, err)
	}
	party, err := s.w.Store().Party(req.GetParty().GetGln())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.CreatePartyResponse{Party: party, Token: token, TokenId: auth.TokenIDString(id)}, nil
}

// prefix rewrites field paths of the pipeline ("party.party.gln") into the
// request's ("party.gln").
func prefix(err error, strip string) error {
	var ae *apierr.Error
	if errors.As(err, &ae) && ae.Field != "" {
		ae.Field = strings.TrimPrefix(ae.Field, strip)
	}
	return err
}

// GetParty returns a party.
func (s *Service) GetParty(ctx context.Context, req *pb.GetPartyRequest) (*pb.GetPartyResponse, error) {
	p, err := s.w.Store().Party(req.GetGln())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.GetPartyResponse{Party: p}, nil
}

// ListParties pages through parties.
func (s *Service) ListParties(ctx context.Context, req *pb.ListPartiesRequest) (*pb.ListPartiesResponse, error) {
	q := pagetoken.For(pb.RegistryService_ListParties_FullMethodName)
	size, after, err := q.Page(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	list, err := s.w.Store().ListParties(after, size+1)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ListPartiesResponse{Parties: list}
	if len(list) > size {
		resp.Parties = list[:size]
		resp.NextPageToken = q.Token(list[size-1].GetGln())
	}
	return resp, nil
}

// mayManageKeys allows the party itself or an admin.
func mayManageKeys(p *auth.Principal, gln string) error {
	return writer.Refused(lifecycle.MayManageKeys(actor(p), gln))
}

// AddPartyKey registers a signing key.
func (s *Service) AddPartyKey(ctx context.Context, req *pb.AddPartyKeyRequest) (*pb.AddPartyKeyResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if err := mayManageKeys(p, req.GetGln()); err != nil {
		return nil, s.fail(ctx, err)
	}
	if len(req.GetPublicKey()) != ed25519.PublicKeySize {
		return nil, s.fail(ctx, apierr.Invalid("publicKey", "a raw Ed25519 public key is 32 bytes, got %d", len(req.GetPublicKey())))
	}
	env := writer.Envelope(p)
	env.Body = &pb.Envelope_Key{Key: &pb.PartyKey{PartyGln: req.GetGln(), PublicKey: req.GetPublicKey()}}
	res, err := s.w.Submit(ctx, env, true)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if _, err := writer.Outcome(res); err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.AddPartyKeyResponse{KeyId: envelope.KeyID(req.GetPublicKey())}, nil
}

// AddPartyPrefix adds a GS1 Company Prefix to a party (admin only).
func (s *Service) AddPartyPrefix(ctx context.Context, req *pb.AddPartyPrefixRequest) (*pb.AddPartyPrefixResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if err := writer.Refused(lifecycle.MayManagePrefixes(actor(p).Role)); err != nil {
		return nil, s.fail(ctx, err)
	}
	var fe *convert.FieldError
	if err := convert.CheckPrefix("companyPrefix", req.GetCompanyPrefix()); errors.As(err, &fe) {
		return nil, s.fail(ctx, apierr.Invalid(fe.Field, "%s", fe.Msg))
	}
	env := writer.Envelope(p)
	env.Body = &pb.Envelope_Prefix{Prefix: &pb.PartyPrefix{PartyGln: req.GetGln(), CompanyPrefix: req.GetCompanyPrefix()}}
	res, err := s.w.Submit(ctx, env, true)
	if err != nil {
		return nil, s.fail(ctx, prefix(err, "prefix."))
	}
	if _, err := writer.Outcome(res); err != nil {
		return nil, s.fail(ctx, err)
	}
	party, err := s.w.Store().Party(req.GetGln())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.AddPartyPrefixResponse{Party: party}, nil
}

// RevokePartyKey withdraws a signing key.
func (s *Service) RevokePartyKey(ctx context.Context, req *pb.RevokePartyKeyRequest) (*pb.RevokePartyKeyResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if err := mayManageKeys(p, req.GetGln()); err != nil {
		return nil, s.fail(ctx, err)
	}
	id, err := hex.DecodeString(req.GetKeyId())
	if err != nil || len(id) != 8 || strings.ToLower(req.GetKeyId()) != req.GetKeyId() {
		return nil, s.fail(ctx, apierr.Invalid("keyId", "want 16 lowercase hex digits, got %q", req.GetKeyId()))
	}
	owner, pub, err := s.w.Store().PartyKey([8]byte(id))
	if errors.Is(err, state.ErrNotFound) || (err == nil && owner != req.GetGln()) {
		return nil, s.fail(ctx, &apierr.Error{Code: codes.NotFound, Msg: fmt.Sprintf("key %s is not a key of party %s", req.GetKeyId(), req.GetGln())})
	}
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	env := writer.Envelope(p)
	env.Body = &pb.Envelope_Key{Key: &pb.PartyKey{PartyGln: req.GetGln(), PublicKey: pub, Revoke: true}}
	res, err := s.w.Submit(ctx, env, true)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if _, err := writer.Outcome(res); err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.RevokePartyKeyResponse{LedgerIndex: res.Entry.GetIndex()}, nil
}
