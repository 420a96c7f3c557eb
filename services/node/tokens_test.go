package node

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// testClock is a node clock the test sets.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// tokens lists a party's tokens (gln "" for the caller's own).
func (a *api) tokens(token, gln string) map[string]*pb.TokenInfo {
	a.t.Helper()
	resp := &pb.ListTokensResponse{}
	path := "/v1/tokens"
	if gln != "" {
		path = "/v1/parties/" + gln + "/tokens"
	}
	if err := a.as(token).Get(context.Background(), path, resp); err != nil {
		a.t.Fatalf("list tokens of %q: %v", gln, err)
	}
	out := map[string]*pb.TokenInfo{}
	for _, t := range resp.GetTokens() {
		out[t.GetTokenId()] = t
	}
	return out
}

// TestTokenExpiresAtTheInstant issues a token that expires, uses it until
// the instant before its expiry (the cached principal included), and sees
// it refused with 401, over REST and gRPC, from the instant itself.
func TestTokenExpiresAtTheInstant(t *testing.T) {
	clock := &testClock{t: time.Now()}
	cfg := testConfig(t.TempDir())
	cfg.now = clock.Now
	n := startNode(t, cfg)
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	ctx := context.Background()
	pharm := a.party(apiPharm, pb.Role_ROLE_PHARMACY)

	created := &pb.CreateTokenResponse{}
	if err := a.as(pharm).Post(ctx, "/v1/tokens", &pb.CreateTokenRequest{ExpiresIn: durationpb.New(time.Hour)}, created); err != nil {
		t.Fatal(err)
	}
	expiry := created.GetExpireTime().AsTime()
	if want := clock.Now().Add(time.Hour); expiry.Sub(want).Abs() > time.Millisecond {
		t.Fatalf("expiry %v, want an hour after the node's clock (%v)", expiry, want)
	}
	// The ledger recorded it with the token.
	if info := a.tokens(pharm, "")[created.GetTokenId()]; !info.GetExpireTime().AsTime().Equal(expiry) ||
		info.GetStatus() != pb.TokenStatus_TOKEN_STATUS_ACTIVE {
		t.Fatalf("listed token %v, want expiry %v and ACTIVE", info, expiry)
	}
	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reg := pb.NewRegistryServiceClient(conn)
	gctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+created.GetToken())

	clock.Set(expiry.Add(-time.Nanosecond))
	for range 3 { // the authenticator caches the principal
		if err := a.as(created.GetToken()).Get(ctx, "/v1/tokens", &pb.ListTokensResponse{}); err != nil {
			t.Fatalf("REST just before the expiry: %v", err)
		}
		if _, err := reg.ListTokens(gctx, &pb.ListTokensRequest{}); err != nil {
			t.Fatalf("gRPC just before the expiry: %v", err)
		}
	}
	clock.Set(expiry)
	wantStatus(t, "REST at the expiry", a.as(created.GetToken()).Get(ctx, "/v1/tokens", nil), http.StatusUnauthorized, "expired")
	if _, err := reg.ListTokens(gctx, &pb.ListTokensRequest{}); status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("gRPC at the expiry: %v, want Unauthenticated saying the token expired", err)
	}
	if info := a.tokens(pharm, "")[created.GetTokenId()]; info.GetStatus() != pb.TokenStatus_TOKEN_STATUS_EXPIRED {
		t.Fatalf("listed after the expiry: %v, want EXPIRED", info)
	}
	// The token that never expires still works.
	if err := a.as(pharm).Get(ctx, "/v1/tokens", nil); err != nil {
		t.Fatalf("the party's first token: %v", err)
	}
	wantStatus(t, "expiry in the past", a.as(pharm).Post(ctx, "/v1/tokens", &pb.CreateTokenRequest{ExpireTime: created.GetExpireTime()}, nil),
		http.StatusBadRequest, "expireTime")
	wantStatus(t, "both expiry forms", a.as(pharm).Post(ctx, "/v1/tokens",
		&pb.CreateTokenRequest{ExpiresIn: durationpb.New(time.Hour), ExpireTime: created.GetExpireTime()}, nil), http.StatusBadRequest, "expiresIn")
	wantStatus(t, "expiry too far", a.as(pharm).Post(ctx, "/v1/tokens", &pb.CreateTokenRequest{ExpiresIn: durationpb.New(11 * 365 * 24 * time.Hour)}, nil),
		http.StatusBadRequest, "expiresIn")
}

// TestPartiesListAndRevokeTheirOwnTokens: a party lists and revokes its own
// tokens, never sees a secret, and can neither see nor revoke another
// party's (403); an admin can do both for anyone.
func TestPartiesListAndRevokeTheirOwnTokens(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	ctx := context.Background()
	pharm := a.party(apiPharm, pb.Role_ROLE_PHARMACY)
	other := a.party(apiPh2, pb.Role_ROLE_PHARMACY)

	second := &pb.CreateTokenResponse{}
	if err := a.as(pharm).Post(ctx, "/v1/parties/"+apiPharm+"/tokens", &pb.CreateTokenRequest{}, second); err != nil {
		t.Fatal(err)
	}
	list := &pb.ListTokensResponse{}
	if err := a.as(pharm).Get(ctx, "/v1/tokens", list); err != nil {
		t.Fatal(err)
	}
	js, _ := protojson.Marshal(list)
	if len(list.GetTokens()) != 2 || strings.Contains(string(js), second.GetToken()) || strings.Contains(string(js), pharm) {
		t.Fatalf("own tokens: %s, want 2 without any secret", js)
	}
	for _, tk := range list.GetTokens() {
		if tk.GetPartyGln() != apiPharm || tk.GetCreateTime() == nil || tk.GetCreateLedgerIndex() == 0 || tk.GetStatus() != pb.TokenStatus_TOKEN_STATUS_ACTIVE {
			t.Errorf("token %v: want the pharmacy's, with issue time and entry, ACTIVE", tk)
		}
	}
	if _, ok := a.tokens(pharm, apiPharm)[second.GetTokenId()]; !ok {
		t.Fatalf("the party's own collection by GLN lacks %s", second.GetTokenId())
	}

	// Another party: neither list nor revoke (403), and the token still works.
	wantStatus(t, "list another's tokens", a.as(other).Get(ctx, "/v1/parties/"+apiPharm+"/tokens", nil), http.StatusForbidden, "own")
	wantStatus(t, "revoke another's token", a.as(other).Do(ctx, http.MethodDelete, "/v1/parties/"+apiPharm+"/tokens/"+second.GetTokenId(), nil, nil),
		http.StatusForbidden, "own")
	wantStatus(t, "issue a token for another", a.as(other).Post(ctx, "/v1/parties/"+apiPharm+"/tokens", &pb.CreateTokenRequest{}, nil),
		http.StatusForbidden, "own")
	wantStatus(t, "revoke another's token by ID alone", a.as(other).Do(ctx, http.MethodDelete, "/v1/tokens/"+second.GetTokenId(), nil, nil),
		http.StatusNotFound, second.GetTokenId())
	if err := a.as(second.GetToken()).Get(ctx, "/v1/tokens", nil); err != nil {
		t.Fatalf("the token after the failed revocations: %v", err)
	}

	// The party revokes its own: it stops working at once and is listed
	// as revoked.
	if err := a.as(pharm).Do(ctx, http.MethodDelete, "/v1/tokens/"+second.GetTokenId(), nil, nil); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "revoked token", a.as(second.GetToken()).Get(ctx, "/v1/tokens", nil), http.StatusUnauthorized, "revoked")
	if tk := a.tokens(pharm, "")[second.GetTokenId()]; tk.GetStatus() != pb.TokenStatus_TOKEN_STATUS_REVOKED || tk.GetRevokeTime() == nil ||
		tk.GetRevokeLedgerIndex() <= tk.GetCreateLedgerIndex() {
		t.Fatalf("revoked token listed as %v", tk)
	}
	// The same revocation again is the same envelope: the ledger answers
	// with the entry that recorded it.
	if err := a.as(pharm).Do(ctx, http.MethodDelete, "/v1/tokens/"+second.GetTokenId(), nil, nil); err != nil {
		t.Fatalf("the same revocation again: %v", err)
	}
	wantStatus(t, "revoke a malformed ID", a.as(pharm).Do(ctx, http.MethodDelete, "/v1/tokens/XYZ", nil, nil), http.StatusBadRequest, "tokenId")

	// An admin lists and revokes anyone's.
	admin := a.adminToken()
	theirs := a.tokens(admin, apiPh2)
	if len(theirs) != 1 {
		t.Fatalf("admin lists the other pharmacy's tokens: %v", theirs)
	}
	for id := range theirs {
		if err := a.as(admin).Do(ctx, http.MethodDelete, "/v1/parties/"+apiPh2+"/tokens/"+id, nil, nil); err != nil {
			t.Fatalf("admin revokes: %v", err)
		}
	}
	wantStatus(t, "token an admin revoked", a.as(other).Get(ctx, "/v1/tokens", nil), http.StatusUnauthorized, "revoked")
}

// TestAdminTokenReissueRevokesTheOldOne restarts a node without its admin
// token file: the new token works, and the old one (leaked, say) gets 401,
// because the reissue revoked it in the same ledger entry.
func TestAdminTokenReissueRevokesTheOldOne(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, testConfig(dir))
	a := &api{t: t, n: n}
	ctx := context.Background()
	old := a.adminToken()
	// A token issued through the API for the admin party is not the
	// node's: the reissue leaves it alone.
	kept := &pb.CreateTokenResponse{}
	if err := a.as(old).Post(ctx, "/v1/tokens", &pb.CreateTokenRequest{}, kept); err != nil {
		t.Fatal(err)
	}
	shutdown(t, n)
	if err := os.Remove(filepath.Join(dir, AdminTokenFile)); err != nil {
		t.Fatal(err)
	}

	n = startNode(t, testConfig(dir))
	defer shutdown(t, n)
	a.n = n
	fresh := a.adminToken()
	if fresh == old {
		t.Fatal("the reissued admin token is the old one")
	}
	wantStatus(t, "old admin token", a.as(old).Get(ctx, "/v1/parties", nil), http.StatusUnauthorized, "revoked")
	if err := a.as(fresh).Get(ctx, "/v1/parties", nil); err != nil {
		t.Fatalf("new admin token: %v", err)
	}
	if err := a.as(kept.GetToken()).Get(ctx, "/v1/parties", nil); err != nil {
		t.Fatalf("admin token issued through the API: %v", err)
	}
	var revoked, active int
	for _, tk := range a.tokens(fresh, "") {
		switch tk.GetStatus() {
		case pb.TokenStatus_TOKEN_STATUS_REVOKED:
			revoked++
		case pb.TokenStatus_TOKEN_STATUS_ACTIVE:
			active++
		}
	}
	if revoked != 1 || active != 2 {
		t.Fatalf("admin tokens: %d revoked, %d active; want the genesis token revoked, the API one and the new one active", revoked, active)
	}
}
