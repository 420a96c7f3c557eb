package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/services/node"
)

// TestBackupAndRestoreCommands backs a serving node up through its
// operator listener with the CLI, restores the archive into a new
// directory and audits the restored ledger; restore refuses a non-empty
// directory and backup an --out that exists.
func TestBackupAndRestoreCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	cfg := node.DefaultConfig()
	cfg.DataDir, cfg.GRPCAddr, cfg.HTTPAddr, cfg.NATSListen, cfg.MetricsAddr = dir, "127.0.0.1:0", "127.0.0.1:0", "", "127.0.0.1:0"
	n, err := node.Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = n.Shutdown(context.Background()) }()
	out := filepath.Join(t.TempDir(), "node.tar")
	args := []string{"backup", "--operator", n.MetricsAddr(), "--token-file", n.AdminTokenPath(), "--out", out}
	if stdout, stderr, ok := runPedigree(ctx, t, "", nil, args...); !ok || !strings.Contains(stdout, "written to") ||
		!strings.Contains(stdout, "recorded for stream retention") {
		t.Fatalf("backup: %s %s", stdout, stderr)
	}
	fi, err := os.Stat(out)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive: %v %v, want mode 0600", fi, err)
	}
	if _, stderr, ok := runPedigree(ctx, t, "", nil, args...); ok || !strings.Contains(stderr, "exists already") {
		t.Fatalf("backup over an existing --out: %s", stderr)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if stdout, stderr, ok := runPedigree(ctx, t, "", nil, "restore", "--from", out, "--data", restored); !ok || !strings.Contains(stdout, "restored") {
		t.Fatalf("restore: %s %s", stdout, stderr)
	}
	if size, root := ledgerRoot(ctx, t, restored); size == 0 || root == "" {
		t.Fatalf("restored ledger: size %d root %q", size, root)
	}
	if _, stderr, ok := runPedigree(ctx, t, "", nil, "restore", "--from", out, "--data", restored); ok || !strings.Contains(stderr, "must be empty") {
		t.Fatalf("restore into a non-empty directory: %s", stderr)
	}
}
