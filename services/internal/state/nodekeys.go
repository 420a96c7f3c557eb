package state

import (
	"crypto/ed25519"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// NodeKeyIDs returns the key IDs of every node key the ledger trusts
// (table 0x1D), in key order: the nodes of the cluster.
func (s *Store) NodeKeyIDs() ([][8]byte, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixNodeKey}, UpperBound: []byte{prefixNodeKey + 1}})
	if err != nil {
		return nil, fmt.Errorf("state: scan node keys: %w", err)
	}
	var ids [][8]byte
	for ok := it.First(); ok; ok = it.Next() {
		if k, v := it.Key(), it.Value(); len(k) == 1+8 && len(v) >= ed25519.PublicKeySize {
			ids = append(ids, [8]byte(k[1:]))
		}
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("state: scan node keys: %w", err)
	}
	return ids, nil
}
