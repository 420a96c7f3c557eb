package registry

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/pagetoken"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/services/internal/writer"
)

// CreateToken issues another API token, optionally with an expiry.
func (s *Service) CreateToken(ctx context.Context, req *pb.CreateTokenRequest) (*pb.CreateTokenResponse, error) {
	p, gln, err := tokenCaller(ctx, req.GetGln())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	expires, err := tokenExpiry(req, s.w.Now())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	token, id, err := auth.NewToken()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	hash := state.TokenHash(token)
	change := &pb.TokenChange{PartyGln: gln, TokenId: auth.TokenIDString(id), TokenHash: hash[:], ExpireTime: expires}
	env := writer.Envelope(p)
	env.Body = &pb.Envelope_Token{Token: change}
	res, err := s.w.Submit(ctx, env, true)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if _, err := writer.Outcome(res); err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.CreateTokenResponse{Token: token, TokenId: auth.TokenIDString(id), ExpireTime: expires}, nil
}

// tokenCaller returns the caller and the party whose tokens it manages:
// gln, or the caller's own when gln is empty; the caller must be that
// party or an admin.
func tokenCaller(ctx context.Context, gln string) (*auth.Principal, string, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, "", err
	}
	if gln == "" {
		gln = p.Party.GetGln()
	}
	return p, gln, writer.Refused(lifecycle.MayManageTokens(actor(p), gln))
}

// ListTokens lists a party's tokens: the party itself or an admin.
func (s *Service) ListTokens(ctx context.Context, req *pb.ListTokensRequest) (*pb.ListTokensResponse, error) {
	_, gln, err := tokenCaller(ctx, req.GetGln())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	q := pagetoken.For(pb.RegistryService_ListTokens_FullMethodName, gln)
	size, last, err := q.Page(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	var after *[8]byte
	if last != "" {
		id, err := parseTokenID(last)
		if err != nil {
			return nil, s.fail(ctx, apierr.Invalid(pagetoken.Field, "not a page token this API returned"))
		}
		after = &id
	}
	if _, err := s.w.Store().Party(gln); err != nil {
		return nil, s.fail(ctx, err)
	}
	list, err := s.w.Store().ListTokens(gln, after, size+1)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ListTokensResponse{Tokens: list}
	if len(list) > size {
		resp.Tokens = list[:size]
		resp.NextPageToken = q.Token(list[size-1].GetTokenId())
	}
	now := s.w.Now()
	for _, t := range resp.Tokens {
		t.Status = tokenStatus(t, now)
	}
	return resp, nil
}

// tokenStatus says whether a token works at now.
func tokenStatus(t *pb.TokenInfo, now time.Time) pb.TokenStatus {
	switch {
	case t.GetRevokeTime() != nil:
		return pb.TokenStatus_TOKEN_STATUS_REVOKED
	case t.GetExpireTime() != nil && !now.Before(t.GetExpireTime().AsTime()):
		return pb.TokenStatus_TOKEN_STATUS_EXPIRED
	}
	return pb.TokenStatus_TOKEN_STATUS_ACTIVE
}

// RevokeToken revokes an API token: the party itself or an admin.
func (s *Service) RevokeToken(ctx context.Context, req *pb.RevokeTokenRequest) (*pb.RevokeTokenResponse, error) {
	p, gln, err := tokenCaller(ctx, req.GetGln())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	id, err := parseTokenID(req.GetTokenId())
	if err != nil {
		return nil, s.fail(ctx, apierr.Invalid("tokenId", "16 lowercase hex digits, got %q", req.GetTokenId()))
	}
	if _, err := s.w.Store().TokenInfo(gln, id); errors.Is(err, state.ErrNotFound) {
		return nil, s.fail(ctx, apierr.NotFound("party %s has no token %s", gln, req.GetTokenId()))
	}
	env := writer.Envelope(p)
	env.Body = &pb.Envelope_Token{Token: &pb.TokenChange{PartyGln: gln, TokenId: req.GetTokenId(), Revoke: true}}
	res, err := s.w.Submit(ctx, env, true)
	if err != nil {
		return nil, s.fail(ctx, prefix(err, "token."))
	}
	if _, err := writer.Outcome(res); err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.RevokeTokenResponse{}, nil
}

// maxTokenLife bounds how far ahead a token's expiry may be.
const maxTokenLife = 10 * 365 * 24 * time.Hour

// tokenExpiry reads the expiry a CreateTokenRequest asks for, at the
// node's time now: nil when the token never expires.
func tokenExpiry(req *pb.CreateTokenRequest, now time.Time) (*timestamppb.Timestamp, error) {
	at, in := req.GetExpireTime(), req.GetExpiresIn()
	switch {
	case at != nil && in != nil:
		return nil, apierr.Invalid("expiresIn", "give expireTime or expiresIn, not both")
	case in != nil:
		if err := in.CheckValid(); err != nil {
			return nil, apierr.Invalid("expiresIn", "not a valid duration")
		}
		d := in.AsDuration()
		if d < time.Second || d > maxTokenLife {
			return nil, apierr.Invalid("expiresIn", "1 second to 10 years, got %s", d)
		}
		return timestamppb.New(now.Add(d).Truncate(time.Millisecond)), nil
	case at != nil:
		if err := at.CheckValid(); err != nil {
			return nil, apierr.Invalid("expireTime", "not a valid timestamp")
		}
		t := at.AsTime()
		if !t.After(now) || t.Sub(now) > maxTokenLife {
			return nil, apierr.Invalid("expireTime", "in the future and at most 10 years ahead, got %s (the node's time is %s)",
				t.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		return timestamppb.New(t.Truncate(time.Millisecond)), nil
	}
	return nil, nil
}

// parseTokenID reads a token ID: 16 lowercase hex digits.
func parseTokenID(s string) ([8]byte, error) {
	var id [8]byte
	if len(s) != 16 {
		return id, errors.New("want 16 hex digits")
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return id, errors.New("want lowercase hex digits")
		}
	}
	_, err := hex.Decode(id[:], []byte(s))
	return id, err
}
