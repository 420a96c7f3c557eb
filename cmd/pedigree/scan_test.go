package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/natsbus"
)

const scanParty = "4098765000003"

// scanNATS starts an embedded NATS server with the streams on addr and
// returns its URL and the SCANS stream.
func scanNATS(ctx context.Context, t *testing.T, addr string) (string, jetstream.Stream) {
	t.Helper()
	e, err := natsbus.StartEmbedded(ctx, natsbus.EmbeddedConfig{StoreDir: t.TempDir(), Listen: addr}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := e.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close(); e.Shutdown() })
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := natsbus.EnsureStreams(ctx, js, natsbus.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, natsbus.ScanStream)
	if err != nil {
		t.Fatal(err)
	}
	return e.ClientURL(), s
}

// newScanKey runs `pedigree scan --new-key` and returns the key file and
// the public key it printed.
func newScanKey(ctx context.Context, t *testing.T) (string, ed25519.PublicKey) {
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
	if err != nil || len(pub) != ed25519.PublicKeySize || envelope.KeyID(pub) != k["key_id"] {
		t.Fatalf("--new-key printed %v", k)
	}
	priv, err := envelope.ReadKeyFile(path)
	if err != nil || !priv.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(pub)) {
		t.Fatalf("key file does not hold the printed key: %v", err)
	}
	if _, errOut, ok := runPedigree(ctx, t, "", nil, "scan", "--new-key", path); ok {
		t.Fatal("--new-key overwrote an existing key file")
	} else if !strings.Contains(errOut, "exists") {
		t.Errorf("overwrite refused with %q", errOut)
	}
	return path, pub
}

var scanLine = regexp.MustCompile(`^(ni:///sha-256;[0-9a-f]{64}\?ver=CBV2\.0) (published|queued)$`)

// scanOutput parses the lines `pedigree scan` prints.
func scanOutput(t *testing.T, out string) (ids, statuses []string) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		m := scanLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("unexpected output line %q", l)
		}
		ids, statuses = append(ids, m[1]), append(statuses, m[2])
	}
	return ids, statuses
}

// streamEvents returns the events in the SCANS stream and the number of
// messages, checking the subject, Nats-Msg-Id and signature of each.
func streamEvents(ctx context.Context, t *testing.T, s jetstream.Stream, pub ed25519.PublicKey) (events []*pb.ScanEvent, msgs int) {
	t.Helper()
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != "pedigree.scan."+scanParty {
			t.Errorf("message %d on subject %q", seq, m.Subject)
		}
		o, err := envelope.Open(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if !o.Verify(pub) {
			t.Errorf("message %d: signature does not verify with the printed public key", seq)
		}
		if got, want := m.Header.Get(jetstream.MsgIDHeader), envelope.MsgID(o.Envelope, o.Signed.GetEnvelope()); got != want {
			t.Errorf("message %d: Nats-Msg-Id %q, want %q", seq, got, want)
		}
		events = append(events, o.Envelope.GetCapture().GetEvents()...)
		msgs++
	}
	return events, msgs
}

func TestScanSendsOneSignedEvent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url, stream := scanNATS(ctx, t, "127.0.0.1:0")
	keyFile, pub := newScanKey(ctx, t)

	out, errOut, ok := runPedigree(ctx, t, "", []string{"PEDIGREE_NATS=" + url},
		"scan", "--step", "dispensing", "--party", scanParty, "--key", keyFile, "--queue", t.TempDir(),
		"(01)09506000134352(17)281231(10)LOT1(21)S1")
	if !ok {
		t.Fatalf("scan failed: %s", errOut)
	}
	ids, statuses := scanOutput(t, out)
	if len(ids) != 1 || statuses[0] != "published" {
		t.Fatalf("output %q", out)
	}
	events, _ := streamEvents(ctx, t, stream, pub)
	if len(events) != 1 || events[0].GetEventId() != ids[0] || events[0].GetBizStep() != pb.BizStep_BIZ_STEP_DISPENSING ||
		events[0].GetEpcs()[0].GetPack().GetSerial() != "S1" || events[0].GetEpcs()[0].GetPack().GetExpiry() != "281231" {
		t.Fatalf("stream holds %v", events)
	}
}

func TestScanReadsLinesSkipsBadOnesAndBatches(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url, stream := scanNATS(ctx, t, "127.0.0.1:0")
	keyFile, pub := newScanKey(ctx, t)
	input := strings.Join([]string{
		"(00)340123450000000017",
		"",
		"(01)09506000134353(21)S1", // bad check digit
		"01095060001343521728123110LOT1|21S2",
		"  (00)340123450000000024  ",
	}, "\n") + "\n"
	out, errOut, ok := runPedigree(ctx, t, input, nil,
		"scan", "--step", "shipping", "--to", "4023456000000", "--batch", "2", "--gs", "|",
		"--party", scanParty, "--key", keyFile, "--nats", url, "--queue", t.TempDir())
	if ok {
		t.Fatal("exited 0 although a line was refused")
	}
	if !strings.Contains(errOut, "line 3:") || !strings.Contains(errOut, "(01)") || !strings.Contains(errOut, "1 of 5 lines refused") {
		t.Errorf("stderr does not report line 3 and the count: %s", errOut)
	}
	ids, statuses := scanOutput(t, out)
	if len(ids) != 3 || statuses[0] != "published" || statuses[2] != "published" {
		t.Fatalf("output %q", out)
	}
	events, msgs := streamEvents(ctx, t, stream, pub)
	if msgs != 2 {
		t.Errorf("%d messages for 3 events in batches of 2, want 2", msgs)
	}
	for i, ev := range events {
		if ev.GetEventId() != ids[i] || ev.GetBizStep() != pb.BizStep_BIZ_STEP_SHIPPING || ev.GetDestinations()[0].GetGln() != "4023456000000" {
			t.Errorf("event %d: %v", i, ev)
		}
	}
	if len(events) != 3 || events[0].GetEpcs()[0].GetSscc() != "340123450000000017" || events[1].GetEpcs()[0].GetPack().GetSerial() != "S2" {
		t.Errorf("events not in input order: %v", events)
	}
}

func TestScanQueuesWhileNATSIsDownAndSendsLater(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	keyFile, pub := newScanKey(ctx, t)
	queue := t.TempDir()
	args := []string{"scan", "--step", "decommissioning", "--reason", "stolen", "--party", scanParty, "--key", keyFile,
		"--nats", "nats://" + addr, "--queue", queue, "--publish-timeout", "500ms"}

	out, errOut, ok := runPedigree(ctx, t, "", nil, append(args, "(01)09506000134352(21)Q1")...)
	if !ok {
		t.Fatalf("scan with NATS down failed: %s", errOut)
	}
	first, statuses := scanOutput(t, out)
	if statuses[0] != "queued" || !strings.Contains(errOut, "1 events are queued") {
		t.Fatalf("output %q, stderr %q", out, errOut)
	}

	_, stream := scanNATS(ctx, t, addr)
	out, errOut, ok = runPedigree(ctx, t, "", nil, append(args, "(01)09506000134352(21)Q2")...)
	if !ok {
		t.Fatalf("scan after NATS came back failed: %s", errOut)
	}
	second, _ := scanOutput(t, out)
	events, _ := streamEvents(ctx, t, stream, pub)
	if len(events) != 2 || events[0].GetEventId() != first[0] || events[1].GetEventId() != second[0] {
		t.Fatalf("stream holds %v, want the queued event then the new one", events)
	}
	if events[0].GetDisposition() != pb.Disposition_DISPOSITION_STOLEN {
		t.Errorf("--reason stolen gave disposition %v", events[0].GetDisposition())
	}
}

func TestScanRefusesBadFlags(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keyFile := filepath.Join(t.TempDir(), "k")
	if err := envelope.WriteKeyFile(keyFile, ed25519.NewKeyFromSeed(make([]byte, 32))); err != nil {
		t.Fatal(err)
	}
	base := []string{"scan", "--party", scanParty, "--key", keyFile, "--nats", "nats://127.0.0.1:1", "--queue", t.TempDir()}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--step", "selling", "x"}, "--step"},
		{[]string{"--step", "shipping", "(01)09506000134352(21)S1"}, "destination"},
		{[]string{"--step", "dispensing", "--reason", "stolen", "x"}, "--reason"},
		{[]string{"--step", "decommissioning", "(01)09506000134352(21)S1"}, "reason"},
		{[]string{"--step", "packing", "(01)09506000134352(21)S1"}, "parent"},
		{[]string{"--step", "dispensing", "--batch", "0", "x"}, "--batch"},
	} {
		_, errOut, ok := runPedigree(ctx, t, "", nil, append(base, tc.args...)...)
		if ok || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit ok=%v, stderr %q, want a message about %q", tc.args, ok, errOut, tc.want)
		}
	}
}

func TestScanSendsAPartialBatchWhenTheScannerPauses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url, _ := scanNATS(ctx, t, "127.0.0.1:0")
	keyFile, _ := newScanKey(ctx, t)
	cmd := pedigreeCmd(ctx, t, "scan", "--step", "inspecting", "--batch", "50", "--batch-wait", "100ms",
		"--party", scanParty, "--key", keyFile, "--nats", url, "--queue", t.TempDir())
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
	// must go out without waiting for 49 more.
	if _, err := io.WriteString(stdin, "(01)09506000134352(21)P1\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no output line before the deadline: %v", err)
	}
	if m := scanLine.FindStringSubmatch(strings.TrimSpace(line)); m == nil || m[2] != "published" {
		t.Fatalf("output %q", line)
	}
}
