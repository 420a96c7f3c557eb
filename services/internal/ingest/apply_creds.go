package ingest

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// Credentials and alerts written by the batch, overlaid like the rest of the
// state so that a key registered early in a batch signs messages later in
// the same batch.

type keyRecord struct {
	owner string // party GLN, or node name
	pub   ed25519.PublicKey
}

type tokenRecord struct {
	gln     string
	id      [8]byte
	hash    [32]byte
	revoke  bool
	expires time.Time // issue: zero when it never expires
	at      time.Time // record time of the entry that issued or revoked it
	index   uint64    // ledger index of that entry
	nodeKey string    // issue: key ID of the node that issued it on its own authority
}

type alertRef struct {
	index uint64
	n     uint32
}

type credOverlay struct {
	partyKeys  map[[8]byte]keyRecord
	nodeKeys   map[[8]byte]keyRecord
	keyOrder   [][8]byte
	nodeOrder  [][8]byte
	tokens     []tokenRecord
	alerts     map[alertRef]*pb.Alert
	alertOrder []alertRef
	// prefixes holds the table 0x21 records the batch wrote, by digits;
	// prefixOrder the prefixes registered, in order (apply_prefixes.go).
	prefixes    map[string]state.PrefixRecord
	prefixOrder []state.PrefixRecord
}

func (o *overlay) creds() *credOverlay {
	if o.cred == nil {
		o.cred = &credOverlay{partyKeys: map[[8]byte]keyRecord{}, nodeKeys: map[[8]byte]keyRecord{}, alerts: map[alertRef]*pb.Alert{},
			prefixes: map[string]state.PrefixRecord{}}
	}
	return o.cred
}

func isNotFound(err error) bool { return errors.Is(err, state.ErrNotFound) }

func (o *overlay) partyKey(id [8]byte) (keyRecord, bool) {
	return o.key(false, id)
}

func (o *overlay) nodeKey(id [8]byte) (keyRecord, bool) {
	return o.key(true, id)
}

// key resolves a party key (node false) or a node key (node true): the
// batch's own, the previous batch's, then the committed ones.
func (o *overlay) key(node bool, id [8]byte) (keyRecord, bool) {
	if k, ok := o.cred.key(node, id); ok {
		return k, true
	}
	k, ok, err := o.committedKey(node, id)
	if err != nil {
		o.fail(err)
	}
	return k, ok
}

// committedKey resolves a key as of the previous batch, without the
// batch's own writes: it is safe to call from several goroutines while
// nothing writes the overlay.
func (o *overlay) committedKey(node bool, id [8]byte) (keyRecord, bool, error) {
	if o.prev != nil {
		if k, ok := o.prev.cred.key(node, id); ok {
			return k, true, nil
		}
	}
	var owner string
	var pub ed25519.PublicKey
	var err error
	if node {
		owner, pub, err = o.store.NodeKey(id)
	} else {
		owner, pub, err = o.store.PartyKey(id)
	}
	if err != nil {
		if isNotFound(err) {
			err = nil
		}
		return keyRecord{}, false, err
	}
	return keyRecord{owner: owner, pub: pub}, true, nil
}

// key returns a key the batch registered; c may be nil.
func (c *credOverlay) key(node bool, id [8]byte) (keyRecord, bool) {
	if c == nil {
		return keyRecord{}, false
	}
	keys := c.partyKeys
	if node {
		keys = c.nodeKeys
	}
	k, ok := keys[id]
	return k, ok
}

// token reports what the batch last did with a token: issued (valid true)
// or revoked (valid false); found is false when it did neither. c may be
// nil.
func (c *credOverlay) token(gln string, id [8]byte) (valid, found bool) {
	if c == nil {
		return false, false
	}
	for i := len(c.tokens) - 1; i >= 0; i-- {
		if t := c.tokens[i]; t.gln == gln && t.id == id {
			return !t.revoke, true
		}
	}
	return false, false
}

// tokenValid reports whether the party holds an unrevoked token with id.
func (o *overlay) tokenValid(gln string, id [8]byte) bool {
	if valid, found := o.cred.token(gln, id); found {
		return valid
	}
	if o.prev != nil {
		if valid, found := o.prev.cred.token(gln, id); found {
			return valid
		}
	}
	_, err := o.store.TokenHashOf(gln, id)
	if err != nil && !isNotFound(err) {
		o.fail(err)
	}
	return err == nil
}

// tokenKnown reports whether the party ever held a token with id, revoked
// or not: a token ID is never issued twice.
func (o *overlay) tokenKnown(gln string, id [8]byte) bool {
	if o.tokenValid(gln, id) {
		return true
	}
	for _, c := range [...]*credOverlay{o.cred, o.prevCred()} {
		if _, found := c.token(gln, id); found {
			return true
		}
	}
	_, err := o.store.TokenInfo(gln, id)
	if err != nil && !isNotFound(err) {
		o.fail(err)
	}
	return err == nil
}

func (o *overlay) putPartyKey(id [8]byte, gln string, pub ed25519.PublicKey) {
	c := o.creds()
	c.partyKeys[id] = keyRecord{owner: gln, pub: pub}
	c.keyOrder = append(c.keyOrder, id)
}

func (o *overlay) putNodeKey(id [8]byte, name string, pub ed25519.PublicKey) {
	c := o.creds()
	c.nodeKeys[id] = keyRecord{owner: name, pub: pub}
	c.nodeOrder = append(c.nodeOrder, id)
}

func (o *overlay) putToken(t tokenRecord) {
	o.creds().tokens = append(o.creds().tokens, t)
}

func (o *overlay) alert(ref alertRef) *pb.Alert {
	for _, c := range [...]*credOverlay{o.cred, o.prevCred()} {
		if c != nil {
			if a, ok := c.alerts[ref]; ok {
				return a
			}
		}
	}
	a, err := o.store.Alert(ref.index, ref.n)
	if err != nil {
		if !isNotFound(err) {
			o.fail(err)
		}
		return nil
	}
	return a
}

func (o *overlay) prevCred() *credOverlay {
	if o.prev == nil {
		return nil
	}
	return o.prev.cred
}

func (o *overlay) putAlert(ref alertRef, a *pb.Alert) {
	c := o.creds()
	if _, ok := c.alerts[ref]; !ok {
		c.alertOrder = append(c.alertOrder, ref)
	}
	c.alerts[ref] = a
}

func (o *overlay) flushCreds(b *pebble.Batch) error {
	c := o.cred
	if c == nil {
		return nil
	}
	for _, id := range c.keyOrder {
		k := c.partyKeys[id]
		if err := state.PutPartyKey(b, id, k.owner, k.pub); err != nil {
			return err
		}
	}
	for _, id := range c.nodeOrder {
		k := c.nodeKeys[id]
		if err := state.PutNodeKey(b, id, k.owner, k.pub); err != nil {
			return err
		}
	}
	for i, t := range c.tokens {
		var err error
		if t.revoke {
			err = o.flushRevoke(b, c.tokens[:i], t)
		} else {
			err = state.PutTokenUntil(b, t.hash, t.id, t.gln, t.expires)
			if err == nil {
				err = state.PutTokenInfo(b, t.gln, t.id, t.info())
			}
		}
		if err != nil {
			return err
		}
	}
	for _, ref := range c.alertOrder {
		if err := state.PutAlert(b, ref.index, ref.n, c.alerts[ref]); err != nil {
			return err
		}
	}
	for _, p := range c.prefixOrder {
		if err := state.PutCompanyPrefix(b, p.Prefix, p.Party); err != nil {
			return err
		}
	}
	return nil
}

// flushRevoke writes the revocation t into b: the credential goes, the
// token's record stays with the revocation's time and entry. earlier are
// the batch's token changes before t.
func (o *overlay) flushRevoke(b *pebble.Batch, earlier []tokenRecord, t tokenRecord) error {
	e, found := issuedBefore(earlier, t)
	if pc := o.prevCred(); !found && pc != nil {
		e, found = issuedBefore(pc.tokens, t)
	}
	h, info := e.hash, e.info()
	if !found {
		var err error
		if h, err = o.store.TokenHashOf(t.gln, t.id); err != nil {
			return err
		}
		if info, err = o.store.TokenInfo(t.gln, t.id); err != nil {
			return err
		}
	}
	if err := state.DeleteToken(b, t.gln, t.id, h); err != nil {
		return err
	}
	info.RevokeTime, info.RevokeLedgerIndex = timestamp(t.at), t.index
	return state.PutTokenInfo(b, t.gln, t.id, info)
}

// issuedBefore finds a token issued earlier in the same batch.
func issuedBefore(earlier []tokenRecord, t tokenRecord) (tokenRecord, bool) {
	for i := len(earlier) - 1; i >= 0; i-- {
		if e := earlier[i]; e.gln == t.gln && e.id == t.id && !e.revoke {
			return e, true
		}
	}
	return tokenRecord{}, false
}

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
