package natsauth

import (
	"crypto/ed25519"
	"errors"

	"github.com/nats-io/nats.go"
)

// Credential returns the connect option that authenticates a connection
// with key as its user NKey: the server's nonce is signed with key.
func Credential(key ed25519.PrivateKey) (nats.Option, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("natsauth: credential: want an Ed25519 private key")
	}
	nk, err := NKey(key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	return nats.Nkey(nk, func(nonce []byte) ([]byte, error) { return ed25519.Sign(key, nonce), nil }), nil
}
