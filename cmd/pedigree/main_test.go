package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets tests run this test binary as the pedigree command: with
// PEDIGREE_TEST_MAIN=1 it runs main instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("PEDIGREE_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// pedigreeCmd returns a command that runs pedigree with args.
func pedigreeCmd(ctx context.Context, t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "PEDIGREE_TEST_MAIN=1")
	return cmd
}

var (
	httpLine = regexp.MustCompile(`HTTP:\s+http://(\S+)`)
	grpcLine = regexp.MustCompile(`gRPC:\s+(\S+)`)
)

// startServe runs `pedigree serve` on free ports, with extra flags, and
// returns the process, its HTTP address and its gRPC address once it
// prints that it is serving.
func startServe(ctx context.Context, t *testing.T, dir string, extra ...string) (*exec.Cmd, string, string) {
	t.Helper()
	args := append([]string{"serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--nats-listen", "", "--metrics", "127.0.0.1:0"}, extra...)
	cmd := pedigreeCmd(ctx, t, args...)
	cmd.Env = append(cmd.Env, "PEDIGREE_DATA="+dir, "PEDIGREE_LOG_FORMAT=json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var grpcAddr string
	for sc.Scan() {
		if m := grpcLine.FindStringSubmatch(sc.Text()); m != nil {
			grpcAddr = m[1]
		}
		if m := httpLine.FindStringSubmatch(sc.Text()); m != nil && grpcAddr != "" {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return cmd, m[1], grpcAddr
		}
	}
	_ = cmd.Process.Kill()
	t.Fatalf("serve exited without printing its addresses: %v", cmd.Wait())
	return nil, "", ""
}

func TestServeStopsOnSIGTERMAndRestartsWithSameToken(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	cmd, addr, _ := startServe(ctx, t, dir)
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz = %d", resp.StatusCode)
	}
	token, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM, want exit 0", err)
		}
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("serve did not exit within 5 s of SIGTERM")
	}

	cmd2, _, _ := startServe(ctx, t, dir)
	defer func() {
		_ = cmd2.Process.Signal(syscall.SIGTERM)
		_ = cmd2.Wait()
	}()
	again, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(token) {
		t.Fatal("restart on the same data directory changed the admin token")
	}
}

func TestBadFlagValueFromEnvironmentNamesTheVariable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := pedigreeCmd(ctx, t, "serve", "--data", t.TempDir())
	cmd.Env = append(cmd.Env, "PEDIGREE_STREAM_REPLICAS=three")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("serve accepted PEDIGREE_STREAM_REPLICAS=three")
	}
	if !strings.Contains(string(out), "PEDIGREE_STREAM_REPLICAS") {
		t.Fatalf("error does not name the variable: %s", out)
	}
}
