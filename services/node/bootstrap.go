package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/auth"
	"github.com/pedigree-project/pedigree/services/natsbus"
	"github.com/pedigree-project/pedigree/services/state"
)

// AdminTokenFile is the name of the admin token file under the data
// directory.
const AdminTokenFile = "admin.token"

// bootstrapTimeout bounds the catch-up and the writes of the bootstrap.
const bootstrapTimeout = 60 * time.Second

// bootstrapAdmin makes sure the admin party exists and that DATA/admin.token
// holds a token that resolves to it. Both go through the stream like every
// write: the genesis envelope on a new ledger, a token reissue otherwise.
func (n *Node) bootstrapAdmin(ctx context.Context) error {
	cfg := n.cfg
	n.adminTokenPath = filepath.Join(cfg.DataDir, AdminTokenFile)
	token, err := readToken(n.adminTokenPath)
	if err != nil {
		return err
	}
	if token != "" {
		if cred, err := n.store.Token(state.TokenHash(token)); err == nil && cred.PartyGLN == cfg.AdminGLN {
			n.logger.Info("admin token reused", "path", n.adminTokenPath)
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, bootstrapTimeout)
	defer cancel()
	if err := n.catchUp(ctx); err != nil {
		return err
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return fmt.Errorf("node: token id: %w", err)
	}
	if !auth.WellFormed(token) {
		if token, id, err = auth.NewToken(); err != nil {
			return err
		}
	} else if cred, err := n.store.Token(state.TokenHash(token)); err == nil && cred.PartyGLN == cfg.AdminGLN {
		// Caught up: the token in the file is the one the ledger holds.
		n.logger.Info("admin token reused", "path", n.adminTokenPath)
		return nil
	}
	hash := state.TokenHash(token)
	env := &pb.Envelope{PartyGln: cfg.AdminGLN}
	_, err = n.store.Party(cfg.AdminGLN)
	switch {
	case errors.Is(err, state.ErrNotFound):
		pub := n.nodeKey.Public().(ed25519.PublicKey)
		env.Body = &pb.Envelope_Genesis{Genesis: &pb.Genesis{
			Admin:     &pb.Party{Gln: cfg.AdminGLN, Name: cfg.AdminName, Role: pb.Role_ROLE_ADMIN},
			TokenHash: hash[:], TokenId: auth.TokenIDString(id),
			NodeKey: &pb.NodeKey{Name: n.nodeName, PublicKey: pub},
		}}
	case err != nil:
		return err
	default:
		n.logger.Warn("admin token file missing or stale; issuing a new admin token", "path", n.adminTokenPath)
		env.Body = &pb.Envelope_Token{Token: &pb.TokenChange{PartyGln: cfg.AdminGLN, TokenId: auth.TokenIDString(id), TokenHash: hash[:]}}
	}
	res, err := n.submitter.Submit(ctx, env, true)
	if err != nil {
		return fmt.Errorf("node: bootstrap the admin party: %w", err)
	}
	if out := res.Entry.GetOutcomes(); len(out) != 1 || !out[0].GetApplied() {
		return fmt.Errorf("node: bootstrap the admin party was refused: %s (is this stream shared with a ledger another node started?)", outcomeReason(res.Entry))
	}
	if err := writeFileAtomic(n.adminTokenPath, []byte(token+"\n"), 0o600); err != nil {
		return err
	}
	n.logger.Info("admin party ready; its API token is in the token file", "gln", cfg.AdminGLN, "path", n.adminTokenPath)
	return nil
}

func outcomeReason(e *pb.LedgerEntry) string {
	if out := e.GetOutcomes(); len(out) == 1 {
		return out[0].GetReason()
	}
	return "no outcome"
}

// catchUp waits until the ledger has applied everything the stream held
// when it was called.
func (n *Node) catchUp(ctx context.Context) error {
	st, err := n.js.Stream(ctx, natsbus.ScanStream)
	if err != nil {
		return fmt.Errorf("node: stream info: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("node: stream info: %w", err)
	}
	return n.pipeline.WaitApplied(ctx, info.State.LastSeq)
}

func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("node: read %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// writeFileAtomic writes data to a temporary file, fsyncs it and renames it
// over path, so that a crash leaves either the old or the new file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("node: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("node: write %s: %w", path, err)
	}
	return nil
}

// NodePublicKeyFile is the name, under DATA/keys, of the file holding the
// node key's public half: one line of standard base64, the format `pedigree
// scan --new-key` prints and `pedigree scan --node-key` reads. Scanners
// check the node-signed outcomes and alerts on NATS with it.
const NodePublicKeyFile = "node.pub"

// loadNodeKey reads or creates DATA/keys/node.key, the key this node signs
// API-submitted envelopes and its notices with, and writes its public half
// to DATA/keys/node.pub.
func (n *Node) loadNodeKey() error {
	key, err := envelope.LoadOrCreateKeyFile(filepath.Join(n.cfg.DataDir, KeysDir, "node.key"))
	if err != nil {
		return fmt.Errorf("node: node key: %w", err)
	}
	pub := base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)) + "\n"
	pubPath := filepath.Join(n.cfg.DataDir, KeysDir, NodePublicKeyFile)
	if old, err := os.ReadFile(pubPath); err != nil || string(old) != pub {
		if err := writeFileAtomic(pubPath, []byte(pub), 0o644); err != nil {
			return fmt.Errorf("node: node public key: %w", err)
		}
	}
	n.nodeKey = key
	n.nodeKeyID = envelope.KeyID(key.Public().(ed25519.PublicKey))
	n.nodeName = "node-" + n.nodeKeyID
	return nil
}
