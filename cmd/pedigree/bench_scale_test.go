package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBenchScaleMeasuresEveryStep runs a tiny `pedigree bench --scale`
// (two steps, its node a child process) and checks that each step has
// its figures, the verdicts are there and the HTML report draws a chart
// per figure.
func TestBenchScaleMeasuresEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("grows a node to 50,000 events")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	jsonPath, htmlPath, profiles := filepath.Join(dir, "scale.json"), filepath.Join(dir, "scale.html"), filepath.Join(dir, "profiles")
	cmd := pedigreeCmd(ctx, t, "bench", "--scale", "20k,50k", "--scale-phase", "300ms", "--verify-rate", "500",
		"--verify-ingest-rate", "100", "--json="+jsonPath, "--html", htmlPath, "--scale-profiles", profiles, "--log-level", "warn")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pedigree bench --scale: %v\n%s", err, out)
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Steps []struct {
			Events        int64  `json:"events"`
			Packs         int64  `json:"packs"`
			LedgerEntries uint64 `json:"ledger_entries"`
			Verify        struct{ Count int }
			BareGRPC      struct{ Count int } `json:"bare_grpc"`
			Dispense      struct{ Count int }
			History       struct{ Count int } `json:"pack_history"`
			Trace         struct{ Count int } `json:"batch_trace"`
			Restart       struct {
				Ready     float64 `json:"ready_s"`
				Ingesting float64 `json:"ingesting_s"`
			}
			Disk *struct {
				Pebble float64 `json:"pebble_bytes_per_event"`
				Stream float64 `json:"jetstream_bytes_per_event"`
			}
			Offline *struct {
				Audit struct {
					Entries uint64
				}
				SHA256 float64 `json:"sha256_bytes_per_s_all_cores"`
			}
			RSS        int64 `json:"rss_bytes"`
			Goroutines int
		}
		Verdicts []struct{ Figure string }
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
	if len(res.Steps) != 2 {
		t.Fatalf("%d steps, want 2:\n%s", len(res.Steps), b)
	}
	for i, s := range res.Steps {
		if s.Events < []int64{20_000, 50_000}[i] || s.Packs == 0 || s.LedgerEntries == 0 {
			t.Errorf("step %d: %d events, %d packs, %d entries", i, s.Events, s.Packs, s.LedgerEntries)
		}
		if s.Verify.Count == 0 || s.BareGRPC.Count == 0 || s.Dispense.Count == 0 || s.History.Count == 0 || s.Trace.Count == 0 {
			t.Errorf("step %d: a latency has no samples: %+v", i, s)
		}
		if !(s.Restart.Ready > 0) || s.Restart.Ingesting < s.Restart.Ready {
			t.Errorf("step %d: restart %+v", i, s.Restart)
		}
		if s.Disk == nil || !(s.Disk.Pebble > 0) || !(s.Disk.Stream > 0) || s.Offline == nil || s.Offline.Audit.Entries == 0 || !(s.Offline.SHA256 > 0) {
			t.Errorf("step %d: disk %+v, offline %+v", i, s.Disk, s.Offline)
		}
		if s.RSS == 0 || s.Goroutines == 0 {
			t.Errorf("step %d: RSS %d, goroutines %d", i, s.RSS, s.Goroutines)
		}
	}
	// The node's CPU profiles (verifying with the ingest, verifying
	// alone, the bare call alone) and heap: gzipped pprof protobufs.
	for _, name := range []string{"cpu-verify-ingest-20k.pprof", "cpu-verify-20k.pprof", "cpu-bare-20k.pprof", "cpu-verify-50k.pprof", "cpu-bare-50k.pprof", "heap-20k.pprof", "heap-50k.pprof"} {
		if b, err := os.ReadFile(filepath.Join(profiles, name)); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("profile %s: %d bytes, %v", name, len(b), err)
		}
	}
	if len(res.Verdicts) < 5 {
		t.Errorf("verdicts: %+v", res.Verdicts)
	}
	page, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"verify", "bare gRPC p99 (limit)", "pack history", "batch trace", "EPCIS query by pack", "restart after SIGKILL",
		"disk per event", "Pebble read amplification", "Pebble compaction debt", "offline audit hashing", "checkpoint signing"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the HTML report lacks %q", want)
		}
	}
	if n := strings.Count(string(page), "<svg"); n < 15 {
		t.Errorf("the HTML report has %d charts", n)
	}
}

// TestBenchScaleWithRetention runs a one-step `pedigree bench --scale
// --scale-retention`: the node runs with stream retention after-backup,
// the step takes a verified backup, and the stream has dropped what the
// backup holds when the disk is measured.
func TestBenchScaleWithRetention(t *testing.T) {
	if testing.Short() {
		t.Skip("grows a node to 20,000 events")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	jsonPath := filepath.Join(t.TempDir(), "scale.json")
	cmd := pedigreeCmd(ctx, t, "bench", "--scale", "20k", "--scale-retention", "--scale-skip", "verify,dispense,reads,proofs,restart",
		"--scale-phase", "300ms", "--json="+jsonPath, "--log-level", "warn")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pedigree bench --scale --scale-retention: %v\n%s", err, out)
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Steps []struct {
			Events int64
			Disk   *struct {
				Retention      bool
				BackupBytes    int64   `json:"backup_bytes"`
				StreamMessages uint64  `json:"stream_messages"`
				Pebble         float64 `json:"pebble_bytes_per_event"`
				Stream         float64 `json:"jetstream_bytes_per_event"`
			}
		}
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
	if len(res.Steps) != 1 || res.Steps[0].Disk == nil {
		t.Fatalf("want one step with its disk:\n%s", b)
	}
	d := res.Steps[0].Disk
	if !d.Retention || d.BackupBytes == 0 || d.StreamMessages > 101 {
		t.Errorf("retention %v, backup %d bytes, %d messages left in the stream", d.Retention, d.BackupBytes, d.StreamMessages)
	}
	if !(d.Stream < d.Pebble) {
		t.Errorf("the stream keeps %.0f B/event after the purge, Pebble %.0f", d.Stream, d.Pebble)
	}
	t.Logf("%d events: Pebble %.0f B/event, stream %.0f B/event (%d messages), backup %d bytes", res.Steps[0].Events, d.Pebble, d.Stream, d.StreamMessages, d.BackupBytes)
}

// TestBenchSoakReportsEachBucket runs a soak of three one-second buckets
// and checks each bucket's calls and samples and the drift verdicts.
func TestBenchSoakReportsEachBucket(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a node and loads it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	jsonPath, htmlPath := filepath.Join(dir, "soak.json"), filepath.Join(dir, "soak.html")
	cmd := pedigreeCmd(ctx, t, "bench", "--soak", "3s", "--soak-bucket", "1s", "--soak-size", "10k", "--verify-rate", "300",
		"--json="+jsonPath, "--html", htmlPath, "--log-level", "warn")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pedigree bench --soak: %v\n%s", err, out)
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Buckets []struct {
			Calls map[string]struct {
				Count int
			}
			RSS        int64 `json:"rss_bytes"`
			Goroutines int
			Events     int64
		}
		Drift []struct{ Series string }
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
	if len(res.Buckets) != 3 {
		t.Fatalf("%d buckets, want 3:\n%s", len(res.Buckets), b)
	}
	for i, k := range res.Buckets {
		if k.Calls["verify"].Count == 0 || k.RSS == 0 || k.Goroutines == 0 || k.Events < 10_000 {
			t.Errorf("bucket %d: %+v", i, k)
		}
	}
	if len(res.Drift) == 0 {
		t.Error("no drift verdicts")
	}
	page, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(page), "<svg"); n < 8 || !strings.Contains(string(page), "GC pauses") {
		t.Errorf("the HTML report has %d charts", n)
	}
}
