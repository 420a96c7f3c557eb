package witness

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/pedigree-project/pedigree/ledger"
)

// Key files of a witness, in its keys directory.
const (
	// KeyFile holds the witness's private Ed25519 note key, mode 0600.
	KeyFile = "witness.key"
	// VerifierKeyFile holds its cosignature/v1 verifier key, for the logs
	// and regulators that trust it.
	VerifierKeyFile = "witness.vkey"
)

// LoadOrCreateKey returns the witness's cosignature/v1 signer kept in dir
// and its verifier key (an Ed25519 cosignature/v1 vkey, type 0x04),
// generating a key named name on first use. name may be empty once the key
// exists; a name that differs from the stored key's is refused. The
// verifier key is also written to dir/VerifierKeyFile.
func LoadOrCreateKey(dir, name string) (note.Signer, string, error) {
	skey, vkey, err := ledger.LoadOrCreateSignerKey(dir, KeyFile, name)
	if err != nil {
		return nil, "", fmt.Errorf("witness key: %w", err)
	}
	signer, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		return nil, "", fmt.Errorf("witness key: %w", err)
	}
	cvkey, err := fnote.VKeyToCosignatureV1(vkey)
	if err != nil {
		return nil, "", fmt.Errorf("witness key: %w", err)
	}
	path := filepath.Join(dir, VerifierKeyFile)
	if old, err := os.ReadFile(path); err != nil || strings.TrimSpace(string(old)) != cvkey {
		if err := writeFileAtomic(path, []byte(cvkey+"\n")); err != nil {
			return nil, "", fmt.Errorf("witness key: %w", err)
		}
	}
	return signer, cvkey, nil
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// NewCosignatureVerifier returns the verifier of a witness's cosignature/v1
// vkey. A plain Ed25519 vkey (type 0x01) is read as the cosignature/v1 key
// of the same Ed25519 key.
func NewCosignatureVerifier(vkey string) (note.Verifier, error) {
	v, err := fnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		return nil, fmt.Errorf("verifier key %q: %w", vkey, err)
	}
	return v, nil
}

// NewTrustedVerifier returns the verifier of a key a regulator trusts: a
// log's Ed25519 note key (type 0x01) or a witness's cosignature/v1 key
// (type 0x04).
func NewTrustedVerifier(vkey string) (note.Verifier, error) {
	v, err := fnote.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("verifier key %q: %w", vkey, err)
	}
	return v, nil
}

// ParseLog reads one witnessed log as the witness's --log flag and logs
// file give it: "ORIGIN=VKEY", or "VKEY" alone when the origin is the key's
// name (as for a Pedigree node, whose key is named after its origin).
func ParseLog(s string) (Log, error) {
	s = strings.TrimSpace(s)
	origin, vkey := "", s
	if v, err := note.NewVerifier(s); err == nil {
		return Log{Origin: v.Name(), Verifiers: []note.Verifier{v}}, nil
	}
	if i := strings.Index(s, "="); i > 0 {
		origin, vkey = s[:i], s[i+1:]
	}
	if origin == "" {
		return Log{}, fmt.Errorf("log %q: want ORIGIN=VKEY or a verifier key", s)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return Log{}, fmt.Errorf("log %q: verifier key: %w", origin, err)
	}
	return Log{Origin: origin, Verifiers: []note.Verifier{v}}, nil
}

// ParseLogs reads the logs of a logs file, one ParseLog line each; blank
// lines and lines starting with # are skipped. Lines naming the same
// origin add keys to it.
func ParseLogs(data []byte) ([]Log, error) {
	var logs []Log
	at := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		l, err := ParseLog(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		logs = MergeLog(logs, at, l)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return logs, nil
}

// MergeLog adds l to logs, appending its keys to a log of the same origin
// already there; at maps origins to their place in logs.
func MergeLog(logs []Log, at map[string]int, l Log) []Log {
	if i, ok := at[l.Origin]; ok {
		logs[i].Verifiers = append(logs[i].Verifiers, l.Verifiers...)
		return logs
	}
	at[l.Origin] = len(logs)
	return append(logs, l)
}

// An Endpoint is a witness a node asks for cosignatures: its submission
// prefix and its cosignature verifier key.
type Endpoint struct {
	// URL is the witness's submission prefix (add-checkpoint is below it).
	URL string
	// VerifierKey is its cosignature/v1 verifier key.
	VerifierKey string
}

// ParseEndpoint reads a node's --witness flag: "URL=VKEY".
func ParseEndpoint(s string) (Endpoint, error) {
	u, vkey, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok || u == "" || vkey == "" {
		return Endpoint{}, fmt.Errorf("witness %q: want URL=VERIFIERKEY", s)
	}
	if _, err := NewClient(u, vkey, &http.Client{}); err != nil {
		return Endpoint{}, err
	}
	return Endpoint{URL: u, VerifierKey: vkey}, nil
}

// NewEd25519Cosigner returns the cosignature/v1 signer of an Ed25519 key
// named name, and its verifier key (type 0x04): how a ledger node
// cosigns with its node key. The cosigned message starts with
// "cosignature/v1\n", so it can be taken for no other message the key
// signs (protobuf envelopes, notices with their own prefixes).
func NewEd25519Cosigner(name string, priv ed25519.PrivateKey) (note.Signer, string, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, "", fmt.Errorf("cosigner %q: not an Ed25519 private key", name)
	}
	// The signer computes the key hash itself: any eight hex digits do.
	skey := "PRIVATE+KEY+" + name + "+00000000+" + base64.StdEncoding.EncodeToString(append([]byte{1}, priv.Seed()...))
	s, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		return nil, "", fmt.Errorf("cosigner %q: %w", name, err)
	}
	vkey, err := note.NewEd25519VerifierKey(name, priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, "", fmt.Errorf("cosigner %q: %w", name, err)
	}
	if vkey, err = fnote.VKeyToCosignatureV1(vkey); err != nil {
		return nil, "", fmt.Errorf("cosigner %q: %w", name, err)
	}
	return s, vkey, nil
}

// ParseCosignatureKey returns the name and Ed25519 public key of a
// cosignature/v1 verifier key (type 0x04), checking its key hash.
func ParseCosignatureKey(vkey string) (string, ed25519.PublicKey, error) {
	v, err := NewCosignatureVerifier(vkey)
	if err != nil {
		return "", nil, err
	}
	parts := strings.SplitN(vkey, "+", 3)
	key, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(key) != 1+ed25519.PublicKeySize || key[0] != cosignatureV1Alg {
		return "", nil, fmt.Errorf("verifier key %q: not an Ed25519 cosignature/v1 key", vkey)
	}
	if fmt.Sprintf("%08x", v.KeyHash()) != parts[1] {
		return "", nil, fmt.Errorf("verifier key %q: wrong key hash", vkey)
	}
	return v.Name(), ed25519.PublicKey(key[1:]), nil
}

// cosignatureV1Alg is the key type byte of an Ed25519 cosignature/v1 key.
const cosignatureV1Alg = 0x04
