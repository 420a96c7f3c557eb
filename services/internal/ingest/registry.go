package ingest

import (
	"crypto/ed25519"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/gs1"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// Master data travels on the stream like scans, so that the ledger records
// it and every node applies it in the same order. Field errors make the
// message a dead letter; decisions that depend on the state (who may do
// what, what already exists) are ledger outcomes.

const maxPartyKeys = 8

func refused(format string, args ...any) *pb.Outcome {
	return &pb.Outcome{Applied: false, Reason: fmt.Sprintf(format, args...)}
}

func applied() *pb.Outcome { return &pb.Outcome{Applied: true, Affected: 1} }

func isAuthority(r pb.Role) bool { return r == pb.Role_ROLE_ADMIN || r == pb.Role_ROLE_REGULATOR }

func checkText(field, s string, min, max int) error {
	if n := utf8.RuneCountInString(s); n < min || n > max || !utf8.ValidString(s) {
		return invalid(field, "%d–%d characters of valid UTF-8, got %d", min, max, n)
	}
	return nil
}

func checkParty(field string, p *pb.Party) error {
	if p == nil {
		return invalid(field, "required")
	}
	if !gs1.ValidGLN(p.GetGln()) {
		return invalid(field+".gln", "must be a GLN: 13 digits with a valid GS1 check digit, got %q", p.GetGln())
	}
	if err := checkText(field+".name", p.GetName(), 1, 200); err != nil {
		return err
	}
	if _, ok := pb.Role_name[int32(p.GetRole())]; !ok || p.GetRole() == pb.Role_ROLE_UNSPECIFIED {
		return invalid(field+".role", "required: manufacturer, wholesaler, pharmacy, hospital pharmacy, dispensing doctor, parallel importer, regulator or admin")
	}
	if c := p.GetCountry(); c != "" && (len(c) != 2 || strings.ToUpper(c) != c || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z') {
		return invalid(field+".country", "ISO 3166-1 alpha-2 code in capitals, got %q", c)
	}
	if len(p.GetPublicKeys()) > maxPartyKeys {
		return invalid(field+".publicKeys", "at most %d keys", maxPartyKeys)
	}
	for i, k := range p.GetPublicKeys() {
		if len(k) != ed25519.PublicKeySize {
			return invalid(fmt.Sprintf("%s.publicKeys[%d]", field, i), "a raw Ed25519 public key is 32 bytes, got %d", len(k))
		}
	}
	return nil
}

func checkToken(field string, id string, hash []byte) ([8]byte, [32]byte, error) {
	var h [32]byte
	tid, ok := parseKeyID(id)
	if !ok {
		return tid, h, invalid(field+"Id", "16 lowercase hex digits, got %q", id)
	}
	if len(hash) != 32 {
		return tid, h, invalid(field+"Hash", "SHA-256, 32 bytes, got %d", len(hash))
	}
	copy(h[:], hash)
	return tid, h, nil
}

// registerParty adds a party with its keys and first token.
func (o *overlay) registerParty(p *pb.Party, tok tokenRecord) *pb.Outcome {
	if o.party(p.GetGln()) != nil {
		return refused("party %s is already registered", p.GetGln())
	}
	for _, k := range p.GetPublicKeys() {
		if _, taken := o.partyKey(keyID(k)); taken {
			return refused("public key %s is already registered", envelope.KeyID(k))
		}
	}
	o.putParty(p)
	for _, k := range p.GetPublicKeys() {
		o.putPartyKey(keyID(k), p.GetGln(), ed25519.PublicKey(k))
	}
	o.putToken(tok)
	return applied()
}

func keyID(pub []byte) [8]byte {
	id, _ := parseKeyID(envelope.KeyID(pub))
	return id
}

// applyMasterData applies a non-scan envelope. It returns a field error for
// malformed content.
func (o *overlay) applyMasterData(env *pb.Envelope, who principal, index uint64, recordTime time.Time) (*pb.Outcome, error) {
	actor := o.party(who.party)
	switch body := env.GetBody().(type) {
	case *pb.Envelope_Genesis:
		g := body.Genesis
		if err := checkParty("genesis.admin", g.GetAdmin()); err != nil {
			return nil, err
		}
		if g.GetAdmin().GetRole() != pb.Role_ROLE_ADMIN {
			return nil, invalid("genesis.admin.role", "must be ROLE_ADMIN")
		}
		tid, h, err := checkToken("genesis.token", g.GetTokenId(), g.GetTokenHash())
		if err != nil {
			return nil, err
		}
		if err := checkText("genesis.nodeKey.name", g.GetNodeKey().GetName(), 1, 64); err != nil {
			return nil, err
		}
		out := o.registerParty(g.GetAdmin(), issued(g.GetAdmin().GetGln(), tid, h, who, index, recordTime))
		if out.GetApplied() {
			pub := g.GetNodeKey().GetPublicKey()
			o.putNodeKey(keyID(pub), g.GetNodeKey().GetName(), ed25519.PublicKey(pub))
		}
		return out, nil

	case *pb.Envelope_NodeKey:
		k := body.NodeKey
		if err := checkText("nodeKey.name", k.GetName(), 1, 64); err != nil {
			return nil, err
		}
		if len(k.GetPublicKey()) != ed25519.PublicKeySize {
			return nil, invalid("nodeKey.publicKey", "a raw Ed25519 public key is 32 bytes, got %d", len(k.GetPublicKey()))
		}
		if actor.GetRole() != pb.Role_ROLE_ADMIN {
			return refused("only an admin may trust a node key"), nil
		}
		o.putNodeKey(keyID(k.GetPublicKey()), k.GetName(), ed25519.PublicKey(k.GetPublicKey()))
		return applied(), nil

	case *pb.Envelope_Party:
		if err := checkParty("party.party", body.Party.GetParty()); err != nil {
			return nil, err
		}
		tid, h, err := checkToken("party.token", body.Party.GetTokenId(), body.Party.GetTokenHash())
		if err != nil {
			return nil, err
		}
		if !isAuthority(actor.GetRole()) {
			return refused("only an admin or a regulator may register parties"), nil
		}
		if body.Party.GetParty().GetRole() == pb.Role_ROLE_ADMIN && actor.GetRole() != pb.Role_ROLE_ADMIN {
			return refused("only an admin may register another admin"), nil
		}
		return o.registerParty(body.Party.GetParty(), issued(body.Party.GetParty().GetGln(), tid, h, who, index, recordTime)), nil

	case *pb.Envelope_Product:
		return o.registerProduct(actor, body.Product)

	case *pb.Envelope_Batch:
		return o.registerBatch(actor, body.Batch, recordTime)

	case *pb.Envelope_Token:
		return o.changeToken(actor, body.Token, who, index, recordTime)

	case *pb.Envelope_Key:
		k := body.Key
		if len(k.GetPublicKey()) != ed25519.PublicKeySize {
			return nil, invalid("key.publicKey", "a raw Ed25519 public key is 32 bytes, got %d", len(k.GetPublicKey()))
		}
		target := o.party(k.GetPartyGln())
		if target == nil {
			return refused("key.partyGln: party %q is not registered", k.GetPartyGln()), nil
		}
		if actor.GetGln() != target.GetGln() && actor.GetRole() != pb.Role_ROLE_ADMIN {
			return refused("a party registers its own keys; an admin registers anyone's"), nil
		}
		if k.GetRevoke() {
			return revokeKey(o, target, k), nil
		}
		if len(target.GetPublicKeys()) >= maxPartyKeys {
			return refused("party %s already has %d keys", target.GetGln(), maxPartyKeys), nil
		}
		if _, taken := o.partyKey(keyID(k.GetPublicKey())); taken {
			return refused("public key %s is already registered", envelope.KeyID(k.GetPublicKey())), nil
		}
		next := &pb.Party{Gln: target.GetGln(), Name: target.GetName(), Role: target.GetRole(), Country: target.GetCountry(),
			PublicKeys: append(append([][]byte(nil), target.GetPublicKeys()...), k.GetPublicKey())}
		o.putParty(next)
		o.putPartyKey(keyID(k.GetPublicKey()), target.GetGln(), ed25519.PublicKey(k.GetPublicKey()))
		return applied(), nil

	case *pb.Envelope_AlertReview:
		return o.reviewAlert(actor, body.AlertReview, index, recordTime)
	}
	return nil, invalid("envelope.body", "empty")
}

func (o *overlay) registerProduct(actor *pb.Party, p *pb.Product) (*pb.Outcome, error) {
	if p == nil {
		return nil, invalid("product", "required")
	}
	if err := checkGTIN("product.gtin", p.GetGtin()); err != nil {
		return nil, err
	}
	if err := checkText("product.name", p.GetName(), 1, 200); err != nil {
		return nil, err
	}
	if err := checkText("product.form", p.GetForm(), 0, 100); err != nil {
		return nil, err
	}
	if err := checkText("product.strength", p.GetStrength(), 0, 100); err != nil {
		return nil, err
	}
	if p.GetPackSize() > 100000 {
		return nil, invalid("product.packSize", "at most 100,000, got %d", p.GetPackSize())
	}
	if n := p.GetNationalCode(); len(n) > 20 || (n != "" && !gs1.ValidCSet82(n)) {
		return nil, invalid("product.nationalCode", "at most 20 characters of GS1 character set 82")
	}
	mfr := p.GetManufacturerGln()
	if mfr == "" {
		mfr = actor.GetGln()
	}
	if !gs1.ValidGLN(mfr) {
		return nil, invalid("product.manufacturerGln", "must be a GLN: 13 digits with a valid GS1 check digit, got %q", mfr)
	}
	owner := o.party(mfr)
	switch {
	case owner == nil:
		return refused("manufacturer %s is not registered", mfr), nil
	case owner.GetRole() != pb.Role_ROLE_MANUFACTURER && owner.GetRole() != pb.Role_ROLE_PARALLEL_IMPORTER:
		return refused("party %s is a %s, not a manufacturer", mfr, roleWord(owner.GetRole())), nil
	case actor.GetRole() != pb.Role_ROLE_ADMIN && actor.GetGln() != mfr:
		return refused("a manufacturer registers its own products only (caller %s, manufacturer %s)", actor.GetGln(), mfr), nil
	case o.product(p.GetGtin()) != nil:
		return refused("product %s is already registered", p.GetGtin()), nil
	}
	rec := &pb.Product{Gtin: p.GetGtin(), Name: p.GetName(), Form: p.GetForm(), Strength: p.GetStrength(),
		PackSize: p.GetPackSize(), NationalCode: p.GetNationalCode(), ManufacturerGln: mfr}
	o.putProduct(rec)
	return applied(), nil
}

func (o *overlay) registerBatch(actor *pb.Party, b *pb.Batch, recordTime time.Time) (*pb.Outcome, error) {
	if b == nil {
		return nil, invalid("batch", "required")
	}
	if err := checkGTIN("batch.gtin", b.GetGtin()); err != nil {
		return nil, err
	}
	if err := checkLot("batch.lot", b.GetLot()); err != nil {
		return nil, err
	}
	if err := checkExpiry("batch.expiry", b.GetExpiry(), recordTime); err != nil {
		return nil, err
	}
	if d := b.GetManufacturingDate(); d != "" {
		if err := checkExpiry("batch.manufacturingDate", d, recordTime); err != nil {
			return nil, err
		}
	}
	prod := o.product(b.GetGtin())
	switch {
	case prod == nil:
		return refused("product %s is not registered", b.GetGtin()), nil
	case actor.GetRole() != pb.Role_ROLE_ADMIN && actor.GetGln() != prod.GetManufacturerGln():
		return refused("only the product's manufacturer (%s) registers its batches", prod.GetManufacturerGln()), nil
	case o.batchRecord(b.GetGtin(), b.GetLot()) != nil:
		return refused("batch %s of product %s is already registered", b.GetLot(), b.GetGtin()), nil
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

func (o *overlay) reviewAlert(actor *pb.Party, r *pb.AlertReview, index uint64, recordTime time.Time) (*pb.Outcome, error) {
	ref, ok := parseAlertID(r.GetAlertId())
	if !ok {
		return nil, invalid("alertReview.alertId", "want <ledger index>-<n>, got %q", r.GetAlertId())
	}
	switch r.GetStatus() {
	case pb.AlertStatus_ALERT_STATUS_INVESTIGATING, pb.AlertStatus_ALERT_STATUS_CLOSED_FALSE_POSITIVE,
		pb.AlertStatus_ALERT_STATUS_CLOSED_CONFIRMED_FALSIFICATION:
	default:
		return nil, invalid("alertReview.status", "must be INVESTIGATING, CLOSED_FALSE_POSITIVE or CLOSED_CONFIRMED_FALSIFICATION")
	}
	if err := checkText("alertReview.comment", r.GetComment(), 0, 2000); err != nil {
		return nil, err
	}
	if !isAuthority(actor.GetRole()) {
		return refused("only a regulator or an admin reviews alerts"), nil
	}
	a := o.alert(ref)
	if a == nil {
		return refused("alert %s does not exist", r.GetAlertId()), nil
	}
	switch a.GetStatus() {
	case pb.AlertStatus_ALERT_STATUS_CLOSED_FALSE_POSITIVE, pb.AlertStatus_ALERT_STATUS_CLOSED_CONFIRMED_FALSIFICATION:
		return refused("alert %s is closed", r.GetAlertId()), nil
	}
	next := cloneAlert(a)
	next.Status = r.GetStatus()
	next.Reviews = append(next.Reviews, &pb.AlertReviewRecord{PartyGln: actor.GetGln(), Status: r.GetStatus(),
		Comment: r.GetComment(), LedgerIndex: index, Time: timestamp(recordTime)})
	o.putAlert(ref, next)
	return applied(), nil
}

func roleWord(r pb.Role) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(r.String(), "ROLE_"), "_", " "))
}

// revokeKey withdraws one of target's keys: it leaves the party's key list,
// so envelopes it signs are refused and its NATS connections closed, and
// stays in the key table, so it is never registered again.
func revokeKey(o *overlay, target *pb.Party, k *pb.PartyKey) *pb.Outcome {
	pub := ed25519.PublicKey(k.GetPublicKey())
	keys := make([][]byte, 0, len(target.GetPublicKeys()))
	for _, have := range target.GetPublicKeys() {
		if !pub.Equal(ed25519.PublicKey(have)) {
			keys = append(keys, have)
		}
	}
	if len(keys) == len(target.GetPublicKeys()) {
		return refused("key %s is not a current key of party %s", envelope.KeyID(pub), target.GetGln())
	}
	o.putParty(&pb.Party{Gln: target.GetGln(), Name: target.GetName(), Role: target.GetRole(), Country: target.GetCountry(), PublicKeys: keys})
	return applied()
}
