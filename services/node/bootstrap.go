package node

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/auth"
	"github.com/pedigree-project/pedigree/services/state"
)

// AdminTokenFile is the name of the admin token file under the data
// directory.
const AdminTokenFile = "admin.token"

// bootstrapAdmin makes sure the admin party exists and that DATA/admin.token
// holds a token that resolves to it. It returns the token file's path.
func bootstrapAdmin(store *state.Store, cfg Config, logger *slog.Logger) (string, error) {
	path := filepath.Join(cfg.DataDir, AdminTokenFile)
	token, err := readToken(path)
	if err != nil {
		return "", err
	}
	if token != "" {
		cred, err := store.Token(state.TokenHash(token))
		if err == nil && cred.PartyGLN == cfg.AdminGLN {
			logger.Info("admin token reused", "path", path)
			return path, nil
		}
		if err != nil && !errors.Is(err, state.ErrNotFound) {
			return "", err
		}
		logger.Warn("admin token file does not match the node's state; issuing a new token", "path", path)
	}
	party, err := store.Party(cfg.AdminGLN)
	if errors.Is(err, state.ErrNotFound) {
		party = &pb.Party{Gln: cfg.AdminGLN, Name: cfg.AdminName, Role: pb.Role_ROLE_ADMIN}
	} else if err != nil {
		return "", err
	}
	token, id, err := auth.NewToken()
	if err != nil {
		return "", err
	}
	b := store.DB().NewBatch()
	if err := state.PutParty(b, party); err != nil {
		b.Close()
		return "", err
	}
	if err := state.PutToken(b, state.TokenHash(token), id, party.GetGln()); err != nil {
		b.Close()
		return "", err
	}
	if err := store.Apply(b); err != nil {
		return "", err
	}
	if err := writeFileAtomic(path, []byte(token+"\n"), 0o600); err != nil {
		return "", err
	}
	logger.Info("admin party created; its API token is in the token file", "gln", party.GetGln(), "path", path)
	return path, nil
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
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("node: write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("node: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("node: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("node: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("node: write %s: %w", path, err)
	}
	return nil
}

func validGLN(s string) bool {
	if len(s) != 13 {
		return false
	}
	sum := 0
	for i := 0; i < 12; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		w := 1
		if (12-i)%2 == 1 {
			w = 3
		}
		sum += int(c-'0') * w
	}
	return s[12] == byte('0'+(10-sum%10)%10)
}
