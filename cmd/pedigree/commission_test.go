package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pedigree-project/pedigree/client"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// batchCommissioned reads how many packs the ledger holds for the batch.
func batchCommissioned(ctx context.Context, t *testing.T, c *client.Client, gtin, lot string) uint64 {
	t.Helper()
	b, err := c.Registry.GetBatch(ctx, &pb.GetBatchRequest{Gtin: gtin, Lot: lot})
	if err != nil {
		t.Fatal(err)
	}
	return b.GetBatch().GetCommissioned()
}

// startLine starts a server with manufacturer scanParty, its product
// scanGTIN and batch lot (expiry 281231), as a packaging line finds them;
// it returns the server and the manufacturer's token.
func startLine(ctx context.Context, t *testing.T, lot string) (*scanServer, string) {
	t.Helper()
	s := &scanServer{t: t, dir: t.TempDir(), natsAddr: freeNATSAddr(t)}
	s.start(ctx)
	t.Cleanup(s.stop)
	out := s.as(ctx, s.adminToken(), "party", "create", "--gln", scanParty, "--name", "Line AG", "--role", "manufacturer")
	m := partyToken.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("party create printed %q", out)
	}
	s.as(ctx, m[1], "product", "create", "--gtin", scanGTIN, "--name", "Paracetamol 500 mg")
	s.as(ctx, m[1], "batch", "create", scanGTIN, "--lot", lot, "--expiry", "281231")
	return s, m[1]
}

// TestCommissionResumesAfterSIGKILL kills the server (SIGKILL, no
// shutdown) while `pedigree commission` runs, restarts it on the same
// data, and resumes the run with --request-id: the batch then holds
// exactly the requested serials, each once; a second resume changes
// nothing and answers alike; the same ID with another count is refused.
func TestCommissionResumesAfterSIGKILL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const count, lot, rid = 60_000, "LOT1", "line7-run42"
	s, token := startLine(ctx, t, lot)

	// The run, killed with the server once part of it is on the ledger.
	run := pedigreeCmd(ctx, t, "commission", scanGTIN, lot, "--count", "60000", "--request-id", rid)
	run.Env = append(run.Env, "PEDIGREE_SERVER="+s.grpc, "PEDIGREE_TOKEN="+token)
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(s.grpc, token)
	if err != nil {
		t.Fatal(err)
	}
	waitCommissioned(ctx, t, s, lot, 1, nil)
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Wait()
	s.cmd = nil
	_ = run.Process.Kill()
	_ = run.Wait()
	c.Close()

	s.start(ctx)
	c, err = client.New(s.grpc, token)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	partial := batchCommissioned(ctx, t, c, scanGTIN, lot)
	t.Logf("%d of %d serials on the ledger after the kill", partial, count)
	if partial == 0 || partial > count {
		t.Fatalf("after the kill the batch holds %d serials, want 1–%d", partial, count)
	}
	// How far the run got, as its requests' states tell it.
	var recorded uint64
	for _, id := range []string{rid + ".0", rid + ".1"} {
		st, err := c.Registry.GetCommissionRequest(ctx, &pb.GetCommissionRequestRequest{Gtin: scanGTIN, Lot: lot, RequestId: id})
		if status.Code(err) == codes.NotFound {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		recorded += st.GetSerialsRecorded()
	}
	if recorded != partial {
		t.Fatalf("the run's requests report %d serials recorded, the batch holds %d", recorded, partial)
	}

	resume := func() *pb.CommissionSerialsResponse {
		t.Helper()
		out := s.as(ctx, token, "commission", scanGTIN, lot, "--count", "60000", "--request-id", rid, "--json")
		var resp struct {
			Commissioned     string   `json:"commissioned"`
			Serials          []string `json:"serials"`
			FirstLedgerIndex string   `json:"firstLedgerIndex"`
			RequestID        string   `json:"requestId"`
		}
		if err := json.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatalf("commission --json printed %q: %v", out, err)
		}
		if resp.Commissioned != "60000" || resp.RequestID != rid || len(resp.Serials) != 10_000 {
			t.Fatalf("resumed run answered %s serials (%d listed) under %q, want 60000 (10000 listed) under %q",
				resp.Commissioned, len(resp.Serials), resp.RequestID, rid)
		}
		return &pb.CommissionSerialsResponse{Serials: resp.Serials, RequestId: resp.FirstLedgerIndex}
	}
	first := resume()
	if got := batchCommissioned(ctx, t, c, scanGTIN, lot); got != count {
		t.Fatalf("after resuming the batch holds %d serials, want exactly %d", got, count)
	}
	again := resume()
	if got := batchCommissioned(ctx, t, c, scanGTIN, lot); got != count {
		t.Fatalf("after resuming twice the batch holds %d serials, want exactly %d", got, count)
	}
	if again.GetRequestId() != first.GetRequestId() || strings.Join(again.GetSerials(), ",") != strings.Join(first.GetSerials(), ",") {
		t.Fatalf("second resume answered first index %s and other serials, want %s and the same serials", again.GetRequestId(), first.GetRequestId())
	}
	seen := make(map[string]bool, len(first.GetSerials()))
	for _, sn := range first.GetSerials() {
		if seen[sn] {
			t.Fatalf("serial %s answered twice", sn)
		}
		seen[sn] = true
	}

	// The export lists each of them once, each active: what a verification
	// of each would say.
	csvPath := filepath.Join(t.TempDir(), "lot.csv")
	s.as(ctx, token, "batch", "serials", scanGTIN, lot, "--format", "csv", "--out", csvPath)
	data, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	exported := make(map[string]bool, count)
	for _, l := range lines[1:] {
		sn, st, _ := strings.Cut(l, ",")
		if exported[sn] || st != "ACTIVE" {
			t.Fatalf("exported line %q: twice or not active", l)
		}
		exported[sn] = true
	}
	if len(exported) != count {
		t.Fatalf("exported %d serials, want %d", len(exported), count)
	}
	for sn := range seen {
		if !exported[sn] {
			t.Fatalf("serial %s answered to the run is not in the export", sn)
		}
	}

	// The same ID with another count is refused, naming request_id.
	_, errOut, ok := runPedigree(ctx, t, "", []string{"PEDIGREE_SERVER=" + s.grpc, "PEDIGREE_TOKEN=" + token},
		"commission", scanGTIN, lot, "--count", "60001", "--request-id", rid)
	if ok || !strings.Contains(errOut, "request_id") || !strings.Contains(errOut, "AlreadyExists") {
		t.Fatalf("another count under the same request ID: ok=%v %s", ok, errOut)
	}
	if got := batchCommissioned(ctx, t, c, scanGTIN, lot); got != count {
		t.Fatalf("after the refused request the batch holds %d serials, want %d", got, count)
	}
}
