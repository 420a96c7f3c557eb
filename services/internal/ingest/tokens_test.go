package ingest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/convert"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// TestTokenChangeRules: an issue may carry an expiry after its record time
// and revoke other tokens of the party in the same entry; the records of
// revoked tokens stay; a token ID is never issued twice; malformed changes
// are dead letters naming the field.
func TestTokenChangeRules(t *testing.T) {
	w := newWorld(t)
	w.party(pharmGLN, pb.Role_ROLE_PHARMACY)
	w.party(pharm2, pb.Role_ROLE_PHARMACY)
	first := fmt.Sprintf("%016x", 101) // w.party's token ID of the first party
	store := w.n.store
	idOf := func(s string) [8]byte {
		id, ok := convert.ParseID(s)
		if !ok {
			t.Fatalf("token ID %q", s)
		}
		return id
	}
	change := func(tc *pb.TokenChange) *pb.LedgerEntry {
		t.Helper()
		tc.PartyGln = pharmGLN
		return w.as(pharmGLN, &pb.Envelope{Body: &pb.Envelope_Token{Token: tc}})
	}
	hash := sha256.Sum256([]byte("second"))
	now := time.Now()

	e := change(&pb.TokenChange{TokenId: "00000000000000a1", TokenHash: hash[:], ExpireTime: timestamppb.New(now.Add(-time.Hour))})
	if out := e.GetOutcomes()[0]; out.GetApplied() || !strings.Contains(out.GetReason(), "not after the record time") {
		t.Fatalf("expiry before the record time: %v", out)
	}
	for _, bad := range []struct {
		tc    *pb.TokenChange
		field string
	}{
		{&pb.TokenChange{TokenId: "00000000000000a2", TokenHash: hash[:], ExpireTime: &timestamppb.Timestamp{Seconds: 1, Nanos: 2e9}}, "token.expireTime"},
		{&pb.TokenChange{TokenId: "00000000000000a3", TokenHash: hash[:], RevokeTokenIds: []string{first, first}}, "token.revokeTokenIds[1]"},
		{&pb.TokenChange{TokenId: "00000000000000a4", TokenHash: hash[:], RevokeTokenIds: []string{"xyz"}}, "token.revokeTokenIds[0]"},
		{&pb.TokenChange{TokenId: first, Revoke: true, RevokeTokenIds: []string{first}}, "token"},
	} {
		if e := change(bad.tc); e != nil {
			t.Errorf("%v: recorded, want a dead letter", bad.tc)
		} else if r := w.lastDeadReason(); !strings.Contains(r, bad.field+":") {
			t.Errorf("%v: dead letter %q, want it to name %s", bad.tc, r, bad.field)
		}
	}
	if out := change(&pb.TokenChange{TokenId: "00000000000000a5", TokenHash: hash[:], RevokeTokenIds: []string{"00000000000000ff"}}).GetOutcomes()[0]; out.GetApplied() ||
		!strings.Contains(out.GetReason(), "unknown or already revoked") {
		t.Fatalf("revoking an unknown token with an issue: %v", out)
	}
	// Another party may not revoke the pharmacy's tokens with its own issue.
	other := w.as(pharm2, &pb.Envelope{Body: &pb.Envelope_Token{Token: &pb.TokenChange{PartyGln: pharmGLN, TokenId: "00000000000000a6",
		TokenHash: hash[:], RevokeTokenIds: []string{first}}}})
	if out := other.GetOutcomes()[0]; out.GetApplied() || !strings.Contains(out.GetReason(), "own tokens") {
		t.Fatalf("another party's change: %v", out)
	}

	expiry := now.Add(time.Hour).Truncate(time.Millisecond)
	e = change(&pb.TokenChange{TokenId: "00000000000000b1", TokenHash: hash[:], ExpireTime: timestamppb.New(expiry), RevokeTokenIds: []string{first}})
	if e == nil || !e.GetOutcomes()[0].GetApplied() {
		t.Fatalf("issue with expiry and revocation: %v (%s)", e, w.lastDeadReason())
	}
	cred, err := store.Token(hash)
	if err != nil || !cred.Expires.Equal(expiry) || cred.PartyGLN != pharmGLN {
		t.Fatalf("new credential %+v %v, want the pharmacy's expiring at %v", cred, err, expiry)
	}
	if _, err := store.TokenHashOf(pharmGLN, idOf(first)); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("revoked token's credential: %v, want gone", err)
	}
	old, err := store.TokenInfo(pharmGLN, idOf(first))
	if err != nil || old.GetRevokeTime() == nil || old.GetRevokeLedgerIndex() != e.GetIndex() || old.GetCreateLedgerIndex() >= e.GetIndex() {
		t.Fatalf("revoked token's record %v %v, want revoked by entry %d", old, err, e.GetIndex())
	}
	info, err := store.TokenInfo(pharmGLN, idOf("00000000000000b1"))
	if err != nil || !info.GetExpireTime().AsTime().Equal(expiry) || info.GetCreateLedgerIndex() != e.GetIndex() || info.GetNodeKeyId() != "" {
		t.Fatalf("new token's record %v %v", info, err)
	}
	list, err := store.ListTokens(pharmGLN, nil, 10)
	if err != nil || len(list) != 2 || list[0].GetTokenId() != first || list[1].GetTokenId() != "00000000000000b1" {
		t.Fatalf("listed %v %v, want the revoked first token and the new one", list, err)
	}
	if out := change(&pb.TokenChange{TokenId: first, TokenHash: hash[:]}).GetOutcomes()[0]; out.GetApplied() || !strings.Contains(out.GetReason(), "already exists") {
		t.Fatalf("issuing a revoked token's ID again: %v", out)
	}
}
