package ingest

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/convert"
	"github.com/pedigree-project/pedigree/subjects"
)

// NodeSignerPrefix starts the signer of envelopes a node submits on behalf
// of an API caller: "node:<name>".
const NodeSignerPrefix = "node:"

// principal is who an envelope is from and how that was established.
type principal struct {
	method     pb.AuthMethod
	party      string // acting party GLN
	credential string // key ID or API token ID
}

// sigCheck is the outcome of an early, parallel signature check: the key
// that was tried and whether the signature verified with it (once
// pending is false).
type sigCheck struct {
	pub     ed25519.PublicKey
	ok      bool
	pending bool
}

// rejectError is a reason to send a message to the dead-letter stream.
type rejectError struct{ reason string }

func (e *rejectError) Error() string { return e.reason }

func reject(format string, args ...any) error {
	return &rejectError{reason: fmt.Sprintf(format, args...)}
}

// signingKey resolves the key that should have signed op.
func signingKey(o *overlay, op *envelope.Opened) (keyRecord, bool, error) {
	se := op.Signed
	id, ok := convert.ParseID(se.GetKeyId())
	if !ok {
		return keyRecord{}, false, reject("keyId: want 16 lowercase hex digits, got %q", se.GetKeyId())
	}
	if g := op.Envelope.GetGenesis(); g != nil {
		// The genesis names the key that signs it; authenticate then
		// checks that it is the key this node trusts for a genesis.
		pub := ed25519.PublicKey(g.GetNodeKey().GetPublicKey())
		if len(pub) != ed25519.PublicKeySize || envelope.KeyID(pub) != se.GetKeyId() {
			return keyRecord{}, true, reject("genesis: not signed by the node key it registers")
		}
		return keyRecord{owner: g.GetNodeKey().GetName(), pub: pub}, true, nil
	}
	if strings.HasPrefix(se.GetSigner(), NodeSignerPrefix) {
		k, _ := o.nodeKey(id)
		if r := lifecycle.MaySignAsNode(o, id); r.Refused() {
			return keyRecord{}, true, reject("signer %q: %s", clip(se.GetSigner(), 80), r.Reason)
		}
		return k, true, nil
	}
	k, found := o.partyKey(id)
	if !found {
		if o.party(se.GetSigner()) == nil {
			return keyRecord{}, false, reject("signer %q: unknown party", se.GetSigner())
		}
		return keyRecord{}, false, reject("signer %q: key %s is not registered for this party", se.GetSigner(), se.GetKeyId())
	}
	return k, false, nil
}

// ErrUntrustedGenesis reports a genesis, the first envelope of a ledger,
// signed by another key than the one the node trusts for it
// (Config.GenesisKey). The genesis goes to the dead-letter stream, and once
// its batch is committed the pipeline stops with this error (wrapped in an
// *UntrustedGenesisError), so that an operator learns of it before the
// node goes on: a node must neither start a ledger of its own beside a
// ledger another key started nor drop that ledger's entries unnoticed. A
// restart resumes after the refused genesis.
var ErrUntrustedGenesis = errors.New("ingest: genesis signed by an untrusted key")

// UntrustedGenesisError says which key signed a refused genesis and which
// one the node trusts.
type UntrustedGenesisError struct {
	// Seq is the genesis's stream sequence.
	Seq uint64
	// KeyID is the ID of the key that signed it, Name the node name the
	// genesis gives that key.
	KeyID, Name string
	// Want is the ID of the trusted genesis key.
	Want string
}

func (e *UntrustedGenesisError) Error() string {
	return fmt.Sprintf("genesis: signed by key %s (node %q), but the trusted genesis key is %s", e.KeyID, e.Name, e.Want)
}

// Unwrap makes the error match ErrUntrustedGenesis.
func (e *UntrustedGenesisError) Unwrap() error { return ErrUntrustedGenesis }

// authenticate checks op's signature and binds it to a party. A genesis
// must be signed by genesisKey.
func authenticate(o *overlay, op *envelope.Opened, subject string, early *sigCheck, ledgerEmpty bool, genesisKey ed25519.PublicKey) (principal, error) {
	se, env := op.Signed, op.Envelope
	key, node, err := signingKey(o, op)
	if err != nil {
		return principal{}, err
	}
	verified := false
	if early != nil && !early.pending && early.pub.Equal(key.pub) {
		verified = early.ok
	} else {
		verified = op.Verify(key.pub)
	}
	if !verified {
		return principal{}, reject("signature: does not verify with key %s of %q", se.GetKeyId(), se.GetSigner())
	}
	if g := env.GetGenesis(); g != nil {
		if !ledgerEmpty {
			return principal{}, reject("genesis: the ledger already has entries")
		}
		if !key.pub.Equal(genesisKey) {
			return principal{}, &UntrustedGenesisError{KeyID: se.GetKeyId(), Name: clip(g.GetNodeKey().GetName(), 64), Want: envelope.KeyID(genesisKey)}
		}
		if env.GetPartyGln() != g.GetAdmin().GetGln() {
			return principal{}, reject("genesis: partyGln must be the admin's GLN")
		}
		return principal{method: pb.AuthMethod_AUTH_METHOD_NODE, party: env.GetPartyGln(), credential: se.GetKeyId()}, nil
	}
	if node && env.GetApiTokenId() == "" {
		// The node acting on its own authority: only to issue a new token
		// to an admin party whose token file was lost.
		if env.GetToken() == nil || env.GetToken().GetRevoke() || env.GetToken().GetPartyGln() != env.GetPartyGln() ||
			o.party(env.GetPartyGln()).GetRole() != pb.Role_ROLE_ADMIN {
			return principal{}, reject("apiTokenId: required on node-signed envelopes other than an admin token reissue")
		}
		return principal{method: pb.AuthMethod_AUTH_METHOD_NODE, party: env.GetPartyGln(), credential: se.GetKeyId()}, nil
	}
	if node {
		tid, ok := convert.ParseID(env.GetApiTokenId())
		if !ok {
			return principal{}, reject("apiTokenId: a node-signed envelope names the caller's token ID (16 hex digits), got %q", env.GetApiTokenId())
		}
		if o.party(env.GetPartyGln()) == nil {
			return principal{}, reject("partyGln: %q is not a registered party", env.GetPartyGln())
		}
		if !o.tokenValid(env.GetPartyGln(), tid) {
			return principal{}, reject("apiTokenId: token %s of %s is unknown or revoked", env.GetApiTokenId(), env.GetPartyGln())
		}
		return principal{method: pb.AuthMethod_AUTH_METHOD_API_TOKEN, party: env.GetPartyGln(), credential: env.GetApiTokenId()}, nil
	}
	if key.owner != se.GetSigner() {
		return principal{}, reject("signer %q: key %s belongs to another party", se.GetSigner(), se.GetKeyId())
	}
	if !slices.ContainsFunc(o.party(key.owner).GetPublicKeys(), func(k []byte) bool { return key.pub.Equal(ed25519.PublicKey(k)) }) {
		return principal{}, reject("signer %q: key %s was revoked", se.GetSigner(), se.GetKeyId())
	}
	if env.GetPartyGln() != se.GetSigner() {
		return principal{}, reject("partyGln: %q differs from the signer %q", env.GetPartyGln(), se.GetSigner())
	}
	if env.GetApiTokenId() != "" {
		return principal{}, reject("apiTokenId: only node-signed envelopes carry one")
	}
	if want := subjects.ScanSubject(se.GetSigner()); subject != want {
		return principal{}, reject("subject: %q, but party %s publishes on %q", subject, se.GetSigner(), want)
	}
	return principal{method: pb.AuthMethod_AUTH_METHOD_PARTY_SIGNATURE, party: se.GetSigner(), credential: se.GetKeyId()}, nil
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
