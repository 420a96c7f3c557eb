package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestBenchReportsEveryFigure runs a short `pedigree bench` against its
// embedded server and checks that every figure of the report is there and
// positive.
func TestBenchReportsEveryFigure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a whole benchmark (about 15 s)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := pedigreeCmd(ctx, t, "bench", "--duration", "5s", "--commission", "20000", "--verify-rate", "2000", "--json", "--log-level", "warn")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pedigree bench: %v\n%s", err, out)
	}
	var res struct {
		Server  string
		Machine struct {
			NumCPU     int        `json:"num_cpu"`
			GOMAXPROCS int        `json:"gomaxprocs"`
			GoVersion  string     `json:"go_version"`
			LoadStart  [3]float64 `json:"load_avg_start"`
			LoadEnd    [3]float64 `json:"load_avg_end"`
		}
		LedgerVerify *struct {
			Entries uint64 `json:"entries"`
		} `json:"ledger_verify"`
		Figures []struct {
			Name   string
			Value  float64
			Target string
			Met    *bool
		}
		NotMeasured []string `json:"not_measured"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("decode the JSON report: %v\n%s", err, out)
	}
	if res.Server != "embedded" || res.Machine.NumCPU < 1 || res.Machine.GOMAXPROCS < 1 || res.Machine.GoVersion == "" {
		t.Errorf("report header: server %q, machine %+v", res.Server, res.Machine)
	}
	if res.LedgerVerify == nil || res.LedgerVerify.Entries == 0 || len(res.NotMeasured) != 0 {
		t.Errorf("embedded run: ledger verify %v, not measured %v", res.LedgerVerify, res.NotMeasured)
	}
	got := map[string]float64{}
	for _, f := range res.Figures {
		got[f.Name] = f.Value
		if (f.Target == "") != (f.Met == nil) {
			t.Errorf("figure %q: target %q with met %v", f.Name, f.Target, f.Met)
		}
	}
	for _, name := range []string{
		"commissioning", "  Pebble alone, synced batches of 1000 keys", "commissioning ÷ Pebble alone (a serial per key)",
		"raw JetStream publish, 1 event/msg", "ingest, 1 event/envelope", "ingest ÷ raw, 1 event/envelope",
		"  read back and signatures checked alone, 1 event/msg", "ingest ÷ (read back + signatures), 1 event/envelope",
		"raw JetStream publish, 100 events/msg", "ingest, 100 events/envelope", "ingest ÷ raw, 100 events/envelope",
		"  raw JetStream read back, 100 events/msg", "ingest ÷ raw read back, 100 events/envelope",
		"verify, requests answered", "verify p50", "verify p99", "verify p99.9",
		"  gRPC floor at that rate (health check) p50", "  gRPC floor at that rate (health check) p99", "  background ingest meanwhile",
		"dispense p50", "dispense p99",
		"inclusion proof p50", "inclusion proof p99", "consistency proof p50", "consistency proof p99",
		"  gRPC round trip (health check) p50", "  gRPC round trip (health check) p99",
		"ledger verify",
		"disk, Pebble live + JetStream, all pack events", "  of which Pebble (live)", "  of which JetStream",
		"disk, single-pack event, lower bound", "  JetStream message", "  ledger entry (Pebble, no indexes)",
		"peak RSS", "  peak RSS up to the end of commissioning",
	} {
		v, ok := got[name]
		switch {
		case !ok:
			t.Errorf("figure %q missing from the report", name)
		case !(v > 0):
			t.Errorf("figure %q = %v, want a positive value", name, v)
		}
	}
	if len(got) != 37 {
		t.Errorf("report has %d figures, want the 37 above", len(got))
	}
}
