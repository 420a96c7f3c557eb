package node

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tarMember is one member of an archive rewritten by a test.
type tarMember struct {
	name string
	data []byte
}

func readTar(t *testing.T, archive []byte) []tarMember {
	t.Helper()
	var ms []tarMember
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return ms
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, tarMember{hdr.Name, b})
	}
}

func writeTar(t *testing.T, ms []tarMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o600, Size: int64(len(m.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withManifest returns the archive with its manifest changed by edit.
func withManifest(t *testing.T, archive []byte, edit func(m *BackupManifest)) []byte {
	t.Helper()
	ms := readTar(t, archive)
	var m BackupManifest
	if err := json.Unmarshal(ms[0].data, &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	ms[0].data = b
	return writeTar(t, ms)
}

// TestRestoreRefusesHostileArchives: every way an archive can differ from
// what a backup writes is refused, naming what differs, and leaves the
// target directory absent.
func TestRestoreRefusesHostileArchives(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	shutdown(t, startNode(t, testConfig(dir)))
	var buf bytes.Buffer
	if _, err := BackupStopped(ctx, dir, "n1", &buf, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	if _, err := VerifyBackup(ctx, bytes.NewReader(good), t.TempDir()); err != nil {
		t.Fatalf("VerifyBackup of a good archive: %v", err)
	}
	ms := readTar(t, good)
	for _, tc := range []struct {
		name    string
		archive []byte
		want    string
	}{
		{"empty", nil, "no manifest"},
		{"truncated", good[:len(good)/2], "member"},
		{"manifest not first", writeTar(t, append(ms[1:2:2], ms[0])), "first member"},
		{"extra member", writeTar(t, append(append([]tarMember{}, ms...), tarMember{"keys/extra", []byte("x")})), `"keys/extra": not in the manifest`},
		{"member missing", writeTar(t, ms[:len(ms)-1]), "missing"},
		{"traversal", withManifest(t, good, func(m *BackupManifest) { m.Members[0].Name = "../../etc/passwd" }), "clean relative path"},
		{"outside", withManifest(t, good, func(m *BackupManifest) { m.Members[0].Name = "nats/x" }), "must be admin.token or under"},
		{"format", withManifest(t, good, func(m *BackupManifest) { m.Format = 2 }), "format 2"},
		{"root", withManifest(t, good, func(m *BackupManifest) { m.RootHash = strings.Repeat("0", 64) }), "manifest says size"},
		{"applied", withManifest(t, good, func(m *BackupManifest) { m.AppliedSeq++ }), "applied stream sequence"},
		{"listed twice", withManifest(t, good, func(m *BackupManifest) { m.Members[1] = m.Members[0] }), "listed twice"},
		{"bad hash", withManifest(t, good, func(m *BackupManifest) { m.Members[0].SHA256 = "zz" }), "sha256 must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "r")
			_, err := Restore(ctx, bytes.NewReader(tc.archive), target)
			if !errors.Is(err, ErrBackupInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Restore: %v, want ErrBackupInvalid with %q", err, tc.want)
			}
			if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a refused restore left %s: %v", target, err)
			}
		})
	}
}
