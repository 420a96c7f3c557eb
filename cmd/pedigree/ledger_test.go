package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pedigree-project/pedigree/ledger"
	"github.com/pedigree-project/pedigree/services/node"
)

// fillLedger appends n entries to the stopped node's ledger in dir, as the
// node's ingest would, with a checkpoint signed by the node's key.
func fillLedger(t *testing.T, dir string, n int) {
	t.Helper()
	origin := "pedigree/ledger/" + node.DefaultAdminGLN
	signer, _, err := ledger.LoadOrCreateKey(filepath.Join(dir, node.KeysDir), origin)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := ledger.ReadVerifierKey(filepath.Join(dir, node.KeysDir))
	if err != nil {
		t.Fatal(err)
	}
	db := openTestPebble(t, dir)
	defer db.Close()
	l, err := ledger.Open(db, ledger.Options{Signer: signer, VerifierKey: vkey})
	if err != nil {
		t.Fatal(err)
	}
	var entries [][]byte
	for i := range n {
		entries = append(entries, fmt.Appendf(nil, "entry %03d of a pedigree ledger", i))
	}
	if _, err := l.Append(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func openTestPebble(t *testing.T, dir string) *pebble.DB {
	t.Helper()
	opts := ledger.PebbleOptions()
	opts.Logger = quietPebble{}
	db, err := pebble.Open(filepath.Join(dir, "pebble"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func flipEntryByte(t *testing.T, dir string, index uint64) {
	t.Helper()
	db := openTestPebble(t, dir)
	defer db.Close()
	key := make([]byte, 9)
	key[0] = 0x01 // ledger/keys.go: entry prefix
	binary.BigEndian.PutUint64(key[1:], index)
	v, closer, err := db.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte(nil), v...)
	closer.Close()
	tampered[len(tampered)-1] ^= 0x20
	if err := db.Set(key, tampered, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

func TestLedgerVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, _, _ := startServe(ctx, t, dir)
	_ = srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	fillLedger(t, dir, 100)

	out, err := pedigreeCmd(ctx, t, "ledger", "verify", "--data", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("ledger verify on a sound ledger: %v\n%s", err, out)
	}
	// 100 plus the genesis entry that serve wrote.
	if !strings.Contains(string(out), "ok: 101 entries") || !strings.Contains(string(out), "checkpoints verified") {
		t.Fatalf("ledger verify summary: %s", out)
	}

	flipEntryByte(t, dir, 41)
	out, err = pedigreeCmd(ctx, t, "ledger", "verify", "--data", dir).CombinedOutput()
	if err == nil {
		t.Fatalf("ledger verify passed a tampered ledger:\n%s", out)
	}
	if !strings.Contains(string(out), "entry 41") {
		t.Fatalf("ledger verify does not name entry 41:\n%s", out)
	}
}
