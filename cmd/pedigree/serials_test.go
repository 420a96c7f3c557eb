package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSerialFilesFromTheCLI registers a product with 13-digit serials,
// commissions more serials than one answer carries with --out, and reads
// the batch back with "batch serials": both files hold the same serials,
// every one 13 digits; the run sent again under its request ID writes the
// same file and commissions nothing more.
func TestSerialFilesFromTheCLI(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	run, _, mfr := serveWithManufacturer(ctx, t, dir)
	if out, code := run(mfr, "product", "create", "--gtin", "07891234567895", "--name", "Dipirona", "--serial-format", "numeric", "--serial-length", "13"); code != 0 {
		t.Fatalf("product create: %s", out)
	}
	if out, code := run(mfr, "product", "create", "--gtin", "09506000134352", "--name", "x", "--serial-format", "roman"); code == 0 || !strings.Contains(out, "--serial-format") {
		t.Fatalf("unknown serial format: exit %d %s", code, out)
	}
	if out, code := run(mfr, "batch", "create", "07891234567895", "--lot", "B1", "--expiry", "281200"); code != 0 {
		t.Fatalf("batch create: %s", out)
	}
	made, listed, csv := filepath.Join(dir, "made.txt"), filepath.Join(dir, "listed.txt"), filepath.Join(dir, "listed.csv")
	out, code := run(mfr, "commission", "07891234567895", "B1", "--count", "12345", "--out", made)
	rid := regexp.MustCompile(`request ID (\S+)`).FindStringSubmatch(out)
	if code != 0 || rid == nil {
		t.Fatalf("commission --out: %d %s", code, out)
	}
	// The run again under its request ID, as after a crash: the same file,
	// nothing commissioned twice.
	again := filepath.Join(dir, "again.txt")
	if out, code := run(mfr, "commission", "07891234567895", "B1", "--count", "12345", "--out", again, "--request-id", rid[1]); code != 0 {
		t.Fatalf("commission --out --request-id: %d %s", code, out)
	}
	if out, code := run(mfr, "batch", "serials", "07891234567895", "B1", "--out", listed); code != 0 {
		t.Fatalf("batch serials: %d %s", code, out)
	}
	if out, code := run(mfr, "batch", "serials", "07891234567895", "B1", "--format", "csv", "--status", "active", "--out", csv); code != 0 {
		t.Fatalf("batch serials --format csv: %d %s", code, out)
	}
	lines := func(path string) []string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	a, b := lines(made), lines(listed)
	if !slices.Equal(lines(again), a) {
		t.Errorf("the run resumed under its request ID wrote other serials")
	}
	if len(a) != 12345 {
		t.Fatalf("commission wrote %d serials, want 12345", len(a))
	}
	for _, sn := range a {
		if len(sn) != 13 || strings.Trim(sn, "0123456789") != "" {
			t.Fatalf("generated %q, want 13 digits", sn)
		}
	}
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Errorf("batch serials listed %d serials, not the %d commissioned", len(b), len(a))
	}
	c := lines(csv)
	if len(c) != 12346 || c[0] != "serial,status" || !strings.HasSuffix(c[1], ",ACTIVE") {
		t.Errorf("csv: %d lines, starting %q", len(c), c[:min(2, len(c))])
	}
}

// serveWithManufacturer starts a server for the CLI and registers
// manufacturer 4000001000005; it returns the runner, the admin's token and
// the manufacturer's.
func serveWithManufacturer(ctx context.Context, t *testing.T, dir string, extra ...string) (func(token string, args ...string) (string, int), string, string) {
	t.Helper()
	run := serveForCLI(ctx, t, dir, extra...)
	admin, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	out, code := run(string(admin), "party", "create", "--gln", "4000001000005", "--name", "Pharma AG", "--role", "manufacturer")
	m := cliToken.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("party create: %d %s", code, out)
	}
	return run, string(admin), m[1]
}

// cliToken finds the token the CLI prints for a new party.
var cliToken = regexp.MustCompile(`token \(shown once, keep it secret\): (\S+)`)
