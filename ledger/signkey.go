package ledger

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Names of the key files LoadOrCreateKey keeps in its directory.
const (
	// KeyFile holds the note signer key ("PRIVATE+KEY+name+hash+key"),
	// mode 0600. It must stay secret.
	KeyFile = "checkpoint.key"
	// VerifierKeyFile holds the public note verifier key
	// ("name+hash+key"), mode 0644, for publishing.
	VerifierKeyFile = "checkpoint.vkey"
)

// LoadOrCreateKey returns the checkpoint signer kept in dir, generating an
// Ed25519 key named name on first use. The private key is written to
// dir/KeyFile with mode 0600 and the public verifier key to
// dir/VerifierKeyFile; both are written atomically and never overwritten.
// It refuses a private key file readable by group or others, a key of
// another name, and a verifier key file that does not match the key.
// name is the signature name in the note, often the log's origin.
func LoadOrCreateKey(dir, name string) (note.Signer, note.Verifier, error) {
	if name == "" {
		return nil, nil, errors.New("ledger: key: a name is required")
	}
	skey, vkey, err := LoadOrCreateSignerKey(dir, KeyFile, name)
	if err != nil {
		return nil, nil, err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, nil, fmt.Errorf("ledger: key %s: %w", filepath.Join(dir, KeyFile), err)
	}
	skeyPath := filepath.Join(dir, KeyFile)
	vkeyPath := filepath.Join(dir, VerifierKeyFile)
	stored, err := readKeyFile(vkeyPath, false)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := writeNewFile(vkeyPath, vkey+"\n", 0o644); err != nil {
			return nil, nil, err
		}
	case err != nil:
		return nil, nil, err
	case stored != vkey:
		return nil, nil, fmt.Errorf("ledger: %s does not match %s", vkeyPath, skeyPath)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, nil, fmt.Errorf("ledger: key: %w", err)
	}
	return signer, verifier, nil
}

// LoadOrCreateSignerKey returns the Ed25519 note signer key kept in
// dir/file and its standard verifier key, generating a key named name on
// first use (written atomically with mode 0600, never overwritten). An
// empty name accepts the stored key's name; it is then required only to
// create the key. It refuses a key file readable by group or others and a
// key of another name.
func LoadOrCreateSignerKey(dir, file, name string) (skey, vkey string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("ledger: key: %w", err)
	}
	skeyPath := filepath.Join(dir, file)
	skey, err = readKeyFile(skeyPath, true)
	if errors.Is(err, fs.ErrNotExist) {
		if name == "" {
			return "", "", fmt.Errorf("ledger: key %s does not exist and no name was given to create it", skeyPath)
		}
		var vkey string
		if skey, vkey, err = note.GenerateKey(rand.Reader, name); err != nil {
			return "", "", fmt.Errorf("ledger: key: %w", err)
		}
		if err = writeNewFile(skeyPath, skey+"\n", 0o600); err == nil && file == KeyFile {
			err = writeNewFile(filepath.Join(dir, VerifierKeyFile), vkey+"\n", 0o644)
		}
	}
	if err != nil {
		return "", "", err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return "", "", fmt.Errorf("ledger: key %s: %w", skeyPath, err)
	}
	if name == "" {
		name = signer.Name()
	}
	if signer.Name() != name {
		return "", "", fmt.Errorf("ledger: key %s is named %q, want %q", skeyPath, signer.Name(), name)
	}
	if vkey, err = verifierKeyOf(skey, name); err != nil {
		return "", "", fmt.Errorf("ledger: key %s: %w", skeyPath, err)
	}
	return skey, vkey, nil
}

// ReadVerifierKey returns the verifier key text that LoadOrCreateKey wrote
// in dir, for Options.VerifierKey and for publishing.
func ReadVerifierKey(dir string) (string, error) {
	return readKeyFile(filepath.Join(dir, VerifierKeyFile), false)
}

// verifierKeyOf derives the verifier key of a note signer key.
func verifierKeyOf(skey, name string) (string, error) {
	// PRIVATE+KEY+name+hash+key; the base64 key may itself contain '+'.
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 {
		return "", errors.New("malformed note signer key")
	}
	key, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(key) != 1+ed25519.SeedSize || key[0] != 1 {
		return "", errors.New("not an Ed25519 note signer key")
	}
	pub := ed25519.NewKeyFromSeed(key[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(name, pub)
}

func readKeyFile(path string, private bool) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("ledger: key: %w", err)
	}
	defer f.Close()
	if private {
		fi, err := f.Stat()
		if err != nil {
			return "", fmt.Errorf("ledger: key: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("ledger: key %s has mode %#o, want 0600", path, fi.Mode().Perm())
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", fmt.Errorf("ledger: key %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// writeNewFile writes data to path atomically (temporary file, fsync,
// hard link) and fails if path exists.
func writeNewFile(path, data string, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("ledger: key: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.WriteString(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("ledger: key: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
