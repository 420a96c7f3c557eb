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
	"os"
	"path/filepath"
)

// Restore places the node data held by the backup archive read from r
// into dataDir, which must not exist or be empty. Before anything is
// placed it checks every member against the manifest's SHA-256 and size
// (naming the member that differs), that the archive holds exactly the
// members listed, and audits the ledger (ledger.Verify) against the
// manifest's size and root. The data is unpacked into a sibling staging
// directory, renamed into place only when all checks pass. A node started
// on dataDir consumes the stream from the manifest's AppliedSeq + 1.
func Restore(ctx context.Context, r io.Reader, dataDir string) (BackupManifest, error) {
	if dataDir == "" {
		return BackupManifest{}, errors.New("restore: data directory: must not be empty")
	}
	if err := requireEmptyDir(dataDir); err != nil {
		return BackupManifest{}, err
	}
	parent := filepath.Dir(filepath.Clean(dataDir))
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return BackupManifest{}, fmt.Errorf("restore: %w", err)
	}
	stage, err := os.MkdirTemp(parent, ".pedigree-restore-")
	if err != nil {
		return BackupManifest{}, fmt.Errorf("restore: staging directory: %w", err)
	}
	defer os.RemoveAll(stage)
	m, err := unpackBackup(ctx, r, stage)
	if err != nil {
		return m, err
	}
	// Another restore may have raced this one into dataDir.
	if err := requireEmptyDir(dataDir); err != nil {
		return m, err
	}
	if err := os.Remove(dataDir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("restore: %w", err)
	}
	if err := os.Rename(stage, dataDir); err != nil {
		return m, fmt.Errorf("restore: place %s: %w", dataDir, err)
	}
	return m, nil
}

// VerifyBackup checks the backup archive read from r as Restore does,
// unpacking it into a temporary directory under tmpDir ("" for the
// system's) that it removes, and returns its manifest.
func VerifyBackup(ctx context.Context, r io.Reader, tmpDir string) (BackupManifest, error) {
	stage, err := os.MkdirTemp(tmpDir, ".pedigree-verify-")
	if err != nil {
		return BackupManifest{}, fmt.Errorf("backup: verify: %w", err)
	}
	defer os.RemoveAll(stage)
	return unpackBackup(ctx, r, stage)
}

// requireEmptyDir refuses a dir that exists and holds anything, or is not
// a directory.
func requireEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore: data directory %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("restore: data directory %s: must be empty or absent (it holds %s)", dir, entries[0].Name())
	}
	return nil
}

// unpackBackup reads the archive from r into the empty directory dir,
// checking each member against the manifest, then audits the ledger.
func unpackBackup(ctx context.Context, r io.Reader, dir string) (BackupManifest, error) {
	var m BackupManifest
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil {
		return m, fmt.Errorf("%w: no manifest: %w", ErrBackupInvalid, err)
	}
	if hdr.Name != ManifestName || hdr.Typeflag != tar.TypeReg {
		return m, fmt.Errorf("%w: first member %q, want %s", ErrBackupInvalid, hdr.Name, ManifestName)
	}
	if hdr.Size <= 0 || hdr.Size > maxManifest {
		return m, fmt.Errorf("%w: manifest of %d bytes, want 1 to %d", ErrBackupInvalid, hdr.Size, maxManifest)
	}
	mj, err := io.ReadAll(io.LimitReader(tr, hdr.Size))
	if err != nil {
		return m, fmt.Errorf("%w: read manifest: %w", ErrBackupInvalid, err)
	}
	if err := json.Unmarshal(mj, &m); err != nil {
		return m, fmt.Errorf("%w: manifest: %w", ErrBackupInvalid, err)
	}
	if err := m.validate(); err != nil {
		return m, err
	}
	for _, mem := range m.Members {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		hdr, err := tr.Next()
		if err != nil {
			return m, fmt.Errorf("%w: member %s: missing: %w", ErrBackupInvalid, mem.Name, err)
		}
		if hdr.Name != mem.Name || hdr.Typeflag != tar.TypeReg {
			return m, fmt.Errorf("%w: member %s: found %q in its place", ErrBackupInvalid, mem.Name, hdr.Name)
		}
		if hdr.Size != mem.Size {
			return m, fmt.Errorf("%w: member %s: %d bytes, manifest says %d", ErrBackupInvalid, mem.Name, hdr.Size, mem.Size)
		}
		if err := extractMember(tr, dir, mem); err != nil {
			return m, err
		}
	}
	if hdr, err := tr.Next(); err == nil {
		return m, fmt.Errorf("%w: member %q: not in the manifest", ErrBackupInvalid, hdr.Name)
	} else if !errors.Is(err, io.EOF) {
		return m, fmt.Errorf("%w: after the last member: %w", ErrBackupInvalid, err)
	}
	head, err := inspectBackupDir(ctx, dir)
	if err != nil {
		return m, err
	}
	if head.size != m.LedgerSize || head.root != m.RootHash {
		return m, fmt.Errorf("%w: ledger size %d root %s, manifest says size %d root %s", ErrBackupInvalid, head.size, head.root, m.LedgerSize, m.RootHash)
	}
	if head.applied != m.AppliedSeq {
		return m, fmt.Errorf("%w: applied stream sequence %d, manifest says %d", ErrBackupInvalid, head.applied, m.AppliedSeq)
	}
	return m, nil
}

// extractMember writes the member mem, read from r, under dir (mode
// 0600, directories 0700) and checks its SHA-256.
func extractMember(r io.Reader, dir string, mem BackupMember) (err error) {
	p := filepath.Join(dir, filepath.FromSlash(mem.Name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("restore: member %s: %w", mem.Name, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("restore: member %s: %w", mem.Name, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("restore: member %s: %w", mem.Name, cerr)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, mem.Size))
	if err != nil {
		return fmt.Errorf("%w: member %s: %w", ErrBackupInvalid, mem.Name, err)
	}
	if n != mem.Size {
		return fmt.Errorf("%w: member %s: %d bytes, manifest says %d", ErrBackupInvalid, mem.Name, n, mem.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != mem.SHA256 {
		return fmt.Errorf("%w: member %s: SHA-256 %s, manifest says %s", ErrBackupInvalid, mem.Name, got, mem.SHA256)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("restore: member %s: %w", mem.Name, err)
	}
	return nil
}
