package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCompanyPrefixesFromTheCLI gives a manufacturer GS1 Company Prefixes
// at registration and later, against a real server, and sees products
// outside them and overlapping prefixes refused.
func TestCompanyPrefixesFromTheCLI(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	run := serveForCLI(ctx, t, dir)
	b, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	admin := string(b)
	out, code := run(admin, "party", "create", "--gln", "4000001000005", "--name", "Pharma AG", "--role", "manufacturer",
		"--prefix", "4000001", "--prefix", "9506000")
	m := cliToken.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("party create with prefixes: %d %s", code, out)
	}
	mfr := m[1]
	if out, code := run(admin, "party", "create", "--gln", "4000005000001", "--name", "Other AG", "--role", "manufacturer", "--prefix", "40000012"); code != 1 ||
		!strings.Contains(out, "40000012 extends 4000001") {
		t.Fatalf("an overlapping prefix: exit %d %s, want 1 naming both prefixes", code, out)
	}
	if out, code := run(admin, "party", "create", "--gln", "4000005000001", "--name", "Other AG", "--role", "manufacturer", "--prefix", "12a4"); code != 1 ||
		!strings.Contains(out, "companyPrefixes[0]") {
		t.Fatalf("a prefix that is no digits: exit %d %s, want 1 naming the field", code, out)
	}
	if out, code := run(mfr, "product", "create", "--gtin", "09506000134352", "--name", "Paracetamol 500 mg"); code != 0 {
		t.Fatalf("a product inside the prefixes: %d %s", code, out)
	}
	if out, code := run(mfr, "product", "create", "--gtin", "05012345000015", "--name", "Outside"); code != 1 ||
		!strings.Contains(out, "product.gtin") || !strings.Contains(out, "not inside the company prefixes") {
		t.Fatalf("a product outside the prefixes: exit %d %s, want 1 naming product.gtin and the rule", code, out)
	}
	if out, code := run(mfr, "party", "prefix", "add", "4000001000005", "5012345"); code == 0 || !strings.Contains(out, "only an admin") {
		t.Fatalf("a manufacturer adding its own prefix: exit %d %s", code, out)
	}
	if out, code := run(admin, "party", "prefix", "add", "4000001000005", "5012345"); code != 0 || !strings.Contains(out, "4000001, 9506000, 5012345") {
		t.Fatalf("prefix add: %d %s", code, out)
	}
	if out, code := run(mfr, "product", "create", "--gtin", "05012345000015", "--name", "Now inside"); code != 0 {
		t.Fatalf("a product inside the added prefix: %d %s", code, out)
	}
	if out, code := run(admin, "party", "prefix", "add", "4000001000005", "501"); code != 1 || !strings.Contains(out, "companyPrefix") {
		t.Fatalf("a three-digit prefix: exit %d %s, want 1 naming companyPrefix", code, out)
	}
	if out, code := run(admin, "party", "get", "4000001000005"); code != 0 || !strings.Contains(out, "company prefixes: 4000001, 9506000, 5012345") {
		t.Fatalf("party get: %d %s", code, out)
	}
}
