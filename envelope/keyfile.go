package envelope

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// GenerateKey returns a new Ed25519 key pair.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("envelope: generate key: %w", err)
	}
	return pub, priv, nil
}

// WriteKeyFile writes priv as a PKCS #8 PEM file readable only by its owner
// (mode 0600). It refuses to overwrite an existing file.
func WriteKeyFile(path string, priv ed25519.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("envelope: encode key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("envelope: key file: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return fmt.Errorf("envelope: write key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("envelope: write key file %s: %w", path, err)
	}
	return f.Close()
}

// ReadKeyFile reads an Ed25519 private key from a PKCS #8 PEM file.
func ReadKeyFile(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("envelope: key file: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("envelope: key file %s: no PEM \"PRIVATE KEY\" block", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("envelope: key file %s: %w", path, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("envelope: key file %s: not an Ed25519 key", path)
	}
	return priv, nil
}

// LoadOrCreateKeyFile reads the key at path, or creates one there if the
// file does not exist.
func LoadOrCreateKeyFile(path string) (ed25519.PrivateKey, error) {
	priv, err := ReadKeyFile(path)
	if err == nil {
		return priv, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	_, priv, err = GenerateKey()
	if err != nil {
		return nil, err
	}
	if err := WriteKeyFile(path, priv); err != nil {
		return nil, err
	}
	return priv, nil
}
