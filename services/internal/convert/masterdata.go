package convert

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pedigree-project/pedigree/gs1"
	"github.com/pedigree-project/pedigree/gs1/epc"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// MaxRevokedWithIssue bounds the tokens one token issue revokes with it.
const MaxRevokedWithIssue = 16

// ParseID reads a key or token ID: 16 hex digits.
func ParseID(s string) ([8]byte, bool) {
	var id [8]byte
	if len(s) != 16 {
		return id, false
	}
	_, err := hex.Decode(id[:], []byte(s))
	return id, err == nil
}

// Party is the rules' view of a party record.
func Party(p *pb.Party) lifecycle.Party {
	return lifecycle.Party{GLN: p.GetGln(), Role: lifecycle.Role(p.GetRole()), Keys: p.GetPublicKeys(), Prefixes: p.GetCompanyPrefixes()}
}

// Product is the rules' view of a product record.
func Product(p *pb.Product) lifecycle.Product {
	return lifecycle.Product{GTIN: p.GetGtin(), Manufacturer: p.GetManufacturerGln(),
		SerialFormat: lifecycle.SerialFormat(p.GetSerialFormat()), SerialLength: p.GetSerialLength()}
}

// Batch is the rules' view of a batch record.
func Batch(b *pb.Batch) lifecycle.Batch {
	return lifecycle.Batch{GTIN: b.GetGtin(), Lot: b.GetLot(), Expiry: b.GetExpiry(), Recalled: b.GetRecalled(), Withdrawn: b.GetWithdrawn(),
		Commissioned: b.GetCommissioned()}
}

// CheckText checks that s is min–max characters of valid UTF-8.
func CheckText(field, s string, min, max int) error {
	if n := utf8.RuneCountInString(s); n < min || n > max || !utf8.ValidString(s) {
		return Invalid(field, "%d–%d characters of valid UTF-8, got %d", min, max, n)
	}
	return nil
}

// CheckParty checks the fields of a party record.
func CheckParty(field string, p *pb.Party) error {
	if p == nil {
		return Invalid(field, "required")
	}
	if !gs1.ValidGLN(p.GetGln()) {
		return Invalid(field+".gln", "must be a GLN: 13 digits with a valid GS1 check digit, got %q", p.GetGln())
	}
	if err := CheckText(field+".name", p.GetName(), 1, 200); err != nil {
		return err
	}
	if _, ok := pb.Role_name[int32(p.GetRole())]; !ok || p.GetRole() == pb.Role_ROLE_UNSPECIFIED {
		return Invalid(field+".role", "required: manufacturer, wholesaler, pharmacy, hospital pharmacy, dispensing doctor, parallel importer, regulator or admin")
	}
	if c := p.GetCountry(); c != "" && (len(c) != 2 || strings.ToUpper(c) != c || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z') {
		return Invalid(field+".country", "ISO 3166-1 alpha-2 code in capitals, got %q", c)
	}
	if len(p.GetPublicKeys()) > lifecycle.MaxPartyKeys {
		return Invalid(field+".publicKeys", "at most %d keys", lifecycle.MaxPartyKeys)
	}
	for i, k := range p.GetPublicKeys() {
		if err := CheckKey(fmt.Sprintf("%s.publicKeys[%d]", field, i), k); err != nil {
			return err
		}
	}
	if len(p.GetCompanyPrefixes()) > lifecycle.MaxPartyPrefixes {
		return Invalid(field+".companyPrefixes", "at most %d company prefixes", lifecycle.MaxPartyPrefixes)
	}
	for i, prefix := range p.GetCompanyPrefixes() {
		if err := CheckPrefix(fmt.Sprintf("%s.companyPrefixes[%d]", field, i), prefix); err != nil {
			return err
		}
	}
	return nil
}

// CheckPrefix checks a GS1 Company Prefix: 4 to 12 digits.
func CheckPrefix(field, prefix string) error {
	if err := epc.ValidPrefix(prefix); err != nil {
		return Invalid(field, "a GS1 Company Prefix is 4 to 12 digits, got %q", prefix)
	}
	return nil
}

// CheckKey checks a raw Ed25519 public key.
func CheckKey(field string, k []byte) error {
	if len(k) != ed25519.PublicKeySize {
		return Invalid(field, "a raw Ed25519 public key is 32 bytes, got %d", len(k))
	}
	return nil
}

// CheckToken checks a token's ID and hash; field is the prefix of both
// ("party.token": "party.tokenId", "party.tokenHash").
func CheckToken(field string, id string, hash []byte) ([8]byte, [32]byte, error) {
	var h [32]byte
	tid, ok := ParseID(id)
	if !ok {
		return tid, h, Invalid(field+"Id", "16 lowercase hex digits, got %q", id)
	}
	if len(hash) != 32 {
		return tid, h, Invalid(field+"Hash", "SHA-256, 32 bytes, got %d", len(hash))
	}
	copy(h[:], hash)
	return tid, h, nil
}

// CheckProduct checks a product registration from actor and returns the
// manufacturer's GLN it names (the actor's when it names none).
func CheckProduct(p *pb.Product, actor string) (string, error) {
	if p == nil {
		return "", Invalid("product", "required")
	}
	if err := CheckGTIN("product.gtin", p.GetGtin()); err != nil {
		return "", err
	}
	if err := CheckText("product.name", p.GetName(), 1, 200); err != nil {
		return "", err
	}
	if err := CheckText("product.form", p.GetForm(), 0, 100); err != nil {
		return "", err
	}
	if err := CheckText("product.strength", p.GetStrength(), 0, 100); err != nil {
		return "", err
	}
	if p.GetPackSize() > 100000 {
		return "", Invalid("product.packSize", "at most 100,000, got %d", p.GetPackSize())
	}
	if n := p.GetNationalCode(); len(n) > 20 || (n != "" && !gs1.ValidCSet82(n)) {
		return "", Invalid("product.nationalCode", "at most 20 characters of GS1 character set 82")
	}
	if err := lifecycle.CheckSerialFormat(lifecycle.SerialFormat(p.GetSerialFormat()), p.GetSerialLength()); err != nil {
		field := "product.serialLength"
		if f := p.GetSerialFormat(); f < 0 || f > pb.SerialFormat_SERIAL_FORMAT_ALPHANUMERIC {
			field = "product.serialFormat"
		}
		return "", Invalid(field, "%s", err)
	}
	mfr := p.GetManufacturerGln()
	if mfr == "" {
		mfr = actor
	}
	if !gs1.ValidGLN(mfr) {
		return "", Invalid("product.manufacturerGln", "must be a GLN: 13 digits with a valid GS1 check digit, got %q", mfr)
	}
	return mfr, nil
}

// CheckBatch checks a batch registration recorded at recordTime.
func CheckBatch(b *pb.Batch, recordTime time.Time) error {
	if b == nil {
		return Invalid("batch", "required")
	}
	if err := CheckGTIN("batch.gtin", b.GetGtin()); err != nil {
		return err
	}
	if err := CheckLot("batch.lot", b.GetLot()); err != nil {
		return err
	}
	if err := CheckExpiry("batch.expiry", b.GetExpiry(), recordTime); err != nil {
		return err
	}
	if d := b.GetManufacturingDate(); d != "" {
		if err := CheckExpiry("batch.manufacturingDate", d, recordTime); err != nil {
			return err
		}
	}
	return nil
}

// CheckAlertReview checks an alert review.
func CheckAlertReview(r *pb.AlertReview) error {
	switch r.GetStatus() {
	case pb.AlertStatus_ALERT_STATUS_INVESTIGATING, pb.AlertStatus_ALERT_STATUS_CLOSED_FALSE_POSITIVE,
		pb.AlertStatus_ALERT_STATUS_CLOSED_CONFIRMED_FALSIFICATION:
	default:
		return Invalid("alertReview.status", "must be INVESTIGATING, CLOSED_FALSE_POSITIVE or CLOSED_CONFIRMED_FALSIFICATION")
	}
	return CheckText("alertReview.comment", r.GetComment(), 0, 2000)
}

// TokenIssue is a checked token issue.
type TokenIssue struct {
	ID      [8]byte
	Hash    [32]byte
	Expires time.Time // zero: never; else truncated to the millisecond
	Revoke  [][8]byte // the party's tokens revoked with the issue
}

// CheckTokenIssue checks a token change that issues a token.
func CheckTokenIssue(t *pb.TokenChange) (TokenIssue, error) {
	var out TokenIssue
	var err error
	if out.ID, out.Hash, err = CheckToken("token.token", t.GetTokenId(), t.GetTokenHash()); err != nil {
		return out, err
	}
	if e := t.GetExpireTime(); e != nil {
		if err := e.CheckValid(); err != nil {
			return out, Invalid("token.expireTime", "a valid timestamp (years 1–9999, nanoseconds below 10⁹)")
		}
		out.Expires = e.AsTime().Truncate(time.Millisecond)
	}
	ids := t.GetRevokeTokenIds()
	if len(ids) > MaxRevokedWithIssue {
		return out, Invalid("token.revokeTokenIds", "at most %d, got %d", MaxRevokedWithIssue, len(ids))
	}
	out.Revoke = make([][8]byte, 0, len(ids))
	for i, s := range ids {
		id, ok := ParseID(s)
		if !ok {
			return out, Invalid(fmt.Sprintf("token.revokeTokenIds[%d]", i), "16 lowercase hex digits, got %q", s)
		}
		if id == out.ID || slices.Contains(out.Revoke, id) {
			return out, Invalid(fmt.Sprintf("token.revokeTokenIds[%d]", i), "%s is named twice", s)
		}
		out.Revoke = append(out.Revoke, id)
	}
	return out, nil
}

// CheckTokenRevoke checks a token change that revokes a token and returns
// the token's ID.
func CheckTokenRevoke(t *pb.TokenChange) ([8]byte, error) {
	if t.GetExpireTime() != nil || len(t.GetRevokeTokenIds()) > 0 {
		return [8]byte{}, Invalid("token", "a revocation carries neither expireTime nor revokeTokenIds")
	}
	tid, ok := ParseID(t.GetTokenId())
	if !ok {
		return tid, Invalid("token.tokenId", "16 lowercase hex digits, got %q", t.GetTokenId())
	}
	return tid, nil
}
