package node

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pedigree-project/pedigree/envelope"
)

// NodePublicKeyFile is the name, under DATA/keys, of the file holding the
// node's public key in base64: what another node joining this node's
// ledger is given as --genesis-key.
const NodePublicKeyFile = "node.pub"

// maxKeyFile bounds a public key file.
const maxKeyFile = 4096

// ReadPublicKeyFile reads an Ed25519 public key from a file: the base64
// raw key on one line (DATA/keys/node.pub, or what `pedigree scan
// --new-key` prints), or a PEM "PUBLIC KEY" block (PKIX, as `openssl pkey
// -pubout` writes).
func ReadPublicKeyFile(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public key file: %w", err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("public key file %s: %d bytes, a public key file has at most %d", path, len(data), maxKeyFile)
	}
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("public key file %s: a PEM %q block; want \"PUBLIC KEY\" (never give another node's private key)", path, block.Type)
		}
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key file %s: %w", path, err)
		}
		pub, ok := key.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key file %s: not an Ed25519 key", path)
		}
		return pub, nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key file %s: want a base64 Ed25519 public key (32 bytes) or a PEM \"PUBLIC KEY\" block", path)
	}
	return ed25519.PublicKey(raw), nil
}

// writePublicKeyFile writes the node's public key to DATA/keys/node.pub,
// unless the file already says so.
func (n *Node) writePublicKeyFile(pub ed25519.PublicKey) error {
	path := filepath.Join(n.cfg.DataDir, KeysDir, NodePublicKeyFile)
	data := []byte(base64.StdEncoding.EncodeToString(pub) + "\n")
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return writeFileAtomic(path, data, 0o644)
}

// loadGenesisKey sets the key whose genesis this node accepts: the file
// Config.GenesisKeyFile names, or the node's own key.
func (n *Node) loadGenesisKey() error {
	if n.cfg.GenesisKeyFile == "" {
		n.genesisKey = n.nodeKey.Public().(ed25519.PublicKey)
		return nil
	}
	pub, err := ReadPublicKeyFile(n.cfg.GenesisKeyFile)
	if err != nil {
		return fmt.Errorf("node: genesis-key: %w", err)
	}
	n.genesisKey = pub
	return nil
}

// NodeKeyFile is the name, under DATA/keys, of the node's private key.
const NodeKeyFile = "node.key"

// NodePublicKey returns the public key of the node whose data directory
// is dataDir, creating the key (DATA/keys/node.key, mode 0600, and
// node.pub) if it does not exist yet: what an admin is given to add the
// node to a ledger before the node first starts.
func NodePublicKey(dataDir string) (ed25519.PublicKey, error) {
	if err := os.MkdirAll(filepath.Join(dataDir, KeysDir), 0o700); err != nil {
		return nil, fmt.Errorf("node: keys directory: %w", err)
	}
	n := &Node{cfg: Config{DataDir: dataDir}}
	key, err := envelope.LoadOrCreateKeyFile(filepath.Join(dataDir, KeysDir, NodeKeyFile))
	if err != nil {
		return nil, fmt.Errorf("node: node key: %w", err)
	}
	pub := key.Public().(ed25519.PublicKey)
	if err := n.writePublicKeyFile(pub); err != nil {
		return nil, err
	}
	return pub, nil
}
