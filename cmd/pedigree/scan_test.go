package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/services/nodetest"
)

const (
	scanParty = "4098765000003" // a manufacturer
	scanGTIN  = "09506000134352"
)

// scanServer is `pedigree serve` with its NATS client port on a known
// address, run as a scanner's node would be.
type scanServer struct {
	t        *testing.T
	dir      string
	natsAddr string
	cmd      *exec.Cmd
	grpc     string // the gRPC address the CLI talks to
}

// freeNATSAddr returns a loopback address nothing listens on.
func freeNATSAddr(t *testing.T) string {
	t.Helper()
	return nodetest.FreeAddr(t)
}

// start runs the server and waits until it prints its addresses.
func (s *scanServer) start(ctx context.Context) {
	s.t.Helper()
	s.cmd = pedigreeCmd(ctx, s.t, "serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--nats-listen", s.natsAddr, "--metrics", "127.0.0.1:0")
	s.cmd.Env = append(s.cmd.Env, "PEDIGREE_DATA="+s.dir, "PEDIGREE_LOG_FORMAT=json")
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd.Stderr = io.Discard
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := grpcLine.FindStringSubmatch(sc.Text()); m != nil {
			s.grpc = m[1]
		}
		if strings.Contains(sc.Text(), "NATS:") {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			s.t.Cleanup(s.stop)
			return
		}
	}
	_ = s.cmd.Process.Kill()
	s.t.Fatalf("serve exited without printing its addresses: %v", s.cmd.Wait())
}

func (s *scanServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// nodeKey is the node's public key file: what a scanner is given.
func (s *scanServer) nodeKey() string { return filepath.Join(s.dir, "keys", "node.pub") }

// as runs the CLI against the server with token; it fails the test unless
// the command succeeds.
func (s *scanServer) as(ctx context.Context, token string, args ...string) string {
	s.t.Helper()
	out, errOut, ok := runPedigree(ctx, s.t, "", []string{"PEDIGREE_SERVER=" + s.grpc, "PEDIGREE_TOKEN=" + token}, args...)
	if !ok {
		s.t.Fatalf("%v: %s%s", args, out, errOut)
	}
	return out
}

// adminToken reads the admin's API token.
func (s *scanServer) adminToken() string {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "admin.token"))
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

var partyToken = regexp.MustCompile(`token \(shown once, keep it secret\): (\S+)`)

// register follows the README: the admin registers the scanner's party
// with the public key file `scan --new-key` wrote, and the party registers
// its product and a lot of it.
func (s *scanServer) register(ctx context.Context, pubFile string) {
	s.t.Helper()
	out := s.as(ctx, s.adminToken(), "party", "create", "--gln", scanParty, "--name", "Scanner AG", "--role", "manufacturer", "--public-key-file", pubFile)
	m := partyToken.FindStringSubmatch(out)
	if m == nil {
		s.t.Fatalf("party create printed %q", out)
	}
	s.as(ctx, m[1], "product", "create", "--gtin", scanGTIN, "--name", "Paracetamol 500 mg")
	s.as(ctx, m[1], "batch", "create", scanGTIN, "--lot", "LOT1", "--expiry", "281231")
}

// newScanKey runs `pedigree scan --new-key` and returns the key file, the
// public key file and the public key it printed.
func newScanKey(ctx context.Context, t *testing.T) (string, string, ed25519.PublicKey) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "party.key")
	out, errOut, ok := runPedigree(ctx, t, "", nil, "scan", "--new-key", path, "--json")
	if !ok {
		t.Fatalf("--new-key: %s", errOut)
	}
	var k map[string]string
	if err := json.Unmarshal([]byte(out), &k); err != nil {
		t.Fatalf("--new-key output %q: %v", out, err)
	}
	pub, err := base64.StdEncoding.DecodeString(k["public_key"])
	if err != nil || len(pub) != ed25519.PublicKeySize || envelope.KeyID(pub) != k["key_id"] || k["public_key_file"] != path+".pub" {
		t.Fatalf("--new-key printed %v", k)
	}
	priv, err := envelope.ReadKeyFile(path)
	if err != nil || !priv.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(pub)) {
		t.Fatalf("key file does not hold the printed key: %v", err)
	}
	if b, err := os.ReadFile(path + ".pub"); err != nil || strings.TrimSpace(string(b)) != k["public_key"] {
		t.Fatalf("public key file holds %q (%v), want the printed key", b, err)
	}
	if _, errOut, ok := runPedigree(ctx, t, "", nil, "scan", "--new-key", path); ok {
		t.Fatal("--new-key overwrote an existing key file")
	} else if !strings.Contains(errOut, "exists") {
		t.Errorf("overwrite refused with %q", errOut)
	}
	return path, path + ".pub", pub
}

// scanWorld is a running server with the scanner's party registered.
func scanWorld(ctx context.Context, t *testing.T) (*scanServer, string) {
	t.Helper()
	keyFile, pubFile, _ := newScanKey(ctx, t)
	s := &scanServer{t: t, dir: t.TempDir(), natsAddr: freeNATSAddr(t)}
	s.start(ctx)
	s.register(ctx, pubFile)
	return s, keyFile
}

// scanArgs are the flags every scan of the tests gives.
func (s *scanServer) scanArgs(keyFile, queue string) []string {
	return []string{"--party", scanParty, "--key", keyFile, "--node-key", s.nodeKey(), "--nats", "nats://" + s.natsAddr, "--queue", queue}
}

// answers parses the JSON lines of `pedigree scan --json`.
func answers(t *testing.T, out string) []scanAnswer {
	t.Helper()
	var as []scanAnswer
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var a scanAnswer
		if err := json.Unmarshal([]byte(l), &a); err != nil || a.EventID == "" {
			t.Fatalf("output line %q: %v", l, err)
		}
		as = append(as, a)
	}
	return as
}

func pack(serial string) string { return "(01)" + scanGTIN + "(17)281231(10)LOT1(21)" + serial }

func TestScanSendsOneEventAndPrintsTheSignedAnswer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, keyFile := scanWorld(ctx, t)
	out, errOut, ok := runPedigree(ctx, t, "", nil,
		append([]string{"scan", "--step", "commissioning"}, append(s.scanArgs(keyFile, t.TempDir()), pack("S1"))...)...)
	if !ok {
		t.Fatalf("scan failed: %s", errOut)
	}
	m := regexp.MustCompile(`^(ni:///sha-256;[0-9a-f]{64}\?ver=CBV2\.0) applied \(ledger entry (\d+)\)\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output %q, want one applied line", out)
	}
	// The ledger says so too.
	entry := s.as(ctx, s.adminToken(), "ledger", "entry", m[2])
	if !strings.Contains(entry, "party      "+scanParty+" (party_signature)") || !strings.Contains(entry, "event "+m[1]+": applied=true") {
		t.Errorf("ledger entry %s:\n%s", m[2], entry)
	}
}

func TestScanReadsLinesSkipsBadOnesAndBatches(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, keyFile := scanWorld(ctx, t)
	input := strings.Join([]string{
		pack("S1"),
		"",
		"(01)09506000134353(21)S9", // bad check digit
		"01" + scanGTIN + "1728123110LOT1|21S2",
		"  " + pack("S3") + "  ",
	}, "\n") + "\n"
	out, errOut, ok := runPedigree(ctx, t, input, nil,
		append([]string{"scan", "--step", "commissioning", "--batch", "2", "--gs", "|", "--json"}, s.scanArgs(keyFile, t.TempDir())...)...)
	if ok {
		t.Fatal("exited 0 although a line was refused")
	}
	if !strings.Contains(errOut, "line 3:") || !strings.Contains(errOut, "(01)") || !strings.Contains(errOut, "1 of 5 lines refused") {
		t.Errorf("stderr does not report line 3 and the count: %s", errOut)
	}
	as := answers(t, out)
	if len(as) != 3 {
		t.Fatalf("%d answers for 3 events: %q", len(as), out)
	}
	for _, a := range as {
		if a.Status != "applied" || a.LedgerIndex == nil {
			t.Errorf("answer %+v, want applied", a)
		}
	}
	if *as[0].LedgerIndex != *as[1].LedgerIndex || *as[2].LedgerIndex == *as[0].LedgerIndex {
		t.Errorf("ledger entries %d %d %d: want the batch of 2 in one entry, the third in another", *as[0].LedgerIndex, *as[1].LedgerIndex, *as[2].LedgerIndex)
	}
}

func TestScanQueuesWhileTheNodeIsDownAndSendsLater(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, keyFile := scanWorld(ctx, t)
	s.stop()
	queue := t.TempDir()
	args := append([]string{"scan", "--step", "commissioning", "--publish-timeout", "300ms"}, s.scanArgs(keyFile, queue)...)

	out, errOut, ok := runPedigree(ctx, t, "", nil, append(args, pack("Q1"))...)
	if !ok {
		t.Fatalf("scan with the node down failed: %s", errOut)
	}
	if !regexp.MustCompile(`^\S+ queued\n$`).MatchString(out) || !strings.Contains(errOut, "1 events are queued") {
		t.Fatalf("output %q, stderr %q", out, errOut)
	}
	first := strings.Fields(out)[0]

	s.start(ctx)
	out, errOut, ok = runPedigree(ctx, t, "", nil, append(args, "--json", pack("Q2"))...)
	if !ok {
		t.Fatalf("scan after the node came back failed: %s", errOut)
	}
	as := answers(t, out)
	if len(as) != 2 || as[0].EventID != first || as[0].Status != "applied" || as[1].Status != "applied" || *as[0].LedgerIndex >= *as[1].LedgerIndex {
		t.Fatalf("answers %q, want the queued event applied, then the new one", out)
	}
}

func TestScanExitsThreeWhenTheLedgerRefuses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, keyFile := scanWorld(ctx, t)
	// A pack never commissioned cannot be decommissioned.
	cmd := pedigreeCmd(ctx, t, append([]string{"scan", "--step", "decommissioning", "--reason", "stolen"}, append(s.scanArgs(keyFile, t.TempDir()), pack("NEVER"))...)...)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("scan of a refused event: %v, want exit 3; output %q", err, out)
	}
	if !regexp.MustCompile(`^\S+ refused: .+ \(ledger entry \d+\)\n`).Match(out) {
		t.Fatalf("output %q, want the refusal and its reason", out)
	}
}

func TestScanRefusesBadFlags(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "k")
	if err := envelope.WriteKeyFile(keyFile, ed25519.NewKeyFromSeed(make([]byte, 32))); err != nil {
		t.Fatal(err)
	}
	nodeKey := filepath.Join(dir, "node.pub")
	if err := os.WriteFile(nodeKey, []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"scan", "--party", scanParty, "--key", keyFile, "--nats", "nats://127.0.0.1:1", "--queue", t.TempDir()}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--node-key", nodeKey, "--step", "selling", "x"}, "--step"},
		{[]string{"--node-key", nodeKey, "--step", "shipping", pack("S1")}, "destination"},
		{[]string{"--node-key", nodeKey, "--step", "dispensing", "--reason", "stolen", "x"}, "--reason"},
		{[]string{"--node-key", nodeKey, "--step", "decommissioning", pack("S1")}, "reason"},
		{[]string{"--node-key", nodeKey, "--step", "packing", pack("S1")}, "parent"},
		{[]string{"--node-key", nodeKey, "--step", "dispensing", "--batch", "0", "x"}, "--batch"},
		{[]string{"--step", "dispensing", pack("S1")}, "--node-key"},
		{[]string{"--node-key", keyFile, "--step", "dispensing", pack("S1")}, "--node-key"},
		{[]string{"--node-key", nodeKey, "--nats-cert", "c.pem", "--step", "dispensing", pack("S1")}, "--nats-key"},
	} {
		_, errOut, ok := runPedigree(ctx, t, "", nil, append(base, tc.args...)...)
		if ok || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit ok=%v, stderr %q, want a message about %q", tc.args, ok, errOut, tc.want)
		}
	}
}

func TestScanSendsAPartialBatchWhenTheScannerPauses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, keyFile := scanWorld(ctx, t)
	cmd := pedigreeCmd(ctx, t, append([]string{"scan", "--step", "commissioning", "--batch", "50", "--batch-wait", "100ms"},
		s.scanArgs(keyFile, t.TempDir())...)...)
	cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	// One scan, then the scanner pauses with stdin still open: the event
	// must go out, and its answer come back, without waiting for 49 more.
	if _, err := io.WriteString(stdin, pack("P1")+"\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no output line before the deadline: %v", err)
	}
	if !strings.Contains(line, " applied ") {
		t.Fatalf("output %q, want the event applied", line)
	}
}
