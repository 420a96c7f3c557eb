package bench

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func TestSummarizeNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1000; i >= 1; i-- { // unsorted on purpose
		d = append(d, time.Duration(i)*time.Microsecond)
	}
	l := summarize(d, 2, 2*time.Second)
	if l.P50 != 500 || l.P99 != 990 || l.P999 != 999 || l.Max != 1000 || l.Mean != 500.5 {
		t.Errorf("percentiles of 1..1000 µs: %+v", l)
	}
	if l.Count != 1000 || l.Errors != 2 || l.Rate != 500 {
		t.Errorf("count %d, errors %d, rate %v", l.Count, l.Errors, l.Rate)
	}
	if one := summarize([]time.Duration{7 * time.Microsecond}, 0, time.Second); one.P50 != 7 || one.P999 != 7 {
		t.Errorf("one sample: %+v", one)
	}
}

func TestPlanPacksSplitsEveryPackOnce(t *testing.T) {
	for _, n := range []int{1, 49, 20_000, 1_000_000} {
		p := planPacks(n)
		at := 0
		for i, r := range []packRange{p.verify, p.dispense, p.ingest, p.background, p.captures} {
			if r.from != at || r.to < r.from {
				t.Fatalf("n=%d: range %d is %v, want it to start at %d", n, i, r, at)
			}
			at = r.to
		}
		if at != n || p.verify.len() == 0 {
			t.Errorf("n=%d: ranges end at %d, verify has %d packs", n, at, p.verify.len())
		}
	}
}

// TestOpenLoopChargesQueueingToTheSchedule checks that a server slower
// than the schedule shows up in the latencies, measured from the
// scheduled send time, rather than in a lower request rate. It runs on
// synctest's fake clock, so the figures are exact.
func TestOpenLoopChargesQueueingToTheSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const service = 2 * time.Millisecond
		// One worker, 1,000 requests/s, 2 ms each: request i is due at
		// i ms and answered at 2(i+1) ms, so the last of 200 waits 201 ms.
		l, err := openLoop(t.Context(), 1000, 200*time.Millisecond, 10*time.Second, 1, func(context.Context, int) error {
			time.Sleep(service) // the server's work, on the fake clock
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if l.Count != 200 || l.Rate != 1000 {
			t.Errorf("answered %d at %v/s, want 200 at 1000/s (every request, however late)", l.Count, l.Rate)
		}
		if l.Max != 201_000 || l.P50 != 101_000 {
			t.Errorf("max latency %v µs, median %v µs; want the queueing counted: 201,000 and 101,000", l.Max, l.P50)
		}
	})
}

// TestOpenLoopStopsAfterTheGrace checks that a queue left at the end of
// the schedule is counted, not sent, once the grace period has passed.
func TestOpenLoopStopsAfterTheGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		l, err := openLoop(t.Context(), 1000, 100*time.Millisecond, 50*time.Millisecond, 1, func(context.Context, int) error {
			time.Sleep(10 * time.Millisecond) // the server's work, on the fake clock
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Sent one by one, the 100 requests would take 1 s; cut at the
		// end of the schedule (100 ms) plus the grace (50 ms), the one
		// in progress then finishes.
		if took := time.Since(start); took > 200*time.Millisecond {
			t.Errorf("took %v of the fake clock, want the queue cut at the grace", took)
		}
		if l.Unanswered == 0 || l.Count+l.Unanswered != 100 || l.Rate >= 1000 {
			t.Errorf("answered %d, unanswered %d, rate %v: want the unsent counted", l.Count, l.Unanswered, l.Rate)
		}
	})
}

// TestPhasesSelectWhatRunsAndIsReported checks --phases: unknown names
// are refused, no names mean every phase, and the table shows the figures
// of the phases that ran (commissioning always runs).
func TestPhasesSelectWhatRunsAndIsReported(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Phases = []string{PhaseVerify, "verfy"}
	if _, err := cfg.withDefaults(); err == nil {
		t.Error("an unknown phase was accepted")
	}
	all, err := DefaultConfig().withDefaults()
	if err != nil || len(all.Phases) != len(AllPhases()) {
		t.Errorf("default phases %v, %v; want all", all.Phases, err)
	}
	r := &Result{Settings: Settings{Phases: []string{PhaseVerify}}}
	var names []string
	for _, f := range r.figures() {
		names = append(names, f.Name)
	}
	if !slices.Contains(names, "commissioning") || !slices.Contains(names, "verify p99") ||
		slices.Contains(names, "ingest, 1 event/envelope") || slices.Contains(names, "dispense p99") {
		t.Errorf("figures of a verify-only run: %v", names)
	}
}
