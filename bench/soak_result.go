package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// SoakResult is what `pedigree bench --soak` measured, bucket by bucket.
type SoakResult struct {
	Server      string       `json:"server"`
	Machine     Machine      `json:"machine"`
	Settings    SoakSettings `json:"settings"`
	FillSeconds float64      `json:"fill_s"`
	// FloorBefore and FloorAfter are the bare gRPC call on the idle node
	// before and after the fill's bulk ingest.
	FloorBefore FloorProbe   `json:"bare_grpc_idle_before_fill"`
	FloorAfter  FloorProbe   `json:"bare_grpc_idle_after_fill"`
	Buckets     []SoakBucket `json:"buckets"`
	// Drift holds each series' p99 trend against its median.
	Drift []Drift `json:"drift"`
}

// SoakSettings are a soak's parameters.
type SoakSettings struct {
	DurationSeconds float64 `json:"duration_s"`
	BucketSeconds   float64 `json:"bucket_s"`
	Size            int64   `json:"size_events"`
	VerifyRate      int     `json:"verify_rate"`
	DispenseRate    int     `json:"dispense_rate"`
	HistoryRate     int     `json:"history_rate"`
	EventRate       int     `json:"event_rate"`
}

// SoakBucket is one bucket (a minute) of a soak. Latencies in µs.
type SoakBucket struct {
	// Minute is the end of the bucket, in minutes from the start.
	Minute float64            `json:"minute"`
	Calls  map[string]Latency `json:"calls"`
	// Events the node held at the end.
	Events int64 `json:"events"`
	// The process (node and load generator): RSS, goroutines, live heap
	// after the last GC, GC cycles and pauses (runtime/metrics; bucket
	// upper bounds) in the bucket.
	RSSBytes      int64   `json:"rss_bytes"`
	Goroutines    int     `json:"goroutines"`
	HeapLiveBytes int64   `json:"heap_live_bytes"`
	GCCycles      int64   `json:"gc_cycles"`
	GCPauseP99    float64 `json:"gc_pause_p99_us"`
	GCPauseMax    float64 `json:"gc_pause_max_us"`
	// Pebble (the node's /metrics): compactions in the bucket, read
	// amplification and compaction debt at its end.
	Compactions         float64 `json:"pebble_compactions"`
	ReadAmp             float64 `json:"pebble_read_amplification"`
	CompactionDebtBytes float64 `json:"pebble_compaction_debt_bytes"`
}

// Drift is a series' trend over the soak: the least-squares slope times
// the run's length, against the series' median. Flagged beyond 20 %.
type Drift struct {
	Series  string  `json:"series"`
	Median  float64 `json:"median"`
	Growth  float64 `json:"growth_over_run"`
	Ratio   float64 `json:"growth_over_median"`
	Flagged bool    `json:"flagged"`
}

// driftLimit is the growth over the run, relative to the median, that
// flags a series.
const driftLimit = 0.2

// soakSeries are the series a soak's drift is judged on.
func soakSeries() []struct {
	name, unit string
	get        func(SoakBucket) float64
} {
	call := func(series string, p99 bool) func(SoakBucket) float64 {
		return func(b SoakBucket) float64 {
			l, ok := b.Calls[series]
			if !ok || l.Count == 0 {
				return math.NaN()
			}
			if p99 {
				return l.P99 / ms
			}
			return l.P50 / ms
		}
	}
	type s = struct {
		name, unit string
		get        func(SoakBucket) float64
	}
	return []s{
		{"verify p99", "ms", call(seriesVerify, true)},
		{"bare gRPC p99", "ms", call(seriesFloor, true)},
		{"dispense p99", "ms", call(seriesDispense, true)},
		{"pack history p99", "ms", call(seriesHistory, true)},
		{"capture wave p99", "ms", call(seriesCapture, true)},
		{"RSS", "MiB", func(b SoakBucket) float64 { return float64(b.RSSBytes) / mib }},
		{"goroutines", "", func(b SoakBucket) float64 { return float64(b.Goroutines) }},
		{"GC pause p99", "µs", func(b SoakBucket) float64 { return b.GCPauseP99 }},
		{"Pebble read amplification", "", func(b SoakBucket) float64 { return b.ReadAmp }},
	}
}

// drift judges each series.
func (r *SoakResult) drift() []Drift {
	var out []Drift
	for _, s := range soakSeries() {
		var xs, ys []float64
		for i, b := range r.Buckets {
			if v := s.get(b); finite(v) {
				xs, ys = append(xs, float64(i)), append(ys, v)
			}
		}
		if len(ys) < 2 {
			continue
		}
		med := median(ys)
		growth := slope(xs, ys) * float64(len(r.Buckets)-1)
		d := Drift{Series: s.name, Median: med, Growth: growth}
		if med > 0 {
			d.Ratio = growth / med
		}
		d.Flagged = d.Ratio > driftLimit
		out = append(out, d)
	}
	return out
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// slope is the least-squares slope of ys over xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}

// WriteJSON writes r as indented JSON.
func (r *SoakResult) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Report draws r: one chart per series against minutes.
func (r *SoakResult) Report(command string) *Report {
	x := make([]float64, len(r.Buckets))
	for i, b := range r.Buckets {
		x[i] = b.Minute
	}
	vals := func(get func(SoakBucket) float64) []float64 {
		out := make([]float64, len(r.Buckets))
		for i, b := range r.Buckets {
			out[i] = get(b)
		}
		return out
	}
	verdict := func(name string) string {
		for _, d := range r.Drift {
			if d.Series == name {
				if d.Flagged {
					return fmt.Sprintf("DRIFTS: +%.0f %% of its median over the run", 100*d.Ratio)
				}
				return fmt.Sprintf("met: %+.0f %% of its median over the run", 100*d.Ratio)
			}
		}
		return ""
	}
	var figs []ReportFigure
	for _, c := range []struct{ series, title string }{{seriesVerify, "verify"}, {seriesFloor, "bare gRPC call (health check, 200/s)"}, {seriesDispense, "dispense"}, {seriesHistory, "pack history"},
		{seriesCapture, "capture wave (a block's captures of one tier, published to committed)"}} {
		lat := func(p99 bool) func(SoakBucket) float64 {
			return func(b SoakBucket) float64 {
				l, ok := b.Calls[c.series]
				if !ok || l.Count == 0 {
					return math.NaN()
				}
				if p99 {
					return l.P99 / ms
				}
				return l.P50 / ms
			}
		}
		figs = append(figs, ReportFigure{Name: c.title, Unit: "ms", Target: "p99 grows ≤ 20 % of its median",
			Verdict: verdict(c.series + " p99"), Lines: []ReportLine{{Name: "p50", Values: vals(lat(false))}, {Name: "p99", Values: vals(lat(true))}}})
	}
	figs = append(figs,
		ReportFigure{Name: "memory", Unit: "MiB", Verdict: verdict("RSS"), Lines: []ReportLine{
			{Name: "RSS", Values: vals(func(b SoakBucket) float64 { return float64(b.RSSBytes) / mib })},
			{Name: "live heap", Values: vals(func(b SoakBucket) float64 { return float64(b.HeapLiveBytes) / mib })}}},
		ReportFigure{Name: "goroutines", Verdict: verdict("goroutines"), Lines: []ReportLine{{Name: "goroutines", Values: vals(func(b SoakBucket) float64 { return float64(b.Goroutines) })}}},
		ReportFigure{Name: "GC pauses", Unit: "µs", Verdict: verdict("GC pause p99"), Lines: []ReportLine{
			{Name: "p99", Values: vals(func(b SoakBucket) float64 { return b.GCPauseP99 })},
			{Name: "max", Values: vals(func(b SoakBucket) float64 { return b.GCPauseMax })}}},
		ReportFigure{Name: "GC cycles per bucket", Lines: []ReportLine{{Name: "cycles", Values: vals(func(b SoakBucket) float64 { return float64(b.GCCycles) })}}},
		ReportFigure{Name: "Pebble compactions per bucket", Lines: []ReportLine{{Name: "compactions", Values: vals(func(b SoakBucket) float64 { return b.Compactions })}}},
		ReportFigure{Name: "Pebble read amplification", Verdict: verdict("Pebble read amplification"), Lines: []ReportLine{{Name: "read amp", Values: vals(func(b SoakBucket) float64 { return b.ReadAmp })}}},
		ReportFigure{Name: "events held", Lines: []ReportLine{{Name: "events", Values: vals(func(b SoakBucket) float64 { return float64(b.Events) })}}},
	)
	m, st := r.Machine, r.Settings
	rep := &Report{
		Title: "pedigree bench --soak: does anything drift",
		Lines: []string{"command: " + command,
			fmt.Sprintf("server: %s; machine: %d CPUs, GOMAXPROCS %d, %s %s/%s; load average %s at start, %s at end",
				r.Server, m.NumCPU, m.GOMAXPROCS, m.GoVersion, m.OS, m.Arch, loadString(m.LoadStart), loadString(m.LoadEnd)),
			fmt.Sprintf("filled to %d events in %.0f s; then per second: %d verifications and %d bare gRPC calls (paced, latency from the scheduled time), %d dispenses, %d history reads, %d market events as signed captures",
				st.Size, r.FillSeconds, st.VerifyRate, floorRate, st.DispenseRate, st.HistoryRate, st.EventRate),
			fmt.Sprintf("bare gRPC call on the idle node at %d/s: p50 %.2f ms, p99 %.2f ms before the fill (live heap %.0f MiB, %d goroutines); p50 %.2f ms, p99 %.2f ms after it (live heap %.0f MiB, %d goroutines)",
				floorProbeRate, r.FloorBefore.P50/ms, r.FloorBefore.P99/ms, float64(r.FloorBefore.HeapLiveBytes)/mib, r.FloorBefore.Goroutines,
				r.FloorAfter.P50/ms, r.FloorAfter.P99/ms, float64(r.FloorAfter.HeapLiveBytes)/mib, r.FloorAfter.Goroutines),
			"drift: least-squares slope of the series over the run, times its length, against its median; flagged beyond 20 %."},
		XName: "minute", X: x, Figures: figs,
	}
	return rep
}

// WriteTable writes one line per bucket and the drift verdicts.
func (r *SoakResult) WriteTable(w io.Writer) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "minute\tverify p50/p99 ms\tbare gRPC p50/p99 ms\tdispense p50/p99 ms\thistory p50/p99 ms\tcapture wave p99 ms\tRSS MiB\tgoroutines\tGC p99 µs\tcompactions\tread amp\t")
	pair := func(l Latency) string { return formatValue(l.P50/ms) + " / " + formatValue(l.P99/ms) }
	for _, k := range r.Buckets {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t\n", formatValue(k.Minute), pair(k.Calls[seriesVerify]), pair(k.Calls[seriesFloor]), pair(k.Calls[seriesDispense]),
			pair(k.Calls[seriesHistory]), formatValue(k.Calls[seriesCapture].P99/ms), formatValue(float64(k.RSSBytes)/mib), k.Goroutines,
			formatValue(k.GCPauseP99), formatValue(k.Compactions), formatValue(k.ReadAmp))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "bare gRPC call on the idle node at %d/s: p99 %s ms before the fill, %s ms after it\n", floorProbeRate,
		formatValue(r.FloorBefore.P99/ms), formatValue(r.FloorAfter.P99/ms))
	for _, d := range r.Drift {
		word := "steady"
		if d.Flagged {
			word = "DRIFTS"
		}
		fmt.Fprintf(&b, "%s: median %s, growth over the run %+.0f %% of it: %s\n", d.Series, formatValue(d.Median), 100*d.Ratio, word)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
