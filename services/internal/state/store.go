package state

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("state: not found")

// Store reads and writes the node's state tables. Its getters of parties,
// products, batches and tokens answer from an exact read cache
// (cache.go); the records they return are shared and MUST NOT be modified.
type Store struct {
	db    *pebble.DB
	cache *readCache

	closeOnce sync.Once
	closeErr  error
}

// Open opens (or creates) the Pebble database in dir with opts.
func Open(dir string, opts *pebble.Options) (*Store, error) {
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("state: open pebble at %s: %w", dir, err)
	}
	return &Store{db: db, cache: newReadCache()}, nil
}

// DB is the underlying database, shared with the ledger.
func (s *Store) DB() *pebble.DB { return s.db }

// Close flushes and closes the database. Closing again does nothing and
// returns the first Close's error.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if err := s.db.Flush(); err != nil {
			_ = s.db.Close()
			s.closeErr = fmt.Errorf("state: flush: %w", err)
			return
		}
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("state: close: %w", err)
		}
	})
	return s.closeErr
}

// Party returns the party with that GLN, or ErrNotFound.
func (s *Store) Party(gln string) (*pb.Party, error) {
	return readThrough(s, partiesOf, gln, (*Store).readParty)
}

func (s *Store) readParty(gln string) (*pb.Party, error) {
	v, closer, err := s.db.Get(partyKey(gln))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("party %s: %w", gln, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("state: read party %s: %w", gln, err)
	}
	defer closer.Close()
	p := &pb.Party{}
	if err := proto.Unmarshal(v, p); err != nil {
		return nil, fmt.Errorf("state: decode party %s: %w", gln, err)
	}
	return p, nil
}

// PutParty writes a party into b.
func PutParty(b *pebble.Batch, p *pb.Party) error {
	v, err := proto.MarshalOptions{Deterministic: true}.Marshal(p)
	if err != nil {
		return fmt.Errorf("state: encode party %s: %w", p.GetGln(), err)
	}
	return b.Set(partyKey(p.GetGln()), v, nil)
}

// Credential is what a valid API token resolves to.
type Credential struct {
	// TokenID identifies the token (for revocation and the ledger).
	TokenID [8]byte
	// PartyGLN is the token's party.
	PartyGLN string
	// Expires is the instant from which the token no longer works; zero:
	// never.
	Expires time.Time
}

// ExpiredAt reports whether the credential no longer works at now: from
// its expiry instant on.
func (c Credential) ExpiredAt(now time.Time) bool {
	return !c.Expires.IsZero() && !now.Before(c.Expires)
}

// TokenHash is the stored form of an API token.
func TokenHash(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// Token resolves an API token's hash, or returns ErrNotFound. An expired
// token still resolves: the caller compares Expires with its clock.
func (s *Store) Token(hash [32]byte) (Credential, error) {
	return readThrough(s, tokensOf, hash, (*Store).readToken)
}

func (s *Store) readToken(hash [32]byte) (Credential, error) {
	v, closer, err := s.db.Get(tokenKey(hash))
	if errors.Is(err, pebble.ErrNotFound) {
		return Credential{}, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("state: read token: %w", err)
	}
	defer closer.Close()
	if len(v) != 8+13 && len(v) != 8+13+8 {
		return Credential{}, fmt.Errorf("state: token record has %d bytes, want 21 or 29", len(v))
	}
	var c Credential
	copy(c.TokenID[:], v[:8])
	c.PartyGLN = string(v[8:21])
	if len(v) == 29 {
		c.Expires = time.UnixMilli(int64(binary.BigEndian.Uint64(v[21:]))).UTC()
	}
	return c, nil
}

// PutToken records a token's hash for a party into b: a token that never
// expires.
func PutToken(b *pebble.Batch, hash [32]byte, id [8]byte, gln string) error {
	return PutTokenUntil(b, hash, id, gln, time.Time{})
}

// PutTokenUntil records a token's hash for a party into b, with the
// instant from which it no longer works (zero: never; kept to the
// millisecond).
func PutTokenUntil(b *pebble.Batch, hash [32]byte, id [8]byte, gln string, expires time.Time) error {
	v := append(id[:], gln...)
	if !expires.IsZero() {
		v = binary.BigEndian.AppendUint64(v, uint64(expires.UnixMilli()))
	}
	if err := b.Set(tokenKey(hash), v, nil); err != nil {
		return fmt.Errorf("state: write token: %w", err)
	}
	if err := b.Set(tokenIDKey(gln, id), hash[:], nil); err != nil {
		return fmt.Errorf("state: write token id: %w", err)
	}
	return nil
}

// Apply commits b durably (fsync), closes it and invalidates the read
// cache.
func (s *Store) Apply(b *pebble.Batch) error {
	defer b.Close()
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("state: commit: %w", err)
	}
	s.InvalidateCache()
	return nil
}
