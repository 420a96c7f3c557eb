package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/ledger"
	"github.com/pedigree-project/pedigree/services/node"
)

var (
	witnessURL = regexp.MustCompile(`URL:\s+(http://\S+)`)
	witnessKey = regexp.MustCompile(`Key:\s+(\S+)`)
)

// startWitnessCommand runs `pedigree witness serve` for the log of vkey and
// returns its URL and cosignature key once it serves, and a stop function.
func startWitnessCommand(ctx context.Context, t *testing.T, name, vkey string) (url, key string, stop func()) {
	t.Helper()
	cmd := pedigreeCmd(ctx, t, "witness", "serve", "--data", t.TempDir(), "--name", name, "--listen", "127.0.0.1:0", "--log", vkey)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop = func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
	}
	t.Cleanup(stop)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := witnessURL.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
		}
		if m := witnessKey.FindStringSubmatch(sc.Text()); m != nil && url != "" {
			return url, m[1], stop
		}
	}
	t.Fatalf("witness exited without printing its URL and key: %v", cmd.Wait())
	return "", "", nil
}

// TestHistoryVerifiedWithWitnessCosignatures runs a node with two witnesses
// (all three real processes): the node serves checkpoints carrying three
// signatures, history --min-signatures 2 verifies a pack, 4 fails and says
// why, and a witness that stops does not stop the ledger.
func TestHistoryVerifiedWithWitnessCosignatures(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// The node's checkpoint key, made first so that the witnesses can be
	// told to follow it; the node loads it.
	keys := filepath.Join(dir, "keys")
	if _, _, err := ledger.LoadOrCreateKey(keys, "pedigree/ledger/"+node.DefaultAdminGLN); err != nil {
		t.Fatal(err)
	}
	nodeKey, err := ledger.ReadVerifierKey(keys)
	if err != nil {
		t.Fatal(err)
	}
	url1, key1, _ := startWitnessCommand(ctx, t, "witness.test/one", nodeKey)
	url2, key2, stop2 := startWitnessCommand(ctx, t, "witness.test/two", nodeKey)

	run, admin, mfr := serveWithManufacturer(ctx, t, dir, "--witness", url1+"="+key1, "--witness", url2+"="+key2, "--witness-quorum", "2")
	commission := func(lot string) string {
		t.Helper()
		if out, code := run(mfr, "batch", "create", "09506000134352", "--lot", lot, "--expiry", "281200"); code != 0 {
			t.Fatalf("batch create: %s", out)
		}
		out, code := run(mfr, "commission", "09506000134352", lot, "--count", "1", "--out", filepath.Join(dir, lot+".txt"))
		if code != 0 {
			t.Fatalf("commission: %s", out)
		}
		serials, err := os.ReadFile(filepath.Join(dir, lot+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		serial := strings.Fields(string(serials))[0]
		return "(01)09506000134352(17)281200(10)" + lot + "(21)" + serial
	}
	if out, code := run(mfr, "product", "create", "--gtin", "09506000134352", "--name", "Paracetamol 500 mg"); code != 0 {
		t.Fatalf("product create: %s", out)
	}
	barcode := commission("LOT1")
	trust := []string{"--trust", nodeKey, "--trust", key1, "--trust", key2}
	history := func(min string, barcode string) (string, int) {
		return run(admin, append([]string{"history", barcode, "--min-signatures", min}, trust...)...)
	}

	out, code := history("2", barcode)
	if code != 0 || !strings.Contains(out, "entries verified against checkpoint") || !strings.Contains(out, "witness.test/one") || !strings.Contains(out, "witness.test/two") {
		t.Fatalf("history --min-signatures 2: exit %d\n%s", code, out)
	}
	out, code = run(admin, append([]string{"ledger", "checkpoint", "--min-signatures", "3"}, trust...)...)
	if code != 0 || strings.Count(out, "\n— ") != 3 {
		t.Fatalf("ledger checkpoint --min-signatures 3: exit %d, want a note with 3 signatures\n%s", code, out)
	}
	out, code = run(admin, append([]string{"ledger", "proof", "--index", "0", "--min-signatures", "3"}, trust...)...)
	if code != 0 || !strings.Contains(out, "verified: entry 0") {
		t.Fatalf("ledger proof --min-signatures 3: exit %d\n%s", code, out)
	}
	out, code = history("4", barcode)
	if code != 1 || !strings.Contains(out, "does NOT meet --min-signatures 4") || !strings.Contains(out, "carries 3 valid signature(s) from trusted keys") {
		t.Fatalf("history --min-signatures 4: exit %d, want 1 and why\n%s", code, out)
	}
	// Trusting the node alone is not trusting witnesses.
	out, code = run(admin, "history", barcode, "--trust", nodeKey, "--min-signatures", "2")
	if code != 1 || !strings.Contains(out, "carries 1 valid signature(s)") {
		t.Fatalf("history trusting the node alone: exit %d\n%s", code, out)
	}

	// A witness stops: the ledger goes on, and new entries are proved
	// against a checkpoint with the signatures there are.
	stop2()
	later := commission("LOT2")
	if out, code := history("2", later); code != 0 || !strings.Contains(out, "witness.test/one") {
		t.Fatalf("history with one witness down, --min-signatures 2: exit %d\n%s", code, out)
	}
	if out, code := history("3", later); code != 1 || !strings.Contains(out, "carries 2 valid signature(s)") {
		t.Fatalf("history with one witness down, --min-signatures 3: exit %d\n%s", code, out)
	}
}
