package state

import (
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// Token records (table 0x1E) describe every token a party was issued: when,
// until when, and when it was revoked. They are written by the ingest
// pipeline beside the credentials (0x11, 0x12) and kept after a
// revocation, so that a party can list its tokens, revoked ones included.
// Tokens issued before the table existed have credentials but no record;
// they are listed with their ID alone.

// PutTokenInfo writes a token's record into b. Its status is not stored:
// it depends on the time of the read.
func PutTokenInfo(b *pebble.Batch, gln string, id [8]byte, info *pb.TokenInfo) error {
	if info.GetStatus() != pb.TokenStatus_TOKEN_STATUS_UNSPECIFIED {
		return fmt.Errorf("state: token record %x of %s: the status is not stored", id, gln)
	}
	return setProto(b, tokenInfoKey(gln, id), info)
}

// TokenInfo returns a token's record; a token issued before records were
// kept, and not revoked, has one with its ID and party alone. It returns an
// error wrapping ErrNotFound when the party never had the token.
func (s *Store) TokenInfo(gln string, id [8]byte) (*pb.TokenInfo, error) {
	info := &pb.TokenInfo{}
	err := getProto(s.db, tokenInfoKey(gln, id), info, "token record")
	if !errors.Is(err, ErrNotFound) {
		if err != nil {
			return nil, err
		}
		return info, nil
	}
	if _, err := s.TokenHashOf(gln, id); err != nil {
		return nil, err
	}
	return &pb.TokenInfo{TokenId: hex.EncodeToString(id[:]), PartyGln: gln}, nil
}

// ListTokens returns up to limit of a party's token records with IDs
// greater than after (none: from the first), in ID order.
func (s *Store) ListTokens(gln string, after *[8]byte, limit int) ([]*pb.TokenInfo, error) {
	var out []*pb.TokenInfo
	seen := map[[8]byte]bool{}
	err := s.tokenIDs(prefixTokenInfo, gln, after, limit, func(id [8]byte, v []byte) error {
		info := &pb.TokenInfo{}
		if err := proto.Unmarshal(v, info); err != nil {
			return fmt.Errorf("state: decode token record %x of %s: %w", id, gln, err)
		}
		seen[id] = true
		out = append(out, info)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Tokens without a record: issued before records were kept.
	var legacy []*pb.TokenInfo
	err = s.tokenIDs(prefixTokenID, gln, after, limit, func(id [8]byte, _ []byte) error {
		if seen[id] {
			return nil
		}
		if _, ok, err := get(s.db, tokenInfoKey(gln, id)); err != nil || ok {
			return err
		}
		legacy = append(legacy, &pb.TokenInfo{TokenId: hex.EncodeToString(id[:]), PartyGln: gln})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(legacy) > 0 {
		out = append(out, legacy...)
		slices.SortFunc(out, func(a, b *pb.TokenInfo) int { return cmp.Compare(a.GetTokenId(), b.GetTokenId()) })
	}
	return out[:min(len(out), limit)], nil
}

// tokenIDs calls fn with the token IDs and values of table prefix (keyed
// GLN | token ID) of one party, from the first ID greater than after, at
// most limit of them.
func (s *Store) tokenIDs(prefix byte, gln string, after *[8]byte, limit int, fn func(id [8]byte, v []byte) error) error {
	lower := append([]byte{prefix}, gln...)
	upper := prefixEnd(lower)
	if after != nil {
		lower = append(append(lower, after[:]...), 0)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("state: scan tokens: %w", err)
	}
	n := 0
	for ok := it.First(); ok && n < limit; ok = it.Next() {
		k := it.Key()
		if len(k) != 1+len(gln)+8 {
			continue
		}
		var id [8]byte
		copy(id[:], k[1+len(gln):])
		if err := fn(id, it.Value()); err != nil {
			_ = it.Close()
			return err
		}
		n++
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("state: scan tokens: %w", err)
	}
	return nil
}
