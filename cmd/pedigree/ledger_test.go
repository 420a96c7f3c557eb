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
	ledgerentry "github.com/pedigree-project/pedigree/ledger/entry"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/node"
)

// fillLedger appends n entries to the stopped node's ledger in dir, as the
// node's ingest would, alternately of format 1 (as nodes wrote before the
// format was specified) and of format 2, the latter with evidence.
func fillLedger(t *testing.T, dir string, n int) {
	t.Helper()
	var entries [][]byte
	for i := range n {
		e := &pb.LedgerEntry{Index: uint64(i + 1), PartyGln: "4000005000001", EventIds: []string{fmt.Sprintf("urn:uuid:%03d", i)},
			Outcomes: []*pb.Outcome{{Applied: true, Affected: 1}}}
		var b []byte
		var err error
		if i%2 == 0 {
			b, err = ledgerentry.AppendFormat(nil, e, ledgerentry.Format1)
		} else {
			e.Outcomes[0].Alerts = []*pb.Alert{{AlertId: fmt.Sprintf("%d-0", i+1), Code: pb.AlertCode_ALERT_CODE_UNKNOWN_SERIAL,
				Evidence: []*pb.EvidenceItem{{Key: "serial", Value: "S1"}, {Key: "gtin", Value: "04012345000009"}}}}
			b, err = ledgerentry.Append(nil, e)
		}
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, b)
	}
	appendToLedger(t, dir, entries)
}

// appendToLedger appends entries to the stopped node's ledger in dir, with
// a checkpoint signed by the node's key.
func appendToLedger(t *testing.T, dir string, entries [][]byte) {
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
	if !strings.Contains(string(out), "ok: 101 entries (format 1: 50, format 2: 51)") || !strings.Contains(string(out), "checkpoints verified") {
		t.Fatalf("ledger verify summary: %s", out)
	}

	// An entry of a format this binary does not know is named, not read.
	appendToLedger(t, dir, [][]byte{{0x08, 0x65, 0x50, 0x03}})
	out, err = pedigreeCmd(ctx, t, "ledger", "verify", "--data", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "entry 101") || !strings.Contains(string(out), "unknown format 3") {
		t.Fatalf("ledger verify on an entry of format 3: %v\n%s", err, out)
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
