package ingest

import (
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// maxRevokedWithIssue bounds the tokens one issue revokes with it.
const maxRevokedWithIssue = 16

// issued is the record of a token issued by the envelope at ledger index
// index, recorded at recordTime, from who.
func issued(gln string, id [8]byte, hash [32]byte, who principal, index uint64, recordTime time.Time) tokenRecord {
	t := tokenRecord{gln: gln, id: id, hash: hash, at: recordTime, index: index}
	if who.method == pb.AuthMethod_AUTH_METHOD_NODE {
		t.nodeKey = who.credential
	}
	return t
}

// info is the token record (state table 0x1E) of an issued token.
func (t tokenRecord) info() *pb.TokenInfo {
	i := &pb.TokenInfo{TokenId: hex.EncodeToString(t.id[:]), PartyGln: t.gln, CreateTime: timestamp(t.at),
		CreateLedgerIndex: t.index, NodeKeyId: t.nodeKey}
	if !t.expires.IsZero() {
		i.ExpireTime = timestamppb.New(t.expires)
	}
	return i
}

// changeToken issues or revokes a party's API token: the party itself or
// an admin. An issue may carry an expiry and revoke other tokens of the
// same party in the same change.
func (o *overlay) changeToken(actor *pb.Party, t *pb.TokenChange, who principal, index uint64, recordTime time.Time) (*pb.Outcome, error) {
	if t.GetRevoke() {
		if t.GetExpireTime() != nil || len(t.GetRevokeTokenIds()) > 0 {
			return nil, invalid("token", "a revocation carries neither expireTime nor revokeTokenIds")
		}
		tid, ok := parseKeyID(t.GetTokenId())
		if !ok {
			return nil, invalid("token.tokenId", "16 lowercase hex digits, got %q", t.GetTokenId())
		}
		target, out := o.tokenTarget(actor, t)
		if out != nil {
			return out, nil
		}
		if !o.tokenValid(target.GetGln(), tid) {
			return refused("token %s of %s is unknown or already revoked", t.GetTokenId(), target.GetGln()), nil
		}
		o.putToken(tokenRecord{gln: target.GetGln(), id: tid, revoke: true, at: recordTime, index: index})
		return applied(), nil
	}
	tid, h, err := checkToken("token.token", t.GetTokenId(), t.GetTokenHash())
	if err != nil {
		return nil, err
	}
	var expires time.Time
	if e := t.GetExpireTime(); e != nil {
		if err := e.CheckValid(); err != nil {
			return nil, invalid("token.expireTime", "a valid timestamp (years 1–9999, nanoseconds below 10⁹)")
		}
		expires = e.AsTime().Truncate(time.Millisecond)
	}
	ids := t.GetRevokeTokenIds()
	if len(ids) > maxRevokedWithIssue {
		return nil, invalid("token.revokeTokenIds", "at most %d, got %d", maxRevokedWithIssue, len(ids))
	}
	revoke := make([][8]byte, 0, len(ids))
	for i, s := range ids {
		id, ok := parseKeyID(s)
		if !ok {
			return nil, invalid(fmt.Sprintf("token.revokeTokenIds[%d]", i), "16 lowercase hex digits, got %q", s)
		}
		if id == tid || slices.Contains(revoke, id) {
			return nil, invalid(fmt.Sprintf("token.revokeTokenIds[%d]", i), "%s is named twice", s)
		}
		revoke = append(revoke, id)
	}
	target, out := o.tokenTarget(actor, t)
	if out != nil {
		return out, nil
	}
	gln := target.GetGln()
	if !expires.IsZero() && !expires.After(recordTime) {
		return refused("token.expireTime: %s is not after the record time %s", expires.Format(time.RFC3339Nano), recordTime.Format(time.RFC3339Nano)), nil
	}
	if o.tokenKnown(gln, tid) {
		return refused("token %s of %s already exists", t.GetTokenId(), gln), nil
	}
	for _, id := range revoke {
		if !o.tokenValid(gln, id) {
			return refused("token %x of %s is unknown or already revoked", id, gln), nil
		}
	}
	rec := issued(gln, tid, h, who, index, recordTime)
	rec.expires = expires
	o.putToken(rec)
	for _, id := range revoke {
		o.putToken(tokenRecord{gln: gln, id: id, revoke: true, at: recordTime, index: index})
	}
	return applied(), nil
}

// tokenTarget returns the party whose token t changes, or the outcome that
// refuses the change.
func (o *overlay) tokenTarget(actor *pb.Party, t *pb.TokenChange) (*pb.Party, *pb.Outcome) {
	target := o.party(t.GetPartyGln())
	if target == nil {
		return nil, refused("token.partyGln: party %q is not registered", t.GetPartyGln())
	}
	if actor.GetGln() != target.GetGln() && actor.GetRole() != pb.Role_ROLE_ADMIN {
		return nil, refused("a party manages its own tokens; an admin manages anyone's")
	}
	return target, nil
}
