package ingest

import (
	"crypto/ed25519"
	"strconv"
	"strings"
	"time"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/convert"
)

// Master data travels on the stream like scans, so that the ledger records
// it and every node applies it in the same order. Field errors make the
// message a dead letter; the decisions that depend on the state (who may
// do what, what already exists) are the rules of package lifecycle
// (masterdata.go, authority.go), recorded as the entry's outcome.

func applied() *pb.Outcome { return &pb.Outcome{Applied: true, Affected: 1} }

// putRegistered writes a new party with its keys and first token.
func (o *overlay) putRegistered(p *pb.Party, tok tokenRecord) {
	o.putParty(p)
	for _, k := range p.GetPublicKeys() {
		o.putPartyKey(lifecycle.KeyID(k), p.GetGln(), ed25519.PublicKey(k))
	}
	for _, prefix := range p.GetCompanyPrefixes() {
		o.putPrefix(prefix, p.GetGln())
	}
	o.putToken(tok)
}

// applyMasterData applies a non-scan envelope. It returns a field error for
// malformed content.
func (o *overlay) applyMasterData(env *pb.Envelope, who principal, index uint64, recordTime time.Time) (*pb.Outcome, error) {
	actor, _ := o.Party(who.party)
	switch body := env.GetBody().(type) {
	case *pb.Envelope_Genesis:
		g := body.Genesis
		if err := convert.CheckParty("genesis.admin", g.GetAdmin()); err != nil {
			return nil, err
		}
		if g.GetAdmin().GetRole() != pb.Role_ROLE_ADMIN {
			return nil, convert.Invalid("genesis.admin.role", "must be ROLE_ADMIN")
		}
		tid, h, err := convert.CheckToken("genesis.token", g.GetTokenId(), g.GetTokenHash())
		if err != nil {
			return nil, err
		}
		if err := convert.CheckText("genesis.nodeKey.name", g.GetNodeKey().GetName(), 1, 64); err != nil {
			return nil, err
		}
		if r := lifecycle.NewParty(o, convert.Party(g.GetAdmin())); r.Refused() {
			return convert.Refused(r), nil
		}
		o.putRegistered(g.GetAdmin(), issued(g.GetAdmin().GetGln(), tid, h, who, index, recordTime))
		pub := g.GetNodeKey().GetPublicKey()
		o.putNodeKey(lifecycle.KeyID(pub), g.GetNodeKey().GetName(), ed25519.PublicKey(pub))
		return applied(), nil

	case *pb.Envelope_NodeKey:
		k := body.NodeKey
		if err := convert.CheckText("nodeKey.name", k.GetName(), 1, 64); err != nil {
			return nil, err
		}
		if err := convert.CheckKey("nodeKey.publicKey", k.GetPublicKey()); err != nil {
			return nil, err
		}
		if r := lifecycle.MayTrustNodeKey(actor.Role); r.Refused() {
			return convert.Refused(r), nil
		}
		o.putNodeKey(lifecycle.KeyID(k.GetPublicKey()), k.GetName(), ed25519.PublicKey(k.GetPublicKey()))
		return applied(), nil

	case *pb.Envelope_Party:
		p := body.Party.GetParty()
		if err := convert.CheckParty("party.party", p); err != nil {
			return nil, err
		}
		tid, h, err := convert.CheckToken("party.token", body.Party.GetTokenId(), body.Party.GetTokenHash())
		if err != nil {
			return nil, err
		}
		if r := lifecycle.RegisterParty(o, actor.Role, convert.Party(p)); r.Refused() {
			return convert.Refused(r), nil
		}
		o.putRegistered(p, issued(p.GetGln(), tid, h, who, index, recordTime))
		return applied(), nil

	case *pb.Envelope_Product:
		return o.registerProduct(actor, body.Product)

	case *pb.Envelope_Batch:
		return o.registerBatch(actor, body.Batch, recordTime)

	case *pb.Envelope_Token:
		return o.changeToken(actor, body.Token, who, index, recordTime)

	case *pb.Envelope_Key:
		return o.changeKey(actor, body.Key)

	case *pb.Envelope_AlertReview:
		return o.reviewAlert(actor, body.AlertReview, index, recordTime)

	case *pb.Envelope_Prefix:
		return o.addPrefix(actor, body.Prefix)
	}
	return nil, convert.Invalid("envelope.body", "empty")
}

// changeKey registers or revokes one of a party's signing keys. A revoked
// key leaves the party's key list, so envelopes it signs are refused and
// its NATS connections closed, and stays in the key table, so it is never
// registered again.
func (o *overlay) changeKey(actor lifecycle.Party, k *pb.PartyKey) (*pb.Outcome, error) {
	if err := convert.CheckKey("key.publicKey", k.GetPublicKey()); err != nil {
		return nil, err
	}
	change := lifecycle.AddKey
	if k.GetRevoke() {
		change = lifecycle.RevokeKey
	}
	next, r := change(o, actor, k.GetPartyGln(), k.GetPublicKey())
	if r.Refused() {
		return convert.Refused(r), nil
	}
	cur := o.party(next.GLN)
	o.putParty(&pb.Party{Gln: cur.GetGln(), Name: cur.GetName(), Role: cur.GetRole(), Country: cur.GetCountry(), PublicKeys: next.Keys,
		CompanyPrefixes: cur.GetCompanyPrefixes()})
	if !k.GetRevoke() {
		o.putPartyKey(lifecycle.KeyID(k.GetPublicKey()), next.GLN, ed25519.PublicKey(k.GetPublicKey()))
	}
	return applied(), nil
}

func (o *overlay) registerProduct(actor lifecycle.Party, p *pb.Product) (*pb.Outcome, error) {
	mfr, err := convert.CheckProduct(p, actor.GLN)
	if err != nil {
		return nil, err
	}
	if r := lifecycle.RegisterProduct(o, actor, p.GetGtin(), mfr); r.Refused() {
		return convert.Refused(r), nil
	}
	o.putProduct(&pb.Product{Gtin: p.GetGtin(), Name: p.GetName(), Form: p.GetForm(), Strength: p.GetStrength(),
		PackSize: p.GetPackSize(), NationalCode: p.GetNationalCode(), ManufacturerGln: mfr,
		SerialFormat: p.GetSerialFormat(), SerialLength: p.GetSerialLength()})
	return applied(), nil
}

func (o *overlay) registerBatch(actor lifecycle.Party, b *pb.Batch, recordTime time.Time) (*pb.Outcome, error) {
	if err := convert.CheckBatch(b, recordTime); err != nil {
		return nil, err
	}
	if r := lifecycle.RegisterBatch(o, actor, b.GetGtin(), b.GetLot()); r.Refused() {
		return convert.Refused(r), nil
	}
	o.putBatch(&pb.Batch{Gtin: b.GetGtin(), Lot: b.GetLot(), Expiry: b.GetExpiry(), ManufacturingDate: b.GetManufacturingDate()})
	return applied(), nil
}

// parseAlertID reads "<ledger index>-<n>".
func parseAlertID(id string) (alertRef, bool) {
	i, n, ok := strings.Cut(id, "-")
	if !ok {
		return alertRef{}, false
	}
	index, err1 := strconv.ParseUint(i, 10, 64)
	pos, err2 := strconv.ParseUint(n, 10, 32)
	return alertRef{index: index, n: uint32(pos)}, err1 == nil && err2 == nil
}

func (o *overlay) reviewAlert(actor lifecycle.Party, r *pb.AlertReview, index uint64, recordTime time.Time) (*pb.Outcome, error) {
	ref, ok := parseAlertID(r.GetAlertId())
	if !ok {
		return nil, convert.Invalid("alertReview.alertId", "want <ledger index>-<n>, got %q", r.GetAlertId())
	}
	if err := convert.CheckAlertReview(r); err != nil {
		return nil, err
	}
	if rf := lifecycle.ReviewAlert(o, actor.Role, r.GetAlertId()); rf.Refused() {
		return convert.Refused(rf), nil
	}
	next := cloneAlert(o.alert(ref))
	next.Status = r.GetStatus()
	next.Reviews = append(next.Reviews, &pb.AlertReviewRecord{PartyGln: actor.GLN, Status: r.GetStatus(),
		Comment: r.GetComment(), LedgerIndex: index, Time: timestamp(recordTime)})
	o.putAlert(ref, next)
	return applied(), nil
}

// changeToken issues or revokes a party's API token: the party itself or
// an admin. An issue may carry an expiry and revoke other tokens of the
// same party in the same change.
func (o *overlay) changeToken(actor lifecycle.Party, t *pb.TokenChange, who principal, index uint64, recordTime time.Time) (*pb.Outcome, error) {
	gln := t.GetPartyGln()
	if t.GetRevoke() {
		tid, err := convert.CheckTokenRevoke(t)
		if err != nil {
			return nil, err
		}
		if r := lifecycle.RevokeToken(o, actor, gln, tid); r.Refused() {
			return convert.Refused(r), nil
		}
		o.putToken(tokenRecord{gln: gln, id: tid, revoke: true, at: recordTime, index: index})
		return applied(), nil
	}
	ti, err := convert.CheckTokenIssue(t)
	if err != nil {
		return nil, err
	}
	if r := lifecycle.IssueToken(o, actor, gln, ti.ID, ti.Expires, recordTime, ti.Revoke); r.Refused() {
		return convert.Refused(r), nil
	}
	rec := issued(gln, ti.ID, ti.Hash, who, index, recordTime)
	rec.expires = ti.Expires
	o.putToken(rec)
	for _, id := range ti.Revoke {
		o.putToken(tokenRecord{gln: gln, id: id, revoke: true, at: recordTime, index: index})
	}
	return applied(), nil
}

var _ lifecycle.Registry = (*overlay)(nil)

// KeyRegistered implements lifecycle.Registry.
func (o *overlay) KeyRegistered(id [8]byte) bool {
	_, ok := o.partyKey(id)
	return ok
}

// Token implements lifecycle.Registry.
func (o *overlay) Token(gln string, id [8]byte) (valid, known bool) {
	if o.tokenValid(gln, id) {
		return true, true
	}
	return false, o.tokenKnown(gln, id)
}

// Alert implements lifecycle.Registry.
func (o *overlay) Alert(id string) (lifecycle.AlertStatus, bool) {
	ref, ok := parseAlertID(id)
	if !ok {
		return 0, false
	}
	a := o.alert(ref)
	if a == nil {
		return 0, false
	}
	return lifecycle.AlertStatus(a.GetStatus()), true
}
