package sdk_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"sync"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/natsauth"
	"github.com/pedigree-project/pedigree/services/state"
)

// keyring is the test servers' registry: the test party, with every key
// the tests generated (newKey registers each), so that a client connects
// as that party with its key as its NKey.
type keyring struct {
	mu   sync.Mutex
	keys []ed25519.PublicKey
}

var testKeys = &keyring{}

var _ natsauth.Registry = (*keyring)(nil)

func (k *keyring) add(pub ed25519.PublicKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = append(k.keys, pub)
}

func (k *keyring) PartyKey(id [8]byte) (string, ed25519.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, pub := range k.keys {
		if sum := sha256.Sum256(pub); [8]byte(sum[:8]) == id {
			return party, pub, nil
		}
	}
	return "", nil, state.ErrNotFound
}

func (k *keyring) Party(gln string) (*pb.Party, error) {
	if gln != party {
		return nil, state.ErrNotFound
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	p := &pb.Party{Gln: party, Role: pb.Role_ROLE_PHARMACY}
	for _, pub := range k.keys {
		p.PublicKeys = append(p.PublicKeys, pub)
	}
	return p, nil
}
