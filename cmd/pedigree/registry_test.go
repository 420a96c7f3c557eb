package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestPharmacyDayFromTheCLI runs the CLI against a real server: register a
// manufacturer and a pharmacy, a product and a batch, commission serials,
// verify and dispense one, and see the second dispense refused.
func TestPharmacyDayFromTheCLI(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	run, adminToken, mfr := serveWithManufacturer(ctx, t, dir)
	out, _ := run(adminToken, "party", "create", "--gln", "4000005000001", "--name", "Apotheke", "--role", "pharmacy")
	pharm := cliToken.FindStringSubmatch(out)[1]

	if out, code := run(mfr, "product", "create", "--gtin", "09506000134352", "--name", "Paracetamol 500 mg"); code != 0 {
		t.Fatalf("product create: %s", out)
	}
	if out, code := run(mfr, "product", "create", "--gtin", "09506000134353", "--name", "x"); code != 1 || !strings.Contains(out, "product.gtin") {
		t.Fatalf("product with a bad check digit: exit %d %s, want 1 naming product.gtin", code, out)
	}
	if out, code := run(mfr, "batch", "create", "09506000134352", "--lot", "LOT42", "--expiry", "281200"); code != 0 {
		t.Fatalf("batch create: %s", out)
	}
	out, code := run(mfr, "commission", "09506000134352", "LOT42", "--count", "3", "--json")
	var com struct {
		Commissioned string
		Serials      []string
	}
	if code != 0 || json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &com) != nil || com.Commissioned != "3" || len(com.Serials) != 3 {
		t.Fatalf("commission: %d %s", code, out)
	}
	barcode := "(01)09506000134352(17)281200(10)LOT42(21)" + com.Serials[0]
	if out, code := run(pharm, "verify", barcode); code != 0 || !strings.Contains(out, "MAY BE DISPENSED") {
		t.Fatalf("verify: %d %s", code, out)
	}
	if out, code := run(pharm, "dispense", barcode); code != 0 || !strings.Contains(out, "supplied") {
		t.Fatalf("dispense: %d %s", code, out)
	}
	if out, code := run(pharm, "dispense", barcode); code != 3 || !strings.Contains(out, "ALREADY_INACTIVE") {
		t.Fatalf("second dispense: exit %d %s, want 3 with ALREADY_INACTIVE", code, out)
	}
	if out, code := run(pharm, "verify", "(01)09506000134352(21)FAKE"); code != 3 || !strings.Contains(out, "UNKNOWN_SERIAL") {
		t.Fatalf("verify a counterfeit: exit %d %s", code, out)
	}
	out, code = run(adminToken, "history", barcode)
	if code != 0 || !strings.Contains(out, "commissioning") || !strings.Contains(out, "dispensing") || !strings.Contains(out, "entries verified against checkpoint") {
		t.Fatalf("history: exit %d %s", code, out)
	}
	if out, code := run(adminToken, "trace", "09506000134352", "LOT42"); code != 0 || !strings.Contains(out, "supplied") {
		t.Fatalf("trace: exit %d %s", code, out)
	}
	if out, code := run(adminToken, "alerts", "--code", "already_inactive"); code != 0 || !strings.Contains(out, "ALREADY_INACTIVE") {
		t.Fatalf("alerts: exit %d %s", code, out)
	}
}
