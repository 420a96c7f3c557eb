package main

import (
	"bufio"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pedigree-project/pedigree/client"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// crashSerials is the size of the request TestMillionSerialRequestSurvivesSIGKILL
// sends; under the race detector (whose server, the test binary, runs
// several times slower) raceCrashSerials, ten chunks. PEDIGREE_CRASH_SERIALS
// changes it, PEDIGREE_CRASH_SEED fixes its random kill points. .ci/run
// runs the million without the race detector besides.
const (
	crashSerials     = 1_000_000
	raceCrashSerials = 100_000
)

// TestMillionSerialRequestSurvivesSIGKILL sends one CommissionSerials
// request for a million generated serials under a request ID, as a
// packaging line's system would, and kills the server (SIGKILL) at three
// random points of it, restarting it on the same data each time. After
// every kill the request's state says exactly how far it got (the serials
// its recorded chunks hold are the batch's); the same request sent again
// completes it with exactly a million serials, each exported once and
// active, a sample of them verifying as active; a further retry changes
// nothing and answers alike; the same ID with another count is refused.
func TestMillionSerialRequestSurvivesSIGKILL(t *testing.T) {
	count := uint32(crashSerials)
	if raceDetector {
		count = raceCrashSerials
	}
	if v := os.Getenv("PEDIGREE_CRASH_SERIALS"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 || n > crashSerials {
			t.Fatalf("PEDIGREE_CRASH_SERIALS=%q: 1–%d", v, crashSerials)
		}
		count = uint32(n)
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("PEDIGREE_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("PEDIGREE_CRASH_SEED=%q: %v", v, err)
		}
	}
	t.Logf("PEDIGREE_CRASH_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))

	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	const lot, rid = "BIG1", "line7-order-0042"
	s, token := startLine(ctx, t, lot)
	req := &pb.CommissionSerialsRequest{Gtin: scanGTIN, Lot: lot, Count: count, RequestId: rid}

	var recorded uint64 // serials on the ledger before the kill
	for kill := 1; kill <= 3; kill++ {
		// Somewhere in what is still to do: the request starts over from
		// what the ledger holds.
		target := recorded + 1 + uint64(rng.Float64()*0.6*float64(uint64(count)-recorded))
		c := dial(t, s.grpc, token)
		sent := make(chan error, 1)
		go func() {
			_, err := c.Registry.CommissionSerials(ctx, req)
			sent <- err
		}()
		reached := waitCommissioned(ctx, t, s, lot, target, sent)
		if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = s.cmd.Wait()
		s.cmd = nil
		// Cut off (Unavailable), or answered just before the kill.
		if err := <-sent; reached && err != nil && status.Code(err) != codes.Unavailable {
			t.Fatalf("kill %d: the request answered %v, want Unavailable (cut off) or success", kill, err)
		}
		c.Close()

		s.start(ctx)
		c = dial(t, s.grpc, token)
		// A write answers once the ledger has applied it, and so all the
		// stream held before it: the restarted node has caught up. While it
		// applies the backlog the write may time out (Unavailable); sent
		// again it is answered, as created or as existing.
		caughtUp(ctx, t, c, "SYNC"+strconv.Itoa(kill))
		have := batchCommissioned(ctx, t, c, scanGTIN, lot)
		st, err := c.Registry.GetCommissionRequest(ctx, &pb.GetCommissionRequestRequest{Gtin: scanGTIN, Lot: lot, RequestId: rid})
		switch {
		case status.Code(err) == codes.NotFound && have == 0:
		case err != nil:
			t.Fatalf("kill %d: request state: %v", kill, err)
		case st.GetSerialsRecorded() != have || st.GetComplete() != (have == uint64(count)):
			t.Fatalf("kill %d: the request reports %d serials recorded (complete %v), the batch holds %d of %d",
				kill, st.GetSerialsRecorded(), st.GetComplete(), have, count)
		}
		t.Logf("kill %d at %d serials (aimed at %d): %d on the ledger, %d of %d chunks recorded",
			kill, have, target, have, len(st.GetRecordedChunks()), st.GetChunks())
		if have < recorded {
			t.Fatalf("kill %d: the batch holds %d serials, fewer than the %d before", kill, have, recorded)
		}
		recorded = have
		c.Close()
		if recorded == uint64(count) {
			break
		}
	}

	c := dial(t, s.grpc, token)
	defer c.Close()
	done, err := commissionAnswered(ctx, c, req)
	if err != nil {
		t.Fatalf("retry after the kills: %v", err)
	}
	if done.GetCommissioned() != uint64(count) || done.GetRequestId() != rid {
		t.Fatalf("retry answered %d serials under %q, want %d under %q", done.GetCommissioned(), done.GetRequestId(), count, rid)
	}
	if got := batchCommissioned(ctx, t, c, scanGTIN, lot); got != uint64(count) {
		t.Fatalf("after the retry the batch holds %d serials, want exactly %d", got, count)
	}
	again, err := commissionAnswered(ctx, c, req)
	if err != nil {
		t.Fatalf("second retry: %v", err)
	}
	if again.GetFirstLedgerIndex() != done.GetFirstLedgerIndex() || again.GetChunksAlreadyRecorded() != again.GetChunks() ||
		again.GetCommissioned() != uint64(count) {
		t.Fatalf("second retry answered first index %d, %d of %d chunks already recorded; want index %d, all recorded",
			again.GetFirstLedgerIndex(), again.GetChunksAlreadyRecorded(), again.GetChunks(), done.GetFirstLedgerIndex())
	}
	other := &pb.CommissionSerialsRequest{Gtin: scanGTIN, Lot: lot, Count: count - 1, RequestId: rid}
	if _, err := c.Registry.CommissionSerials(ctx, other); status.Code(err) != codes.AlreadyExists || !strings.Contains(err.Error(), "request_id") {
		t.Fatalf("the same ID with another count: %v, want AlreadyExists naming request_id", err)
	}
	if got := batchCommissioned(ctx, t, c, scanGTIN, lot); got != uint64(count) {
		t.Fatalf("after the retries the batch holds %d serials, want exactly %d", got, count)
	}

	// The export: each serial once, each active; a sample verifies so.
	csvPath := filepath.Join(t.TempDir(), "big1.csv")
	s.as(ctx, token, "batch", "serials", scanGTIN, lot, "--format", "csv", "--out", csvPath)
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	exported := make(map[string]struct{}, count)
	var sample []string
	for line := 0; sc.Scan(); line++ {
		if line == 0 {
			continue
		}
		sn, st, _ := strings.Cut(sc.Text(), ",")
		if _, twice := exported[sn]; twice || st != "ACTIVE" {
			t.Fatalf("exported line %q: twice or not active", sc.Text())
		}
		exported[sn] = struct{}{}
		if rng.IntN(int(count)) < 200 {
			sample = append(sample, sn)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(exported) != int(count) {
		t.Fatalf("exported %d serials, want %d", len(exported), count)
	}
	for _, sn := range sample {
		v, err := c.Verification.VerifyPack(ctx, &pb.VerifyPackRequest{Pack: &pb.PackInput{Input: &pb.PackInput_Code{Code: &pb.PackCode{
			Gtin: scanGTIN, Serial: sn, Lot: lot, Expiry: "281231"}}}})
		if err != nil || v.GetStatus() != pb.PackStatus_PACK_STATUS_ACTIVE || !v.GetDispensable() {
			t.Fatalf("verify %s: %v %v (%s)", sn, err, v.GetStatus(), v.GetReason())
		}
	}
	t.Logf("%d serials exported once each, all active; %d of them verified", len(exported), len(sample))
}

// commissionAnswered sends req until it is answered: on a loaded machine
// the node may not apply it within the writer's wait (Unavailable), and a
// client sends it again under its request ID, as the CLI does.
func commissionAnswered(ctx context.Context, c *client.Client, req *pb.CommissionSerialsRequest) (*pb.CommissionSerialsResponse, error) {
	for {
		resp, err := c.Registry.CommissionSerials(ctx, req)
		if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
			return resp, err
		}
	}
}

// caughtUp creates batch lot of scanGTIN and returns once the node has
// recorded it, so once it has applied everything before it.
func caughtUp(ctx context.Context, t *testing.T, c *client.Client, lot string) {
	t.Helper()
	for {
		_, err := c.Registry.CreateBatch(ctx, &pb.CreateBatchRequest{Gtin: scanGTIN, Batch: &pb.Batch{Lot: lot, Expiry: "281231"}})
		switch status.Code(err) {
		case codes.OK, codes.AlreadyExists:
			return
		case codes.Unavailable:
			if ctx.Err() == nil {
				continue
			}
		}
		t.Fatalf("a write after the restart: %v", err)
	}
}

// dial connects a client to addr with token.
func dial(t *testing.T, addr, token string) *client.Client {
	t.Helper()
	c, err := client.New(addr, token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitCommissioned polls the batch (with the admin's token: the
// manufacturer's budget is the request's; answers over the read budget
// are polled again) until it holds at least target serials, and reports
// whether it got there; false when the request answered first (it
// completed). sent is nil when the request is not this process's (a CLI
// run).
func waitCommissioned(ctx context.Context, t *testing.T, s *scanServer, lot string, target uint64, sent chan error) bool {
	t.Helper()
	admin := dial(t, s.grpc, s.adminToken())
	defer admin.Close()
	for {
		select {
		case err := <-sent:
			if err != nil {
				t.Fatalf("the request failed before the kill: %v", err)
			}
			sent <- nil
			return false
		default:
		}
		b, err := admin.Registry.GetBatch(ctx, &pb.GetBatchRequest{Gtin: scanGTIN, Lot: lot})
		if status.Code(err) != codes.ResourceExhausted && err != nil {
			t.Fatal(err)
		}
		if b.GetBatch().GetCommissioned() >= target {
			return true
		}
	}
}
