package node

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/ingest"
)

// TestJoiningNodeNeedsTheGenesisKey: a second node on the first node's
// stream refuses its genesis when it trusts only its own key (Start fails
// naming both keys), and joins the ledger with --genesis-key naming the
// first node's DATA/keys/node.pub once an admin added its key.
func TestJoiningNodeNeedsTheGenesisKey(t *testing.T) {
	dirA := t.TempDir()
	first := startNode(t, testConfig(dirA))
	defer shutdown(t, first)
	a := &api{t: t, n: first}
	a.party(apiPharm, pb.Role_ROLE_PHARMACY) // the ledger has more than the genesis

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The second node connects to the first one's embedded NATS server
	// with the first node's NATS key, which that server admits.
	natsKey, err := os.ReadFile(filepath.Join(dirA, KeysDir, NATSKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	joiner := func() Config {
		cfg := testConfig(t.TempDir())
		cfg.NATSURL = first.NATSURL()
		if err := os.MkdirAll(filepath.Join(cfg.DataDir, KeysDir), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cfg.DataDir, KeysDir, NATSKeyFile), natsKey, 0o600); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	n, err := Start(ctx, joiner(), quiet)
	if err == nil {
		shutdown(t, n)
		t.Fatal("a node trusting only its own key started on another node's ledger")
	}
	firstKey := envelope.KeyID(first.nodeKey.Public().(ed25519.PublicKey))
	if !errors.Is(err, ingest.ErrUntrustedGenesis) || !strings.Contains(err.Error(), firstKey) {
		t.Fatalf("Start: %v, want ErrUntrustedGenesis naming key %s", err, firstKey)
	}

	cfg := joiner()
	cfg.GenesisKeyFile = filepath.Join(dirA, KeysDir, NodePublicKeyFile)
	token, err := os.ReadFile(filepath.Join(dirA, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.DataDir, AdminTokenFile), token, 0o600); err != nil {
		t.Fatal(err)
	}
	// It serves once the admin added its key.
	cfg.NodeName = "second"
	admitNode(t, first, cfg)
	joined := startNode(t, cfg)
	defer shutdown(t, joined)
	sa, ra := first.ledger.Head()
	sj, rj := joined.ledger.Head()
	if sa != sj || ra != rj || sa < 2 {
		t.Fatalf("joined node: size %d root %x; first node: size %d root %x", sj, rj, sa, ra)
	}
}

// TestReadPublicKeyFile reads both forms of a public key file and refuses
// a private key.
func TestReadPublicKeyFile(t *testing.T) {
	pub, priv, _ := envelope.GenerateKey()
	dir := t.TempDir()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pemFile := filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &Node{cfg: Config{DataDir: dir}}
	if err := os.MkdirAll(filepath.Join(dir, KeysDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := n.writePublicKeyFile(pub); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{pemFile, filepath.Join(dir, KeysDir, NodePublicKeyFile)} {
		got, err := ReadPublicKeyFile(f)
		if err != nil || !got.Equal(pub) {
			t.Errorf("%s: %x %v, want %x", filepath.Base(f), got, err, pub)
		}
	}
	privFile := filepath.Join(dir, "node.key")
	if err := envelope.WriteKeyFile(privFile, priv); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("not a key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{privFile: "PRIVATE KEY", junk: "base64", filepath.Join(dir, "missing"): "no such file"} {
		if _, err := ReadPublicKeyFile(f); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %q", filepath.Base(f), err, want)
		}
	}
}
