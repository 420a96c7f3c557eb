package node

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/subjects"
)

// AdminTokenFile is the name of the admin token file under the data
// directory.
const AdminTokenFile = "admin.token"

// bootstrapTimeout bounds the writes of the bootstrap (the catch-up, and
// the waits for the genesis and the admission, last as long as the
// caller's context).
const bootstrapTimeout = 60 * time.Second

// bootstrapAdmin makes sure the admin party exists, that the ledger
// trusts this node's key, and that DATA/admin.token holds a token that
// resolves to the admin party. All go through the stream like every
// write: the genesis envelope on a new ledger, a token reissue otherwise;
// a node that may not write the genesis waits for it, and for an admin to
// trust its key (join.go). A reissue revokes, in the same ledger entry,
// the admin tokens this node issued before (and those of unknown origin),
// so that a leaked old token file stops working.
func (n *Node) bootstrapAdmin(ctx context.Context) error {
	cfg := n.cfg
	n.adminTokenPath = filepath.Join(cfg.DataDir, AdminTokenFile)
	token, err := readToken(n.adminTokenPath)
	if err != nil {
		return err
	}
	if token != "" && n.adminTokenWorks(token) && n.admitted() {
		n.logger.Info("admin token reused", "path", n.adminTokenPath)
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func(ctx context.Context) { // the pipeline stopped: nothing will be applied
		select {
		case <-n.ingestDone:
			cancel()
		case <-ctx.Done():
		}
	}(ctx)
	if err := n.catchUp(ctx); err != nil {
		return n.ingestStopped(err)
	}
	_, err = n.store.Party(cfg.AdminGLN)
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		return err
	}
	genesis := err != nil && n.mayWriteGenesis()
	if !genesis {
		if err := n.joinLedger(ctx); err != nil {
			return n.ingestStopped(err)
		}
		if token != "" && n.adminTokenWorks(token) {
			// Caught up: the token in the file is the one the ledger holds.
			n.logger.Info("admin token reused", "path", n.adminTokenPath)
			return nil
		}
	}
	wctx, cancelWrite := context.WithTimeout(ctx, bootstrapTimeout)
	defer cancelWrite()
	// Always a new token: the file's may have been revoked because it
	// leaked, and its hash is unknown once revoked.
	token, id, err := auth.NewToken()
	if err != nil {
		return err
	}
	hash := state.TokenHash(token)
	env := &pb.Envelope{PartyGln: cfg.AdminGLN}
	if genesis {
		env.Body = &pb.Envelope_Genesis{Genesis: &pb.Genesis{
			Admin:     &pb.Party{Gln: cfg.AdminGLN, Name: cfg.AdminName, Role: pb.Role_ROLE_ADMIN},
			TokenHash: hash[:], TokenId: auth.TokenIDString(id),
			NodeKey: &pb.NodeKey{Name: n.nodeName, PublicKey: n.nodeKey.Public().(ed25519.PublicKey)},
		}}
	} else {
		old, err := n.oldAdminTokens()
		if err != nil {
			return err
		}
		n.logger.Warn("admin token file missing or stale; issuing a new admin token and revoking the old ones",
			"path", n.adminTokenPath, "revoked", old)
		env.Body = &pb.Envelope_Token{Token: &pb.TokenChange{PartyGln: cfg.AdminGLN, TokenId: auth.TokenIDString(id), TokenHash: hash[:],
			RevokeTokenIds: old}}
	}
	res, err := n.submitter.Submit(wctx, env, true)
	if err != nil {
		return n.ingestStopped(fmt.Errorf("node: bootstrap the admin party: %w", err))
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

// adminTokenWorks reports whether token authenticates the admin party now.
func (n *Node) adminTokenWorks(token string) bool {
	cred, err := n.store.Token(state.TokenHash(token))
	return err == nil && cred.PartyGLN == n.cfg.AdminGLN && !cred.ExpiredAt(n.now())
}

// ingestStopped returns the pipeline's error in place of err when the
// pipeline has stopped (the reason a bootstrap step could not finish).
func (n *Node) ingestStopped(err error) error {
	if perr := n.ingestErr.Load(); perr != nil {
		return fmt.Errorf("node: ledger ingest stopped: %w", *perr)
	}
	return err
}

// maxRevokedAtReissue is how many old admin tokens one reissue revokes
// (the ledger's bound on a token change).
const maxRevokedAtReissue = 16

// oldAdminTokens lists the unrevoked tokens of the admin party that this
// node issued on its own authority (the genesis, earlier reissues), or
// whose origin is unknown (issued before the node kept token records):
// the tokens a reissue revokes. Tokens issued through the API, and those
// another node issued, are left alone.
func (n *Node) oldAdminTokens() ([]string, error) {
	var ids []string
	var after *[8]byte
	for {
		page, err := n.store.ListTokens(n.cfg.AdminGLN, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("node: admin tokens: %w", err)
		}
		for _, t := range page {
			legacy := t.GetCreateTime() == nil && t.GetNodeKeyId() == ""
			if t.GetRevokeTime() == nil && (legacy || t.GetNodeKeyId() == n.nodeKeyID) && len(ids) < maxRevokedAtReissue {
				ids = append(ids, t.GetTokenId())
			}
		}
		if len(page) < 1000 {
			return ids, nil
		}
		var last [8]byte
		if _, err := hex.Decode(last[:], []byte(page[len(page)-1].GetTokenId())); err != nil {
			return nil, fmt.Errorf("node: admin tokens: %w", err)
		}
		after = &last
	}
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
	st, err := n.js.Stream(ctx, subjects.ScanStream)
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

// loadNodeKey reads or creates DATA/keys/node.key, the key this node signs
// API-submitted envelopes with.
func (n *Node) loadNodeKey() error {
	key, err := envelope.LoadOrCreateKeyFile(filepath.Join(n.cfg.DataDir, KeysDir, NodeKeyFile))
	if err != nil {
		return fmt.Errorf("node: node key: %w", err)
	}
	n.nodeKey = key
	n.nodeKeyID = envelope.KeyID(key.Public().(ed25519.PublicKey))
	n.nodeName = n.cfg.NodeName
	if n.nodeName == "" {
		n.nodeName = "node-" + n.nodeKeyID
	}
	if err := n.writePublicKeyFile(key.Public().(ed25519.PublicKey)); err != nil {
		return err
	}
	return n.loadGenesisKey()
}
