package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// TokenPrefix starts every API token, so that a leaked token is easy to
// recognise in logs and secret scanners.
const TokenPrefix = "pdg_"

// NewToken returns a new random API token and its ID.
func NewToken() (token string, id [8]byte, err error) {
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", id, fmt.Errorf("auth: random token: %w", err)
	}
	if _, err := rand.Read(id[:]); err != nil {
		return "", id, fmt.Errorf("auth: random token id: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(secret[:]), id, nil
}

// WellFormed reports whether token has the form NewToken gives: the
// prefix and 256 random bits in unpadded base64url.
func WellFormed(token string) bool {
	rest, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil && len(b) == 32
}

// TokenIDString formats a token ID as 16 lowercase hex digits.
func TokenIDString(id [8]byte) string { return hex.EncodeToString(id[:]) }

// Principal is an authenticated caller.
type Principal struct {
	// Party is the caller's party record.
	Party *pb.Party
	// TokenID is the API token the caller used.
	TokenID string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller, if the request was authenticated.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok
}

// Lookup resolves credentials against the node's state.
type Lookup interface {
	Token(hash [32]byte) (state.Credential, error)
	Party(gln string) (*pb.Party, error)
	// CacheGeneration changes whenever a token or party may have changed
	// (state.Store.CacheGeneration): a principal resolved from reads that
	// began in one generation is valid while it lasts.
	CacheGeneration() uint64
}

// Authenticator checks bearer tokens on gRPC calls.
type Authenticator struct {
	// Now is the clock a token's expiry is compared with, at every
	// request; set it before the first request (default time.Now).
	Now func() time.Time

	lookup Lookup
	public map[string]bool

	// principals caches resolved tokens by hash, each with the Lookup
	// generation recorded before the reads that resolved it; an entry of
	// an older generation is stale and resolved again.
	mu         sync.RWMutex
	principals map[[32]byte]resolved
}

// resolved is a cached principal, the generation it was resolved in and
// its token's credential (for the expiry).
type resolved struct {
	gen  uint64
	p    *Principal
	cred state.Credential
}

// maxPrincipals bounds the principal cache; past it the cache starts
// afresh.
const maxPrincipals = 1 << 14

// PublicMethods need no token.
var publicMethods = []string{
	"/grpc.health.v1.Health/Check",
	"/grpc.health.v1.Health/Watch",
	"/grpc.health.v1.Health/List",
	pb.LedgerService_GetCheckpoint_FullMethodName,
	pb.LedgerService_GetInclusionProof_FullMethodName,
	pb.LedgerService_GetConsistencyProof_FullMethodName,
}

// NewAuthenticator returns an Authenticator backed by lookup.
func NewAuthenticator(lookup Lookup) (*Authenticator, error) {
	if lookup == nil {
		return nil, errors.New("auth: nil lookup")
	}
	pub := make(map[string]bool, len(publicMethods))
	for _, m := range publicMethods {
		pub[m] = true
	}
	return &Authenticator{Now: time.Now, lookup: lookup, public: pub, principals: map[[32]byte]resolved{}}, nil
}

func (a *Authenticator) isPublic(method string) bool {
	return a.public[method] || strings.HasPrefix(method, "/grpc.reflection.")
}

// IsPublic reports whether a full gRPC method name needs no token.
func (a *Authenticator) IsPublic(method string) bool { return a.isPublic(method) }

// Authenticate resolves the bearer token in ctx's metadata.
func (a *Authenticator) Authenticate(ctx context.Context) (*Principal, error) {
	// The one key read without copying the call's whole metadata.
	vals := metadata.ValueFromIncomingContext(ctx, "authorization")
	if len(vals) == 0 {
		return nil, status.Error(codes.Unauthenticated, "authorization: missing bearer token")
	}
	scheme, token, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return nil, status.Error(codes.Unauthenticated, "authorization: want \"Bearer <token>\"")
	}
	return a.resolve(state.TokenHash(strings.TrimSpace(token)))
}

// resolve returns the principal of a token's hash, unless the token has
// expired by the clock now: a cached one if no token or party may have
// changed since it was resolved. The Principal is shared between the
// calls that present the token and MUST NOT be modified.
func (a *Authenticator) resolve(hash [32]byte) (*Principal, error) {
	r, err := a.resolveCached(hash)
	if err != nil {
		return nil, err
	}
	if r.cred.ExpiredAt(a.Now()) {
		return nil, status.Errorf(codes.Unauthenticated, "authorization: the token expired at %s", r.cred.Expires.UTC().Format(time.RFC3339Nano))
	}
	return r.p, nil
}

// resolveCached resolves a token's hash, from the cache when no token or
// party may have changed since it was resolved.
func (a *Authenticator) resolveCached(hash [32]byte) (resolved, error) {
	gen := a.lookup.CacheGeneration()
	a.mu.RLock()
	r, ok := a.principals[hash]
	a.mu.RUnlock()
	if ok && r.gen == gen {
		return r, nil
	}
	cred, err := a.lookup.Token(hash)
	if errors.Is(err, state.ErrNotFound) {
		return r, status.Error(codes.Unauthenticated, "authorization: unknown or revoked token")
	}
	if err != nil {
		return r, status.Error(codes.Internal, "authorization: token lookup failed")
	}
	party, err := a.lookup.Party(cred.PartyGLN)
	if err != nil {
		return r, status.Error(codes.Unauthenticated, "authorization: token's party is not registered")
	}
	r = resolved{gen: gen, p: &Principal{Party: party, TokenID: TokenIDString(cred.TokenID)}, cred: cred}
	a.mu.Lock()
	if len(a.principals) >= maxPrincipals {
		a.principals = map[[32]byte]resolved{}
	}
	a.principals[hash] = r
	a.mu.Unlock()
	return r, nil
}

// authenticateCall authenticates unless the method is public. On public
// methods a presented valid token is still attached, so that services can
// tell who asks.
func (a *Authenticator) authenticateCall(ctx context.Context, method string) (context.Context, error) {
	if p, ok := FromContext(ctx); ok && p != nil {
		// Resolved for this call by the server's tap (edge.AuthTap):
		// only this process puts a principal in a call's context.
		return ctx, nil
	}
	p, err := a.Authenticate(ctx)
	if err != nil {
		if a.isPublic(method) {
			return ctx, nil
		}
		return nil, err
	}
	return WithPrincipal(ctx, p), nil
}

// UnaryInterceptor authenticates unary calls.
func (a *Authenticator) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := a.authenticateCall(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// StreamInterceptor authenticates streaming calls.
func (a *Authenticator) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := a.authenticateCall(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }
