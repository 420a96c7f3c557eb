package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestEPCISCaptureFromTheCLI captures an EPCIS document with `pedigree
// epcis capture` against a real server: the job, each event's outcome and
// the receipt verified; the same file again is recorded as duplicates; a
// document with a bad event under proceed captures the rest and exits 1.
func TestEPCISCaptureFromTheCLI(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv, httpAddr, grpcAddr := startServe(ctx, t, dir)
	t.Cleanup(func() { _ = srv.Process.Signal(syscall.SIGTERM); _ = srv.Wait() })
	run := cliRunner(ctx, t, grpcAddr)
	admin, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := run(string(admin), "party", "create", "--gln", "4000001000005", "--name", "Pharma AG", "--role", "manufacturer")
	mfr := cliToken.FindStringSubmatch(out)[1]
	if out, code := run(mfr, "product", "create", "--gtin", "09506000134352", "--name", "Paracetamol 500 mg"); code != 0 {
		t.Fatalf("product create: %s", out)
	}
	if out, code := run(mfr, "batch", "create", "09506000134352", "--lot", "L1", "--expiry", "281200"); code != 0 {
		t.Fatalf("batch create: %s", out)
	}
	event := func(gtin, serial string) string {
		return `{"type":"ObjectEvent","eventTime":"2026-11-30T09:00:00.000Z","eventTimeZoneOffset":"+00:00","action":"ADD","bizStep":"commissioning",` +
			`"disposition":"active","epcList":["https://id.gs1.org/01/` + gtin + `/21/` + serial + `"],"ilmd":{"cbvmda:lotNumber":"L1"}}`
	}
	doc := func(events ...string) string {
		return `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",` +
			`"creationDate":"2026-11-30T10:00:00Z","epcisBody":{"eventList":[` + strings.Join(events, ",") + `]}}`
	}
	good := filepath.Join(t.TempDir(), "commission.jsonld")
	if err := os.WriteFile(good, []byte(doc(event("09506000134352", "C-1"), event("09506000134352", "C-2"))), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := run(mfr, "epcis", "capture", "--http", httpAddr, good)
	if code != 0 || strings.Count(out, " recorded") != 2 || !strings.Contains(out, "receipt verified") || !strings.Contains(out, "/epcis/capture/") {
		t.Fatalf("capture: exit %d\n%s", code, out)
	}
	out, code = run(mfr, "epcis", "capture", "--http", httpAddr, good)
	if code != 0 || strings.Count(out, "duplicate of #") != 2 || !strings.Contains(out, "receipt verified") {
		t.Fatalf("capture again: exit %d\n%s", code, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(doc(event("09506000134352", "C-3"), event("09506000134359", "C-4"))), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code = run(mfr, "epcis", "capture", "--http", httpAddr, "--behaviour", "proceed", bad)
	if code != 1 || strings.Count(out, " recorded") != 1 || !strings.Contains(out, "FAILED") || !strings.Contains(out, "/epcisBody/eventList/1") {
		t.Fatalf("capture with a bad event: exit %d\n%s", code, out)
	}
}
