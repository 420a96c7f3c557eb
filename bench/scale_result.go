package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// ScaleResult is what `pedigree bench --scale` measured: one ScaleStep per
// data size. Its JSON form is what --json writes.
type ScaleResult struct {
	Server   string        `json:"server"`
	Machine  Machine       `json:"machine"`
	Settings ScaleSettings `json:"settings"`
	// WallSeconds is the run's wall time, over all its runs when it was
	// paused and resumed (Resumed times).
	WallSeconds float64     `json:"wall_seconds"`
	Resumed     int         `json:"resumed,omitempty"`
	Steps       []ScaleStep `json:"steps"`
	// Verdicts hold each figure against its limit and target.
	Verdicts []Verdict `json:"verdicts"`
}

// ScaleSettings are a scale run's parameters.
type ScaleSettings struct {
	Steps            []int64  `json:"steps_events"`
	PhaseSeconds     float64  `json:"phase_s"`
	VerifyRate       int      `json:"verify_rate"`
	VerifyIngestRate int      `json:"verify_ingest_rate"`
	Skip             []string `json:"skip,omitempty"`
	EventsPerPallet  int      `json:"events_per_pallet"`
	PalletPacks      int      `json:"pallet_packs"`
}

// ScaleStep is the figures at one data size. Latencies are in µs.
type ScaleStep struct {
	// Events are EPCIS events recorded (a commissioned serial is one),
	// PackEvents the same counted once per pack each names, Packs the
	// packs commissioned, LedgerEntries the ledger's size.
	Events        int64  `json:"events"`
	PackEvents    int64  `json:"pack_events"`
	Packs         int64  `json:"packs"`
	LedgerEntries uint64 `json:"ledger_entries"`
	// GrowSeconds is the time to grow to this step; StepSeconds that plus
	// the measurements.
	GrowSeconds float64 `json:"grow_s"`
	StepSeconds float64 `json:"step_s"`

	Verify Latency `json:"verify"`
	Floor  Latency `json:"bare_grpc"`
	// VerifyCPUMicros is the node's CPU per verification (its
	// process_cpu_seconds_total over a verify phase at the same rate with
	// nothing else sent, less its CPU over as long idle just before), in
	// µs; 0 when not measured.
	VerifyCPUMicros float64 `json:"verify_server_cpu_us,omitempty"`
	// BareCPUMicros is the node's CPU per bare gRPC call (the health
	// check) measured the same way at the same rate: the transport's own
	// cost, the limit of VerifyCPUMicros.
	BareCPUMicros    float64  `json:"bare_grpc_server_cpu_us,omitempty"`
	BackgroundIngest float64  `json:"background_ingest_events_per_s"`
	Dispense         Latency  `json:"dispense"`
	History          Latency  `json:"pack_history"`
	Trace            Latency  `json:"batch_trace"`
	EPCIS            *Latency `json:"epcis_query,omitempty"`
	EPCISNotServed   string   `json:"epcis_not_served,omitempty"`
	Proofs           Proofs   `json:"proofs"`

	Restart Restart         `json:"restart"`
	Disk    *ScaleDisk      `json:"disk,omitempty"`
	Offline *OfflineFigures `json:"offline,omitempty"`

	RSSBytes   int64        `json:"rss_bytes"`
	HeapBytes  int64        `json:"heap_alloc_bytes"`
	Goroutines int          `json:"goroutines"`
	Pebble     PebbleHealth `json:"pebble"`
}

// Restart is the time from starting a node killed with SIGKILL to its
// /readyz answering 200, and to the ledger's outcome of an event
// published then.
type Restart struct {
	ReadySeconds     float64 `json:"ready_s"`
	IngestingSeconds float64 `json:"ingesting_s"`
}

// ScaleDisk is the stopped node's data directory.
type ScaleDisk struct {
	PebbleBytes         int64   `json:"pebble_dir_bytes"`
	StreamBytes         int64   `json:"jetstream_dir_bytes"`
	PebbleBytesPerEvent float64 `json:"pebble_bytes_per_event"`
	StreamBytesPerEvent float64 `json:"jetstream_bytes_per_event"`
	BytesPerEvent       float64 `json:"bytes_per_event"`
	BytesPerPackEvent   float64 `json:"bytes_per_pack_event"`
	// Retention: the node ran with stream retention after-backup and a
	// verified backup of BackupBytes was taken as the step began, after
	// which the stream held StreamMessages.
	Retention      bool   `json:"retention,omitempty"`
	BackupBytes    int64  `json:"backup_bytes,omitempty"`
	StreamMessages uint64 `json:"stream_messages,omitempty"`
}

// PebbleHealth is what the node's /metrics says of its Pebble database.
type PebbleHealth struct {
	ReadAmp             float64 `json:"read_amplification"`
	CompactionDebtBytes float64 `json:"compaction_debt_bytes"`
	Compactions         float64 `json:"compactions_total"`
	DiskBytes           float64 `json:"disk_usage_bytes"`
}

// Verdict is one figure against its limit or target.
type Verdict struct {
	Figure string  `json:"figure"`
	Value  float64 `json:"value"`
	Limit  float64 `json:"limit"`
	Rule   string  `json:"rule"`
	Met    bool    `json:"met"`
}

const (
	ms  = 1000.0
	mib = 1 << 20
)

// latencyFigures are the step latencies held to "the biggest step within
// 1.5 × the first".
func latencyFigures() []struct {
	name string
	get  func(ScaleStep) float64
} {
	return []struct {
		name string
		get  func(ScaleStep) float64
	}{
		{"verify p50", func(s ScaleStep) float64 { return s.Verify.P50 }},
		{"verify p99", func(s ScaleStep) float64 { return s.Verify.P99 }},
		{"dispense p50", func(s ScaleStep) float64 { return s.Dispense.P50 }},
		{"dispense p99", func(s ScaleStep) float64 { return s.Dispense.P99 }},
		{"pack history p99", func(s ScaleStep) float64 { return s.History.P99 }},
		{"batch trace p99", func(s ScaleStep) float64 { return s.Trace.P99 }},
		{"EPCIS query p99", func(s ScaleStep) float64 {
			if s.EPCIS == nil {
				return math.NaN()
			}
			return s.EPCIS.P99
		}},
		{"inclusion proof p99", func(s ScaleStep) float64 { return s.Proofs.Inclusion.P99 }},
		{"consistency proof p99", func(s ScaleStep) float64 { return s.Proofs.Consistency.P99 }},
	}
}

// verdicts holds the last step against the limits measured in it and
// the targets.
func (r *ScaleResult) verdicts() []Verdict {
	if len(r.Steps) == 0 {
		return nil
	}
	first, last := r.Steps[0], r.Steps[len(r.Steps)-1]
	var out []Verdict
	add := func(fig string, v, limit float64, rule string, met bool) {
		if finite(v) && v > 0 && finite(limit) && limit > 0 {
			out = append(out, Verdict{fig, v, limit, rule, met})
		}
	}
	add("verify p99 ÷ bare gRPC p99 (same step)", last.Verify.P99/last.Floor.P99, 1.2, "≤ 1.2", last.Verify.P99 <= 1.2*last.Floor.P99)
	add("node CPU per verification, µs", last.VerifyCPUMicros, 10, "≤ 10 µs", last.VerifyCPUMicros <= 10)
	add("node CPU per verification less per bare gRPC call, µs", last.VerifyCPUMicros-last.BareCPUMicros, 10, "≤ 10 µs",
		last.VerifyCPUMicros-last.BareCPUMicros <= 10)
	if o := last.Offline; o != nil {
		add("audit hashing ÷ SHA-256 on all cores", o.HashedBytesPerS/o.SHA256BytesPerS, 0.8, "≥ 0.8", o.HashedBytesPerS >= 0.8*o.SHA256BytesPerS)
		add("pack history p99 ÷ Pebble random read p99", last.History.P99/o.PebbleRead.P99, math.Inf(1), "(ratio)", true)
	}
	if len(r.Steps) > 1 {
		for _, f := range latencyFigures() {
			a, b := f.get(first), f.get(last)
			add(f.name+" at the biggest step ÷ at the first", b/a, 1.5, "≤ 1.5", b <= 1.5*a)
		}
	}
	add("restart after SIGKILL to ready", last.Restart.ReadySeconds, 5, "≤ 5 s", last.Restart.ReadySeconds <= 5)
	add("restart after SIGKILL to ingesting", last.Restart.IngestingSeconds, 5, "≤ 5 s", last.Restart.IngestingSeconds <= 5)
	add("RSS", float64(last.RSSBytes)/mib, 1024, "≤ 1024 MiB", last.RSSBytes <= 1<<30)
	if d := last.Disk; d != nil {
		name := "disk per event, Pebble + JetStream"
		if d.Retention {
			name += " (stream retention after-backup)"
		}
		add(name, d.BytesPerEvent, 300, "≤ 300 B", d.BytesPerEvent <= 300)
	}
	return out
}

// WriteJSON writes r as indented JSON.
func (r *ScaleResult) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// nanIfZero marks a figure a step did not take.
func nanIfZero(v float64) float64 {
	if v == 0 {
		return math.NaN()
	}
	return v
}

// stepValues applies get to every step.
func stepValues[S any](steps []S, get func(S) float64) []float64 {
	out := make([]float64, len(steps))
	for i, s := range steps {
		out[i] = nanIfZero(get(s))
	}
	return out
}

// Report draws r: one chart per figure against the events held.
func (r *ScaleResult) Report(command string) *Report {
	st := r.Steps
	x := make([]float64, len(st))
	for i, s := range st {
		x[i] = float64(s.Events)
	}
	lat := func(name string, get func(ScaleStep) Latency, scale float64) []ReportLine {
		return []ReportLine{
			{Name: name + " p50", Values: stepValues(st, func(s ScaleStep) float64 { return get(s).P50 / scale })},
			{Name: name + " p99", Values: stepValues(st, func(s ScaleStep) float64 { return get(s).P99 / scale })},
		}
	}
	floor := ReportLine{Name: "bare gRPC p99 (limit)", Limit: true, Values: stepValues(st, func(s ScaleStep) float64 { return s.Floor.P99 / ms })}
	pebbleRead := ReportLine{Name: "Pebble random read p99 (limit)", Limit: true, Values: stepValues(st, func(s ScaleStep) float64 {
		if s.Offline == nil {
			return 0
		}
		return s.Offline.PebbleRead.P99 / ms
	})}
	growth := func(get func(ScaleStep) float64) string {
		if len(st) < 2 {
			return ""
		}
		a, b := get(st[0]), get(st[len(st)-1])
		if !(a > 0) || !(b > 0) {
			return ""
		}
		return verdictFmt(b/a, 1.5, "× the first step")
	}
	epcis := func(s ScaleStep) Latency {
		if s.EPCIS == nil {
			return Latency{}
		}
		return *s.EPCIS
	}
	figs := []ReportFigure{
		{Name: "verify", Unit: "ms", Lines: append(lat("verify", func(s ScaleStep) Latency { return s.Verify }, ms), floor),
			Target: "p99 ≤ 1.2 × bare gRPC p99; biggest ≤ 1.5 × first", Verdict: growth(func(s ScaleStep) float64 { return s.Verify.P99 })},
		{Name: "node CPU per verification", Unit: "µs", Target: "≤ 10 µs", Verdict: lastVerdict(st, func(s ScaleStep) float64 { return s.VerifyCPUMicros }, 10),
			Lines: []ReportLine{{Name: "verifying alone", Values: stepValues(st, func(s ScaleStep) float64 { return s.VerifyCPUMicros })},
				{Name: "bare gRPC call alone (limit)", Limit: true, Values: stepValues(st, func(s ScaleStep) float64 { return s.BareCPUMicros })}}},
		{Name: "dispense", Unit: "ms", Lines: lat("dispense", func(s ScaleStep) Latency { return s.Dispense }, ms),
			Target: "biggest ≤ 1.5 × first", Verdict: growth(func(s ScaleStep) float64 { return s.Dispense.P99 })},
		{Name: "pack history", Unit: "ms", Lines: append(lat("history", func(s ScaleStep) Latency { return s.History }, ms), pebbleRead),
			Target: "biggest ≤ 1.5 × first", Verdict: growth(func(s ScaleStep) float64 { return s.History.P99 })},
		{Name: "batch trace (lot index)", Unit: "ms", Lines: lat("trace", func(s ScaleStep) Latency { return s.Trace }, ms),
			Target: "biggest ≤ 1.5 × first", Verdict: growth(func(s ScaleStep) float64 { return s.Trace.P99 })},
		{Name: "EPCIS query by pack", Unit: "ms", Lines: lat("MATCH_epc", epcis, ms),
			Target: "biggest ≤ 1.5 × first", Verdict: growth(func(s ScaleStep) float64 { return epcis(s).P99 })},
		{Name: "inclusion proof", Unit: "µs", Lines: lat("inclusion", func(s ScaleStep) Latency { return s.Proofs.Inclusion }, 1),
			Verdict: growth(func(s ScaleStep) float64 { return s.Proofs.Inclusion.P99 })},
		{Name: "consistency proof", Unit: "µs", Lines: append(lat("consistency", func(s ScaleStep) Latency { return s.Proofs.Consistency }, 1),
			ReportLine{Name: "gRPC round trip p99 (limit)", Limit: true, Values: stepValues(st, func(s ScaleStep) float64 { return s.Proofs.RoundTrip.P99 })}),
			Verdict: growth(func(s ScaleStep) float64 { return s.Proofs.Consistency.P99 })},
		{Name: "checkpoint signing", Unit: "µs", Lines: lat("sign", func(s ScaleStep) Latency {
			if s.Offline == nil {
				return Latency{}
			}
			return s.Offline.CheckpointSign
		}, 1)},
		{Name: "offline audit hashing", Unit: "MB/s", Target: "≥ 0.8 × SHA-256 on all cores", Lines: []ReportLine{
			{Name: "audit", Values: stepValues(st, func(s ScaleStep) float64 {
				return offlineOr(s, func(o *OfflineFigures) float64 { return o.HashedBytesPerS / 1e6 })
			})},
			{Name: "SHA-256 alone (limit)", Limit: true, Values: stepValues(st, func(s ScaleStep) float64 {
				return offlineOr(s, func(o *OfflineFigures) float64 { return o.SHA256BytesPerS / 1e6 })
			})}}},
		{Name: "offline audit", Unit: "entries/s", Lines: []ReportLine{{Name: "ledger verify", Values: stepValues(st, func(s ScaleStep) float64 {
			return offlineOr(s, func(o *OfflineFigures) float64 { return o.Audit.EntriesPerS })
		})}}},
		{Name: "restart after SIGKILL", Unit: "s", Target: "≤ 5 s", Verdict: lastVerdict(st, func(s ScaleStep) float64 { return s.Restart.IngestingSeconds }, 5), Lines: []ReportLine{
			{Name: "to ready", Values: stepValues(st, func(s ScaleStep) float64 { return s.Restart.ReadySeconds })},
			{Name: "to ingesting", Values: stepValues(st, func(s ScaleStep) float64 { return s.Restart.IngestingSeconds })}}},
		{Name: "disk per event", Unit: "B/event", Target: "≤ 300 B", Verdict: lastVerdict(st, func(s ScaleStep) float64 { return diskOr(s, func(d *ScaleDisk) float64 { return d.BytesPerEvent }) }, 300), Lines: []ReportLine{
			{Name: "Pebble + JetStream", Values: stepValues(st, func(s ScaleStep) float64 { return diskOr(s, func(d *ScaleDisk) float64 { return d.BytesPerEvent }) })},
			{Name: "Pebble", Values: stepValues(st, func(s ScaleStep) float64 {
				return diskOr(s, func(d *ScaleDisk) float64 { return d.PebbleBytesPerEvent })
			})},
			{Name: "JetStream", Values: stepValues(st, func(s ScaleStep) float64 {
				return diskOr(s, func(d *ScaleDisk) float64 { return d.StreamBytesPerEvent })
			})}}},
		{Name: "memory", Unit: "MiB", Target: "RSS ≤ 1024 MiB", Verdict: lastVerdict(st, func(s ScaleStep) float64 { return float64(s.RSSBytes) / mib }, 1024), Lines: []ReportLine{
			{Name: "RSS", Values: stepValues(st, func(s ScaleStep) float64 { return float64(s.RSSBytes) / mib })},
			{Name: "Go heap in use", Values: stepValues(st, func(s ScaleStep) float64 { return float64(s.HeapBytes) / mib })}}},
		{Name: "goroutines", Lines: []ReportLine{{Name: "goroutines", Values: stepValues(st, func(s ScaleStep) float64 { return float64(s.Goroutines) })}}},
		{Name: "Pebble read amplification", Lines: []ReportLine{{Name: "read amp", Values: stepValues(st, func(s ScaleStep) float64 { return s.Pebble.ReadAmp })}}},
		{Name: "Pebble compaction debt", Unit: "MiB", Lines: []ReportLine{{Name: "debt", Values: stepValues(st, func(s ScaleStep) float64 { return s.Pebble.CompactionDebtBytes / mib })}}},
		{Name: "growth rate", Unit: "events/s", Lines: []ReportLine{{Name: "events added ÷ time to grow", Values: growthRates(st)}}},
	}
	m := r.Machine
	rep := &Report{
		Title: "pedigree bench --scale: how each cost grows with the data",
		Lines: []string{
			"command: " + command,
			fmt.Sprintf("server: %s; machine: %d CPUs, GOMAXPROCS %d, %s %s/%s; load average %s at start, %s at end; run took %.0f s",
				r.Server, m.NumCPU, m.GOMAXPROCS, m.GoVersion, m.OS, m.Arch, loadString(m.LoadStart), loadString(m.LoadEnd), r.WallSeconds),
			fmt.Sprintf("events: EPCIS events (a commissioned serial is one); each pallet of %d packs costs %d events. Dashed lines are limits measured in the same step.",
				palletPacks, EventsPerPallet),
		},
		XName: "events", X: x, LogX: true, Figures: figs,
	}
	if r.Resumed > 0 {
		times := "once"
		if r.Resumed > 1 {
			times = fmt.Sprintf("%d times", r.Resumed)
		}
		rep.Lines = append(rep.Lines, "the run was paused and resumed "+times+" on the same data (--scale-data); its time counts every sitting")
	}
	for _, v := range r.Verdicts {
		word := "met"
		if !v.Met {
			word = "MISSED"
		}
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s: %s (%s) %s", v.Figure, formatValue(v.Value), v.Rule, word))
	}
	for i, s := range st {
		if s.EPCIS == nil && s.EPCISNotServed != "" {
			rep.Notes = append(rep.Notes, fmt.Sprintf("step %d: EPCIS query n/a: %s", i+1, s.EPCISNotServed))
		}
	}
	return rep
}

// growthRates returns each step's events added over its time to grow.
func growthRates(st []ScaleStep) []float64 {
	out := make([]float64, len(st))
	var prev int64
	for i, s := range st {
		out[i] = math.NaN()
		if s.GrowSeconds > 0 {
			out[i] = float64(s.Events-prev) / s.GrowSeconds
		}
		prev = s.Events
	}
	return out
}

func offlineOr(s ScaleStep, get func(*OfflineFigures) float64) float64 {
	if s.Offline == nil {
		return 0
	}
	return get(s.Offline)
}

func diskOr(s ScaleStep, get func(*ScaleDisk) float64) float64 {
	if s.Disk == nil {
		return 0
	}
	return get(s.Disk)
}

// lastVerdict holds the last step's value to limit.
func lastVerdict(st []ScaleStep, get func(ScaleStep) float64, limit float64) string {
	if len(st) == 0 {
		return ""
	}
	return verdictAtMost(nanIfZero(get(st[len(st)-1])), limit)
}

// WriteTable writes the steps' main figures and the verdicts.
func (r *ScaleResult) WriteTable(w io.Writer) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "events\tpacks\tverify p99 ms\tbare p99 ms\tdispense p99 ms\thistory p99 ms\ttrace p99 ms\tEPCIS p99 ms\tincl p99 µs\tcons p99 µs\tready s\tingesting s\tB/event\tRSS MiB\tgoroutines\tread amp\tdebt MiB\t")
	for _, s := range r.Steps {
		e := "n/a"
		if s.EPCIS != nil {
			e = formatValue(s.EPCIS.P99 / ms)
		}
		bpe := "n/a"
		if s.Disk != nil {
			bpe = formatValue(s.Disk.BytesPerEvent)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t\n",
			groupThousands(s.Events), groupThousands(s.Packs), formatValue(s.Verify.P99/ms), formatValue(s.Floor.P99/ms),
			formatValue(s.Dispense.P99/ms), formatValue(s.History.P99/ms), formatValue(s.Trace.P99/ms), e,
			formatValue(s.Proofs.Inclusion.P99), formatValue(s.Proofs.Consistency.P99), formatValue(s.Restart.ReadySeconds),
			formatValue(s.Restart.IngestingSeconds), bpe, formatValue(float64(s.RSSBytes)/mib), s.Goroutines,
			formatValue(s.Pebble.ReadAmp), formatValue(s.Pebble.CompactionDebtBytes/mib))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, v := range r.Verdicts {
		word := "met"
		if !v.Met {
			word = "MISSED"
		}
		fmt.Fprintf(&b, "%s: %s (%s) %s\n", v.Figure, formatValue(v.Value), v.Rule, word)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
