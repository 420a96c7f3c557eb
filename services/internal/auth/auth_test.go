package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// TestResolvedPrincipalsFollowCommits checks, against a real store, that a
// cached principal is not served once a commit revoked its token or
// changed its party: the very next call sees the change.
func TestResolvedPrincipalsFollowCommits(t *testing.T) {
	const gln = "4000005000001"
	store, token, id := storeWithToken(t, gln, time.Time{})
	commit := func(put func(b *pebble.Batch) error) {
		t.Helper()
		b := store.DB().NewBatch()
		if err := put(b); err != nil {
			t.Fatal(err)
		}
		if err := store.Apply(b); err != nil {
			t.Fatal(err)
		}
	}
	a, err := NewAuthenticator(store)
	if err != nil {
		t.Fatal(err)
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+token))
	for range 2 {
		p, err := a.Authenticate(ctx)
		if err != nil || p.Party.GetRole() != pb.Role_ROLE_PHARMACY || p.TokenID != TokenIDString(id) {
			t.Fatalf("before the changes: %v, %v", p, err)
		}
	}
	commit(func(b *pebble.Batch) error {
		return state.PutParty(b, &pb.Party{Gln: gln, Role: pb.Role_ROLE_WHOLESALER})
	})
	if p, err := a.Authenticate(ctx); err != nil || p.Party.GetRole() != pb.Role_ROLE_WHOLESALER {
		t.Fatalf("after the role change: %v, %v; want a wholesaler", p, err)
	}
	commit(func(b *pebble.Batch) error { return state.DeleteToken(b, gln, id, state.TokenHash(token)) })
	if p, err := a.Authenticate(ctx); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("after the revocation: %v, %v; want Unauthenticated", p, err)
	}
}

// TestExpiryIsCheckedOnCachedPrincipals checks, against a real store, that
// a token works until the instant before its expiry and is Unauthenticated
// from the instant itself, though its principal is cached.
func TestExpiryIsCheckedOnCachedPrincipals(t *testing.T) {
	expiry := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	store, token, id := storeWithToken(t, "4000005000001", expiry)
	a, err := NewAuthenticator(store)
	if err != nil {
		t.Fatal(err)
	}
	now := expiry.Add(-time.Millisecond)
	a.Now = func() time.Time { return now }
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+token))
	for range 2 {
		if p, err := a.Authenticate(ctx); err != nil || p.TokenID != TokenIDString(id) {
			t.Fatalf("before the expiry: %v, %v", p, err)
		}
	}
	now = expiry
	if _, err := a.Authenticate(ctx); status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "expired at 2027-03-01T12:00:00Z") {
		t.Fatalf("at the expiry: %v; want Unauthenticated saying when it expired", err)
	}
}

// storeWithToken opens a real store holding a pharmacy and a token of it
// that expires at expires (zero: never).
func storeWithToken(t *testing.T, gln string, expires time.Time) (*state.Store, string, [8]byte) {
	t.Helper()
	store, err := state.Open(t.TempDir(), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	token, id, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	b := store.DB().NewBatch()
	if err := state.PutParty(b, &pb.Party{Gln: gln, Role: pb.Role_ROLE_PHARMACY}); err != nil {
		t.Fatal(err)
	}
	if err := state.PutTokenUntil(b, state.TokenHash(token), id, gln, expires); err != nil {
		t.Fatal(err)
	}
	if err := store.Apply(b); err != nil {
		t.Fatal(err)
	}
	return store, token, id
}
