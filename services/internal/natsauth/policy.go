package natsauth

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/subjects"
)

// Registry is what the decisions read: the node's state.
type Registry interface {
	// PartyKey returns the party a key ID is registered to.
	PartyKey(keyID [8]byte) (gln string, pub ed25519.PublicKey, err error)
	// Party returns a registered party.
	Party(gln string) (*pb.Party, error)
}

var _ Registry = (*state.Store)(nil)

// Limits bound what one party may do on NATS. Zero values mean the
// defaults below.
type Limits struct {
	// MaxConnections per party.
	MaxConnections int
	// MaxPayload is the largest message a party may publish, in bytes.
	MaxPayload int32
	// MaxSubscriptions per connection.
	MaxSubscriptions int
	// PublishRate is the most messages per second a party may publish,
	// averaged over a sweep interval; a party above it is disconnected and
	// refused for Penalty.
	PublishRate float64
	// Penalty is how long a party that exceeded its rate is refused.
	Penalty time.Duration
}

// Defaults of Limits: what one site (a warehouse with several scanners, a
// hospital pharmacy) needs, far below what one party could use to crowd
// the others out.
const (
	DefaultMaxConnections   = 32
	DefaultMaxPayload       = subjects.DefaultMaxMsgSize + 64<<10
	DefaultMaxSubscriptions = 256
	DefaultPublishRate      = 2000
	DefaultPenalty          = 30 * time.Second
)

// WithDefaults returns l with every zero limit set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxConnections <= 0 {
		l.MaxConnections = DefaultMaxConnections
	}
	if l.MaxPayload <= 0 {
		l.MaxPayload = DefaultMaxPayload
	}
	if l.MaxSubscriptions <= 0 {
		l.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if l.PublishRate <= 0 {
		l.PublishRate = DefaultPublishRate
	}
	if l.Penalty <= 0 {
		l.Penalty = DefaultPenalty
	}
	return l
}

// Grant is what a connection may do.
type Grant struct {
	// User names the connection in the server: "node", or
	// "<party GLN>/<key ID>".
	User string
	// Party is the party's GLN; empty for the node.
	Party string
	// KeyID is the party key it proved.
	KeyID string
	// Node is true for the ledger node's own connections.
	Node bool
	// Publish and Subscribe are the subjects allowed (NATS wildcards).
	Publish, Subscribe []string
}

// NodeUser is the user name of the node's own connections.
const NodeUser = "node"

// ErrRefused wraps every refusal; its text says why, for the log (a
// client is only told that authorization failed).
var ErrRefused = errors.New("natsauth: refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// decide returns the grant of a connection that presented user NKey
// nkey and signature sig (base64, as the NATS protocol carries it) over
// nonce; nodeNKeys are the node's own NKeys.
func decide(reg Registry, nodeNKeys []string, nkey, sig string, nonce []byte) (Grant, error) {
	if nkey == "" {
		return Grant{}, refuse("no NKey: anonymous, user/password and token connections are not accepted")
	}
	raw, err := nkeys.Decode(nkeys.PrefixByteUser, []byte(nkey))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return Grant{}, refuse("nkey %.12s…: not a user NKey", nkey)
	}
	if len(nonce) == 0 {
		return Grant{}, refuse("the server presented no nonce")
	}
	s, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		if s, err = base64.StdEncoding.DecodeString(sig); err != nil {
			return Grant{}, refuse("nkey %s: signature is not base64", nkey)
		}
	}
	if !ed25519.Verify(ed25519.PublicKey(raw), nonce, s) {
		return Grant{}, refuse("nkey %s: the nonce signature does not verify", nkey)
	}
	if slices.Contains(nodeNKeys, nkey) {
		return Grant{User: NodeUser, Node: true, Publish: []string{">"}, Subscribe: []string{">"}}, nil
	}
	if reg == nil {
		return Grant{}, refuse("nkey %s: only the node may connect here", nkey)
	}
	return partyGrant(reg, ed25519.PublicKey(raw))
}

// partyGrant returns the grant of the party pub is registered to, if the
// key and the party are still valid.
func partyGrant(reg Registry, pub ed25519.PublicKey) (Grant, error) {
	kid := envelope.KeyID(pub)
	var id [8]byte
	sum := sha256.Sum256(pub)
	copy(id[:], sum[:8])
	gln, regPub, err := reg.PartyKey(id)
	if errors.Is(err, state.ErrNotFound) {
		return Grant{}, refuse("key %s is not registered to any party", kid)
	}
	if err != nil {
		return Grant{}, fmt.Errorf("natsauth: registry: %w", err)
	}
	if !regPub.Equal(pub) {
		return Grant{}, refuse("key %s: registered key differs", kid)
	}
	party, err := reg.Party(gln)
	if errors.Is(err, state.ErrNotFound) {
		return Grant{}, refuse("key %s: party %s is not registered", kid, gln)
	}
	if err != nil {
		return Grant{}, fmt.Errorf("natsauth: registry: %w", err)
	}
	if !slices.ContainsFunc(party.GetPublicKeys(), func(k []byte) bool { return pub.Equal(ed25519.PublicKey(k)) }) {
		return Grant{}, refuse("key %s is no longer among the keys of party %s", kid, gln)
	}
	g := Grant{
		User: gln + "/" + kid, Party: gln, KeyID: kid,
		Publish: []string{subjects.ScanSubject(gln)},
		Subscribe: []string{
			subjects.ResultSubjects(gln), subjects.PartyAlertSubjects(gln),
			subjects.InboxPrefix(gln) + ".>", subjects.CheckpointSubject,
		},
	}
	switch r := lifecycle.Role(party.GetRole()); {
	case lifecycle.SeesAll(r):
		g.Subscribe = append(g.Subscribe, subjects.AlertSubjects)
	case r == lifecycle.RoleUnspecified:
		return Grant{}, refuse("party %s has no role", gln)
	}
	return g, nil
}

// NKey returns the NATS user NKey ("U…") of an Ed25519 public key: a
// party's registered key is its NATS credential.
func NKey(pub ed25519.PublicKey) (string, error) {
	b, err := nkeys.Encode(nkeys.PrefixByteUser, pub)
	if err != nil {
		return "", fmt.Errorf("natsauth: nkey: %w", err)
	}
	return string(b), nil
}

// Parties is a fixed Registry: the parties a server admits, by GLN, each
// with its keys. For a server with a known set of users, such as a test's.
type Parties map[string]*pb.Party

// PartyKey implements Registry.
func (p Parties) PartyKey(keyID [8]byte) (string, ed25519.PublicKey, error) {
	for gln, party := range p {
		for _, k := range party.GetPublicKeys() {
			if sum := sha256.Sum256(k); [8]byte(sum[:8]) == keyID {
				return gln, ed25519.PublicKey(k), nil
			}
		}
	}
	return "", nil, state.ErrNotFound
}

// Party implements Registry.
func (p Parties) Party(gln string) (*pb.Party, error) {
	if party, ok := p[gln]; ok {
		return party, nil
	}
	return nil, state.ErrNotFound
}
