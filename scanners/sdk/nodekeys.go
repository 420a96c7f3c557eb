package sdk

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/pedigree-project/pedigree/envelope"
)

// ReadNodeKeys reads the node public keys whose signed outcomes a Client
// believes: each file holds one standard base64 Ed25519 public key per
// line (a node writes its own to DATA/keys/node.pub). Empty lines and
// lines starting with # are skipped; several keys let scanners trust a
// new node key before the old one is retired.
func ReadNodeKeys(paths ...string) (envelope.NodeKeys, error) {
	var pubs []ed25519.PublicKey
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("sdk: node key: %w", err)
		}
		got, err := ParseNodeKeys(string(data))
		if err != nil {
			return nil, fmt.Errorf("sdk: node key file %s: %w", path, err)
		}
		pubs = append(pubs, got...)
	}
	if len(pubs) == 0 {
		return nil, fmt.Errorf("sdk: node key: no key in %s", strings.Join(paths, ", "))
	}
	return envelope.NewNodeKeys(pubs...)
}

// ParseNodeKeys parses node public keys, one standard base64 Ed25519
// public key per line, skipping empty lines and lines starting with #.
func ParseNodeKeys(text string) ([]ed25519.PublicKey, error) {
	var pubs []ed25519.PublicKey
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(line)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("line %d: want a base64 Ed25519 public key (%d bytes), as DATA/keys/node.pub holds", i+1, ed25519.PublicKeySize)
		}
		pubs = append(pubs, raw)
	}
	return pubs, nil
}
