package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveForCLI starts `pedigree serve` on dir (stopped when the test ends)
// and returns a function that runs the CLI against it with a token, giving
// its output and exit status.
func serveForCLI(ctx context.Context, t *testing.T, dir string, extra ...string) func(token string, args ...string) (string, int) {
	t.Helper()
	srv, _, addr := startServe(ctx, t, dir, extra...)
	t.Cleanup(func() { _ = srv.Process.Signal(syscall.SIGTERM); _ = srv.Wait() })
	return cliRunner(ctx, t, addr)
}

// cliRunner runs the CLI against the server at gRPC address addr with a
// token, and returns its output and exit code.
func cliRunner(ctx context.Context, t *testing.T, addr string) func(token string, args ...string) (string, int) {
	return func(token string, args ...string) (string, int) {
		t.Helper()
		cmd := pedigreeCmd(ctx, t, args...)
		cmd.Env = append(cmd.Env, "PEDIGREE_SERVER="+addr, "PEDIGREE_TOKEN="+strings.TrimSpace(token))
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return string(out), 0
	}
}

// TestTokenCommands issues, lists and revokes a party's own tokens from the
// CLI against a real server.
func TestTokenCommands(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	run := serveForCLI(ctx, t, dir)
	admin, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	tokenOf := regexp.MustCompile(`token \(shown once, keep it secret\): (\S+)`)
	idOf := regexp.MustCompile(`token ID: ([0-9a-f]{16})`)
	out, code := run(string(admin), "party", "create", "--gln", "4000005000001", "--name", "Apotheke", "--role", "pharmacy")
	if code != 0 || tokenOf.FindStringSubmatch(out) == nil {
		t.Fatalf("party create: %d %s", code, out)
	}
	pharm := tokenOf.FindStringSubmatch(out)[1]

	out, code = run(pharm, "token", "create", "--expires-in", "720h")
	if code != 0 || tokenOf.FindStringSubmatch(out) == nil || idOf.FindStringSubmatch(out) == nil || strings.Contains(out, "expires: never") {
		t.Fatalf("token create: %d %s", code, out)
	}
	second, secondID := tokenOf.FindStringSubmatch(out)[1], idOf.FindStringSubmatch(out)[1]
	out, code = run(second, "token", "list")
	if code != 0 || !strings.Contains(out, secondID) || strings.Count(out, "active") != 2 || strings.Contains(out, second) {
		t.Fatalf("token list: %d %s, want two active tokens and no secret", code, out)
	}
	if out, code = run(pharm, "token", "create", "--expires-in", "1h", "--expires-at", "2030-01-01T00:00:00Z"); code != 1 || !strings.Contains(out, "not both") {
		t.Fatalf("both expiry flags: %d %s", code, out)
	}
	// A field error prints the server's words: the field, the rule, the code.
	if out, code = run(pharm, "verify", "(01)09506000134353(21)S"); code != 1 || !strings.Contains(out, "pack.barcode") || !strings.Contains(out, "InvalidArgument") {
		t.Fatalf("verify a bad GTIN: %d %s, want InvalidArgument naming pack.barcode", code, out)
	}
	if out, code = run(pharm, "token", "list", "--party", "9520000000004"); code != 1 || !strings.Contains(out, "PermissionDenied") {
		t.Fatalf("listing the admin's tokens as a pharmacy: %d %s, want PermissionDenied", code, out)
	}
	if out, code = run(pharm, "token", "revoke", secondID); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("token revoke: %d %s", code, out)
	}
	if out, code = run(second, "token", "list"); code != 1 || !strings.Contains(out, "Unauthenticated") {
		t.Fatalf("the revoked token: %d %s, want Unauthenticated", code, out)
	}
	if out, code = run(string(admin), "token", "list", "--party", "4000005000001"); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("the admin lists the pharmacy's tokens: %d %s", code, out)
	}
}

// TestServeRefusesAGenesisKeyFileItCannotRead: a bad --genesis-key stops
// serve at once, naming the flag.
func TestServeRefusesAGenesisKeyFileItCannotRead(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bad := filepath.Join(dir, "genesis.pub")
	if err := os.WriteFile(bad, []byte("not a key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := pedigreeCmd(ctx, t, "serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--nats-listen", "", "--genesis-key", bad)
	cmd.Env = append(cmd.Env, "PEDIGREE_DATA="+filepath.Join(dir, "data"))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !strings.Contains(string(out), "genesis-key") {
		t.Fatalf("serve with a bad genesis key file: %v %s", err, out)
	}
}
