package node

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/pedigree-project/pedigree/ledger"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// BackupFormat is the version of the backup archive written by Backup.
const BackupFormat = 1

// ManifestName is the name of the first member of a backup archive: the
// JSON BackupManifest.
const ManifestName = "manifest.json"

// Bounds on what a backup archive may hold, so that a hostile archive
// cannot exhaust memory or the disk by its headers.
const (
	maxManifest      = 1 << 20
	maxBackupMembers = 100_000
	maxMemberPath    = 256
)

// ErrBackupInvalid is matched by every error of a backup archive that is
// malformed, tampered with or inconsistent with its manifest.
var ErrBackupInvalid = errors.New("backup: invalid archive")

// BackupManifest describes a backup archive: the node it was taken from,
// its ledger head and applied stream sequence at the checkpoint, and the
// SHA-256 of every other member.
type BackupManifest struct {
	// Format is BackupFormat.
	Format int `json:"format"`
	// Node is the name of the node backed up.
	Node string `json:"node"`
	// LedgerSize is the number of ledger entries in the backup.
	LedgerSize uint64 `json:"ledger_size"`
	// RootHash is the hex Merkle root of the ledger at LedgerSize.
	RootHash string `json:"root_hash"`
	// AppliedSeq is the last stream sequence the backed-up ledger applied:
	// a node started from the backup consumes the stream from the next.
	AppliedSeq uint64 `json:"applied_seq"`
	// Created is when the checkpoint was taken (UTC).
	Created time.Time `json:"created"`
	// Members lists every member after the manifest, in archive order.
	Members []BackupMember `json:"members"`
}

// BackupMember is one file of a backup archive.
type BackupMember struct {
	// Name is the slash-separated path under the data directory
	// ("pebble/…", "keys/…" or "admin.token").
	Name string `json:"name"`
	// Size is the file's length in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of the file's bytes.
	SHA256 string `json:"sha256"`
}

// backupHead is what a backup's Pebble data says of itself.
type backupHead struct {
	size    uint64
	root    string
	applied uint64
}

// inspectBackupDir opens the Pebble data in dir/pebble read-only, audits
// its ledger against the verifier key in dir/keys (every entry, tile and
// checkpoint: ledger.Verify) and returns its head and applied sequence.
func inspectBackupDir(ctx context.Context, dir string) (h backupHead, err error) {
	vkey, err := ledger.ReadVerifierKey(filepath.Join(dir, KeysDir))
	if err != nil {
		return h, fmt.Errorf("backup: checkpoint verifier key: %w", err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return h, fmt.Errorf("backup: checkpoint verifier key: %w", err)
	}
	opts := ledger.PebbleOptions()
	opts.ReadOnly = true
	opts.Logger = pebbleLogger{slog.New(slog.DiscardHandler)}
	store, err := state.Open(filepath.Join(dir, "pebble"), opts)
	if err != nil {
		return h, fmt.Errorf("backup: open the checkpoint: %w", err)
	}
	defer func() {
		if cerr := store.DB().Close(); err == nil && cerr != nil {
			err = fmt.Errorf("backup: close the checkpoint: %w", cerr)
		}
	}()
	lg, err := ledger.Open(store.DB(), ledger.Options{})
	if err != nil {
		return h, fmt.Errorf("backup: open the ledger: %w", err)
	}
	size, root := lg.Head()
	rep, err := ledger.Verify(ctx, store.DB(), verifier, nil)
	if err != nil {
		return h, fmt.Errorf("backup: ledger audit: %w", err)
	}
	if rep.Entries != size || rep.Root != root {
		return h, fmt.Errorf("%w: the ledger's head (size %d root %x) differs from its audit (size %d root %x)", ErrBackupInvalid, size, root, rep.Entries, rep.Root)
	}
	applied, err := store.AppliedSeq()
	if err != nil {
		return h, fmt.Errorf("backup: applied stream sequence: %w", err)
	}
	return backupHead{size: size, root: hex.EncodeToString(root[:]), applied: applied}, nil
}

// listBackupFiles returns dir/admin.token if there is one and the
// regular files under dir/pebble and dir/keys, as slash-separated paths
// relative to dir, sorted.
func listBackupFiles(dir string) ([]string, error) {
	var names []string
	if fi, err := os.Lstat(filepath.Join(dir, AdminTokenFile)); err == nil && fi.Mode().IsRegular() {
		names = append(names, AdminTokenFile)
	}
	for _, sub := range []string{"pebble", KeysDir} {
		err := filepath.WalkDir(filepath.Join(dir, sub), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			if !d.Type().IsRegular() {
				return fmt.Errorf("backup: %s is not a regular file", p)
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			names = append(names, filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("backup: list %s: %w", sub, err)
		}
	}
	slices.Sort(names)
	return names, nil
}

// hashFile returns the size and hex SHA-256 of the file at p.
func hashFile(p string) (int64, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", p, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// writeBackupDir audits the staged data directory dir (a Pebble
// checkpoint in dir/pebble, the keys in dir/keys), then writes it to w as
// a tar archive: the manifest, then every member it lists. It returns the
// manifest.
func writeBackupDir(ctx context.Context, dir, nodeName string, created time.Time, w io.Writer) (BackupManifest, error) {
	head, err := inspectBackupDir(ctx, dir)
	if err != nil {
		return BackupManifest{}, err
	}
	m := BackupManifest{Format: BackupFormat, Node: nodeName, LedgerSize: head.size, RootHash: head.root,
		AppliedSeq: head.applied, Created: created.UTC()}
	names, err := listBackupFiles(dir)
	if err != nil {
		return m, err
	}
	for _, name := range names {
		size, sum, err := hashFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return m, fmt.Errorf("backup: %w", err)
		}
		m.Members = append(m.Members, BackupMember{Name: name, Size: size, SHA256: sum})
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, fmt.Errorf("backup: manifest: %w", err)
	}
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o600, Size: int64(len(mj)), ModTime: m.Created, Typeflag: tar.TypeReg}); err != nil {
		return m, fmt.Errorf("backup: write: %w", err)
	}
	if _, err := tw.Write(mj); err != nil {
		return m, fmt.Errorf("backup: write: %w", err)
	}
	for _, mem := range m.Members {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		if err := copyMember(tw, dir, mem, m.Created); err != nil {
			return m, err
		}
	}
	if err := tw.Close(); err != nil {
		return m, fmt.Errorf("backup: write: %w", err)
	}
	return m, nil
}

// copyMember writes the member mem of dir to tw, refusing a file that
// changed since it was hashed.
func copyMember(tw *tar.Writer, dir string, mem BackupMember, mtime time.Time) error {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(mem.Name)))
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	if err := tw.WriteHeader(&tar.Header{Name: mem.Name, Mode: 0o600, Size: mem.Size, ModTime: mtime, Typeflag: tar.TypeReg}); err != nil {
		return fmt.Errorf("backup: write %s: %w", mem.Name, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, h), io.LimitReader(f, mem.Size))
	if err != nil {
		return fmt.Errorf("backup: write %s: %w", mem.Name, err)
	}
	if n != mem.Size || hex.EncodeToString(h.Sum(nil)) != mem.SHA256 {
		return fmt.Errorf("backup: %s changed while it was written", mem.Name)
	}
	return nil
}

// validMemberName reports whether name is a path a backup member may
// have: relative, clean, slash-separated, admin.token or under pebble/
// or keys/.
func validMemberName(name string) error {
	if name == "" || len(name) > maxMemberPath {
		return fmt.Errorf("%w: member name %q: must be 1 to %d bytes", ErrBackupInvalid, name, maxMemberPath)
	}
	if strings.ContainsAny(name, "\\\x00") || path.IsAbs(name) || path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") {
		return fmt.Errorf("%w: member name %q: must be a clean relative path", ErrBackupInvalid, name)
	}
	if name != AdminTokenFile && !strings.HasPrefix(name, "pebble/") && !strings.HasPrefix(name, KeysDir+"/") {
		return fmt.Errorf("%w: member name %q: must be %s or under pebble/ or %s/", ErrBackupInvalid, name, AdminTokenFile, KeysDir)
	}
	return nil
}

// validate checks the manifest's own fields, before any member is read.
func (m *BackupManifest) validate() error {
	if m.Format != BackupFormat {
		return fmt.Errorf("%w: manifest format %d, want %d", ErrBackupInvalid, m.Format, BackupFormat)
	}
	if len(m.RootHash) != 2*sha256.Size {
		return fmt.Errorf("%w: manifest root_hash: want %d hex digits", ErrBackupInvalid, 2*sha256.Size)
	}
	if _, err := hex.DecodeString(m.RootHash); err != nil {
		return fmt.Errorf("%w: manifest root_hash: %w", ErrBackupInvalid, err)
	}
	if len(m.Members) == 0 || len(m.Members) > maxBackupMembers {
		return fmt.Errorf("%w: manifest members: %d, want 1 to %d", ErrBackupInvalid, len(m.Members), maxBackupMembers)
	}
	seen := make(map[string]bool, len(m.Members))
	for i, mem := range m.Members {
		if err := validMemberName(mem.Name); err != nil {
			return fmt.Errorf("manifest member %d: %w", i, err)
		}
		if seen[mem.Name] {
			return fmt.Errorf("%w: manifest member %q listed twice", ErrBackupInvalid, mem.Name)
		}
		seen[mem.Name] = true
		if mem.Size < 0 {
			return fmt.Errorf("%w: manifest member %q: negative size", ErrBackupInvalid, mem.Name)
		}
		if b, err := hex.DecodeString(mem.SHA256); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("%w: manifest member %q: sha256 must be %d hex digits", ErrBackupInvalid, mem.Name, 2*sha256.Size)
		}
	}
	return nil
}
