package lifecycle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// The master-data rules: who may register parties, keys, tokens, products
// and batches and review alerts, and what must (not) exist already. Like the
// pack rules they are pure: they read a Registry and return a Refusal (the
// zero Refusal when the write may go ahead), and the caller makes the
// writes. The field checks (a GLN's check digit, a name's length) come
// before them, in the conversion from the wire format.

// MaxPartyKeys bounds the signing keys a party holds at once.
const MaxPartyKeys = 8

// Registry is what the master-data rules read: the pack rules' View and the
// credentials.
type Registry interface {
	View
	// KeyRegistered reports whether the key with that ID was ever
	// registered to a party (a revoked key stays registered: it is never
	// registered again).
	KeyRegistered(id [8]byte) bool
	// Token reports whether party gln holds an unrevoked API token with
	// that ID (valid), and whether it ever held one (known).
	Token(gln string, id [8]byte) (valid, known bool)
	// Alert returns the review status of the alert with that ID.
	Alert(id string) (AlertStatus, bool)
	// PrefixOverlap returns a registered GS1 Company Prefix that equals
	// prefix, that prefix starts with, or that starts with prefix (any one
	// when several do), with the party that holds it.
	PrefixOverlap(prefix string) (PrefixClaim, bool)
}

// KeyID is the ID of an Ed25519 public key: the first 8 bytes of its
// SHA-256.
func KeyID(pub []byte) [8]byte {
	sum := sha256.Sum256(pub)
	return [8]byte(sum[:8])
}

func keyName(pub []byte) string { id := KeyID(pub); return hex.EncodeToString(id[:]) }

// AlertStatus is where an alert's review stands. The numbers mirror
// pedigree.v1.AlertStatus.
type AlertStatus int32

// Alert statuses.
const (
	AlertStatusUnspecified            AlertStatus = 0
	AlertOpen                         AlertStatus = 1
	AlertInvestigating                AlertStatus = 2
	AlertClosedFalsePositive          AlertStatus = 3
	AlertClosedConfirmedFalsification AlertStatus = 4
)

// Closed reports whether the review of the alert has ended.
func (s AlertStatus) Closed() bool {
	return s == AlertClosedFalsePositive || s == AlertClosedConfirmedFalsification
}

// String returns the proto name without prefix, e.g. "OPEN".
func (s AlertStatus) String() string {
	switch s {
	case AlertStatusUnspecified:
		return "UNSPECIFIED"
	case AlertOpen:
		return "OPEN"
	case AlertInvestigating:
		return "INVESTIGATING"
	case AlertClosedFalsePositive:
		return "CLOSED_FALSE_POSITIVE"
	case AlertClosedConfirmedFalsification:
		return "CLOSED_CONFIRMED_FALSIFICATION"
	}
	return "AlertStatus(" + strconv.Itoa(int(s)) + ")"
}

// NewParty refuses a party that exists already or names a key registered
// before; it does not ask who registers it (the genesis registers the first
// admin on the node's authority).
func NewParty(v Registry, p Party) Refusal {
	if _, ok := v.Party(p.GLN); ok {
		return refusal(OutcomeAlreadyExists, "party "+p.GLN+" is already registered")
	}
	for _, k := range p.Keys {
		if v.KeyRegistered(KeyID(k)) {
			return refusal(OutcomeAlreadyExists, "public key "+keyName(k)+" is already registered")
		}
	}
	return newPrefixes(v, p)
}

// RegisterParty decides whether actor may register party p.
func RegisterParty(v Registry, actor Role, p Party) Refusal {
	if r := MayRegisterParty(actor, p.Role); r.Refused() {
		return r
	}
	return NewParty(v, p)
}

// AddKey decides whether actor may add key pub to party owner's signing
// keys, and returns the owner with the key added.
func AddKey(v Registry, actor Party, owner string, pub []byte) (Party, Refusal) {
	target, r := keyOwner(v, actor, owner)
	if r.Refused() {
		return target, r
	}
	if len(target.Keys) >= MaxPartyKeys {
		return target, refusal(OutcomeConflict, "party "+owner+" already has "+strconv.Itoa(MaxPartyKeys)+" keys")
	}
	if v.KeyRegistered(KeyID(pub)) {
		return target, refusal(OutcomeAlreadyExists, "public key "+keyName(pub)+" is already registered")
	}
	target.Keys = append(append([][]byte(nil), target.Keys...), pub)
	return target, Refusal{}
}

// RevokeKey decides whether actor may withdraw key pub from party owner's
// signing keys, and returns the owner without it. The key stays
// registered, so that it is never registered again.
func RevokeKey(v Registry, actor Party, owner string, pub []byte) (Party, Refusal) {
	target, r := keyOwner(v, actor, owner)
	if r.Refused() {
		return target, r
	}
	keys := make([][]byte, 0, len(target.Keys))
	for _, have := range target.Keys {
		if !bytes.Equal(have, pub) {
			keys = append(keys, have)
		}
	}
	if len(keys) == len(target.Keys) {
		return target, refusal(OutcomeNotFound, "key "+keyName(pub)+" is not a current key of party "+owner)
	}
	target.Keys = keys
	return target, Refusal{}
}

func keyOwner(v Registry, actor Party, owner string) (Party, Refusal) {
	target, ok := v.Party(owner)
	if !ok {
		return target, refusal(OutcomeNotFound, "key.partyGln: party "+strconv.Quote(owner)+" is not registered")
	}
	return target, MayManageKeys(actor, owner)
}

// RegisterProduct decides whether actor may register the product with
// that GTIN for the manufacturer with GLN manufacturer.
func RegisterProduct(v Registry, actor Party, gtin, manufacturer string) Refusal {
	owner, ok := v.Party(manufacturer)
	switch {
	case !ok:
		return refusal(OutcomeNotFound, "manufacturer "+manufacturer+" is not registered")
	case owner.Role != RoleManufacturer && owner.Role != RoleParallelImporter:
		return refusal(OutcomeInvalid, "party "+manufacturer+" is "+roleNoun(owner.Role)+", not a manufacturer")
	}
	if r := MayRegisterProduct(actor, manufacturer); r.Refused() {
		return r
	}
	if _, ok := v.Product(gtin); ok {
		return refusal(OutcomeAlreadyExists, "product "+gtin+" is already registered")
	}
	return productPrefix(v, owner, gtin)
}

// RegisterBatch decides whether actor may register the batch lot of the
// product with that GTIN.
func RegisterBatch(v Registry, actor Party, gtin, lot string) Refusal {
	prod, ok := v.Product(gtin)
	if !ok {
		return refusal(OutcomeNotFound, "product "+gtin+" is not registered")
	}
	if r := MayRegisterBatch(actor, prod.Manufacturer); r.Refused() {
		return r
	}
	if _, ok := v.Batch(gtin, lot); ok {
		return refusal(OutcomeAlreadyExists, "batch "+lot+" of product "+gtin+" is already registered")
	}
	return Refusal{}
}

// IssueToken decides whether actor may issue party owner an API token with
// ID id, expiring at expires (zero: never) and revoking the tokens revoke
// with it, at record time now.
func IssueToken(v Registry, actor Party, owner string, id [8]byte, expires, now time.Time, revoke [][8]byte) Refusal {
	if r := tokenOwner(v, actor, owner); r.Refused() {
		return r
	}
	if !expires.IsZero() && !expires.After(now) {
		return refusal(OutcomeInvalid, "token.expireTime: "+expires.Format(time.RFC3339Nano)+" is not after the record time "+now.Format(time.RFC3339Nano))
	}
	if _, known := v.Token(owner, id); known {
		return refusal(OutcomeAlreadyExists, "token "+hex.EncodeToString(id[:])+" of "+owner+" already exists")
	}
	for _, r := range revoke {
		if valid, _ := v.Token(owner, r); !valid {
			return refusal(OutcomeNotFound, "token "+hex.EncodeToString(r[:])+" of "+owner+" is unknown or already revoked")
		}
	}
	return Refusal{}
}

// RevokeToken decides whether actor may revoke party owner's API token id.
func RevokeToken(v Registry, actor Party, owner string, id [8]byte) Refusal {
	if r := tokenOwner(v, actor, owner); r.Refused() {
		return r
	}
	if valid, _ := v.Token(owner, id); !valid {
		return refusal(OutcomeNotFound, "token "+hex.EncodeToString(id[:])+" of "+owner+" is unknown or already revoked")
	}
	return Refusal{}
}

func tokenOwner(v Registry, actor Party, owner string) Refusal {
	if _, ok := v.Party(owner); !ok {
		return refusal(OutcomeNotFound, "token.partyGln: party "+strconv.Quote(owner)+" is not registered")
	}
	return MayManageTokens(actor, owner)
}

// ReviewAlert decides whether actor may review the alert with that ID.
func ReviewAlert(v Registry, actor Role, id string) Refusal {
	if r := MayReviewAlert(actor); r.Refused() {
		return r
	}
	s, ok := v.Alert(id)
	switch {
	case !ok:
		return refusal(OutcomeNotFound, "alert "+id+" does not exist")
	case s.Closed():
		return refusal(OutcomeConflict, "alert "+id+" is closed")
	}
	return Refusal{}
}
