package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is everything a run measured. Its JSON form is what
// `pedigree bench --json` prints.
type Result struct {
	// Server is "embedded" or the HTTP address of the server measured.
	Server  string  `json:"server"`
	Machine Machine `json:"machine"`
	// Settings are the run's parameters.
	Settings Settings `json:"settings"`
	// WallSeconds is the whole run, setup and audit included.
	WallSeconds float64 `json:"wall_seconds"`

	Commission  Commissioning `json:"commission"`
	Raw         Throughput    `json:"raw_publish"`
	RawCaptures Throughput    `json:"raw_publish_captures"`
	// RawLimits and CaptureLimits are the raw phases' messages read back:
	// alone, and with their signatures checked (limits.go).
	RawLimits     Limits `json:"raw_limits"`
	CaptureLimits Limits `json:"capture_limits"`
	// PebbleSyncedKeysPerS is Pebble alone writing synced batches of
	// pebbleLimitBatch keys (embedded server only): commissioning's limit.
	PebbleSyncedKeysPerS float64      `json:"pebble_synced_keys_per_s,omitempty"`
	Ingest               Throughput   `json:"ingest"`
	IngestCaptures       Throughput   `json:"ingest_captures"`
	Verify               Verification `json:"verify"`
	Dispense             Latency      `json:"dispense"`
	Proofs               Proofs       `json:"proofs"`
	// LedgerVerify and Disk need the data directory: embedded server only.
	LedgerVerify *Audit `json:"ledger_verify,omitempty"`
	Disk         *Disk  `json:"disk,omitempty"`
	Memory       Memory `json:"memory"`

	// Figures are the headline numbers with their targets, in table order.
	Figures []Figure `json:"figures"`
	// NotMeasured names the figures this run could not take, and why.
	NotMeasured []string `json:"not_measured,omitempty"`
	// Notes qualify figures: phases cut short, requests left unanswered.
	Notes []string `json:"notes,omitempty"`
}

// Settings are the parameters of a run.
type Settings struct {
	DurationSeconds  float64 `json:"duration_s"`
	VerifyRate       int     `json:"verify_rate"`
	VerifyIngestRate int     `json:"verify_ingest_rate"`
	Commission       int     `json:"commission"`
	CaptureSize      int     `json:"capture_size"`
	// Phases are the phases that ran after commissioning.
	Phases []string `json:"phases"`
}

// ran reports whether the phase named name ran.
func (s Settings) ran(name string) bool { return slices.Contains(s.Phases, name) }

// Audit is the offline `ledger verify` of the stopped server's data.
type Audit struct {
	Entries     uint64  `json:"entries"`
	Checkpoints uint64  `json:"checkpoints"`
	Seconds     float64 `json:"seconds"`
	EntriesPerS float64 `json:"entries_per_s"`
}

// Disk is the stopped server's data directory.
type Disk struct {
	// DataDirBytes is every file under the data directory (apparent size).
	DataDirBytes int64 `json:"data_dir_bytes"`
	// PebbleLiveBytes is Pebble's live sstables and live WAL data (not the
	// WAL files it keeps for reuse); StreamBytes is the nats/ directory
	// (the SCANS stream keeps every envelope).
	PebbleLiveBytes int64 `json:"pebble_live_bytes"`
	PebbleDirBytes  int64 `json:"pebble_dir_bytes"`
	StreamBytes     int64 `json:"stream_bytes"`
	// Events counts one per pack per event: each serial commissioned and
	// each pack dispensed.
	Events int64 `json:"events"`
	// LedgerEntries is the ledger's size.
	LedgerEntries       uint64  `json:"ledger_entries"`
	BytesPerEvent       float64 `json:"bytes_per_event"`
	PebbleBytesPerEvent float64 `json:"pebble_bytes_per_event"`
	StreamBytesPerEvent float64 `json:"stream_bytes_per_event"`
	// A single-pack dispense event alone, from the single-event ingest
	// phase: what the SCANS stream grew by per message (exact), and the
	// on-disk size of the phase's ledger entries per entry (Pebble's
	// estimate for their key range; chain hash included, tiles and the
	// state tables' indexes not). Their sum is a lower bound of the disk
	// a single-pack event costs.
	SingleStreamBytes float64 `json:"single_pack_stream_bytes"`
	SingleEntryBytes  float64 `json:"single_pack_entry_bytes"`
}

// Memory is the server's peak resident memory.
type Memory struct {
	// PeakRSSBytes over the whole run, and AfterCommissionBytes at the end
	// of commissioning (before the load generator holds any signed
	// envelopes).
	PeakRSSBytes         int64 `json:"peak_rss_bytes"`
	AfterCommissionBytes int64 `json:"peak_rss_after_commission_bytes"`
	// Source says how it was read.
	Source string `json:"source"`
}

// Figure is one headline number.
type Figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Target is the design's figure to reach, empty when there is none;
	// Met says whether Value reaches it.
	Target string `json:"target,omitempty"`
	Met    *bool  `json:"met,omitempty"`
}

func fig(name string, v float64, unit string) Figure { return Figure{Name: name, Value: v, Unit: unit} }

func figAtLeast(name string, v float64, unit string, target float64, shown string) Figure {
	met := v >= target
	return Figure{Name: name, Value: v, Unit: unit, Target: "≥ " + shown, Met: &met}
}

func figAtMost(name string, v float64, unit string, target float64, shown string) Figure {
	met := v <= target
	return Figure{Name: name, Value: v, Unit: unit, Target: "≤ " + shown, Met: &met}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// figures derives the headline figures from the sections.
func (r *Result) figures() []Figure {
	const ms = 1000.0
	f := []Figure{figAtLeast("commissioning", r.Commission.SerialsPerS, "serials/s", 100_000, "100,000 (1M in 10 s)")}
	if r.PebbleSyncedKeysPerS > 0 {
		f = append(f,
			fig(fmt.Sprintf("  Pebble alone, synced batches of %d keys", pebbleLimitBatch), r.PebbleSyncedKeysPerS, "keys/s"),
			figAtLeast("commissioning ÷ Pebble alone (a serial per key)", ratio(r.Commission.SerialsPerS, r.PebbleSyncedKeysPerS), "ratio", 0.5, "0.5"))
	}
	// The raw figures are left out when the run could not publish into a
	// scratch stream (NotMeasured says so).
	if r.Settings.ran(PhaseIngest) {
		if r.Raw.Messages > 0 {
			f = append(f, fig("raw JetStream publish, 1 event/msg", r.Raw.MessagesPerS, "msgs/s"))
		}
		f = append(f, figAtLeast("ingest, 1 event/envelope", r.Ingest.EventsPerS, "events/s", 100_000, "100,000"))
		if r.Raw.Messages > 0 {
			f = append(f, figAtLeast("ingest ÷ raw, 1 event/envelope", ratio(r.Ingest.EventsPerS, r.Raw.EventsPerS), "ratio", 0.7, "0.7"))
		}
		if r.RawLimits.ConsumeSigs.Messages > 0 {
			f = append(f,
				fig("  read back and signatures checked alone, 1 event/msg", r.RawLimits.ConsumeSigs.EventsPerS, "events/s"),
				figAtLeast("ingest ÷ (read back + signatures), 1 event/envelope", ratio(r.Ingest.EventsPerS, r.RawLimits.ConsumeSigs.EventsPerS), "ratio", 0.8, "0.8"))
		}
	}
	if r.Settings.ran(PhaseCaptures) {
		if r.RawCaptures.Messages > 0 {
			f = append(f, fig(fmt.Sprintf("raw JetStream publish, %d events/msg", CaptureSize), r.RawCaptures.EventsPerS, "events/s"))
		}
		f = append(f, fig(fmt.Sprintf("ingest, %d events/envelope", CaptureSize), r.IngestCaptures.EventsPerS, "events/s"))
		if r.RawCaptures.Messages > 0 {
			f = append(f, fig(fmt.Sprintf("ingest ÷ raw, %d events/envelope", CaptureSize), ratio(r.IngestCaptures.EventsPerS, r.RawCaptures.EventsPerS), "ratio"))
		}
		if r.CaptureLimits.Consume.Messages > 0 {
			f = append(f,
				fig(fmt.Sprintf("  raw JetStream read back, %d events/msg", CaptureSize), r.CaptureLimits.Consume.EventsPerS, "events/s"),
				figAtLeast(fmt.Sprintf("ingest ÷ raw read back, %d events/envelope", CaptureSize), ratio(r.IngestCaptures.EventsPerS, r.CaptureLimits.Consume.EventsPerS), "ratio", 0.8, "0.8"))
		}
	}
	if r.Settings.ran(PhaseVerify) {
		f = append(f,
			figAtLeast("verify, requests answered", r.Verify.Rate, "req/s", float64(DefaultVerifyRate)*0.99, "10,000"),
			fig("verify p50", r.Verify.P50/ms, "ms"),
			figAtMost("verify p99", r.Verify.P99/ms, "ms", 2, "2"),
			fig("verify p99.9", r.Verify.P999/ms, "ms"),
			fig("  gRPC floor at that rate (health check) p50", r.Verify.Floor.P50/ms, "ms"),
			fig("  gRPC floor at that rate (health check) p99", r.Verify.Floor.P99/ms, "ms"),
			fig("  background ingest meanwhile", r.Verify.Background.EventsPerS, "events/s"))
	}
	if r.Settings.ran(PhaseDispense) {
		f = append(f,
			fig("dispense p50", r.Dispense.P50/ms, "ms"),
			figAtMost("dispense p99", r.Dispense.P99/ms, "ms", 25, "25"))
	}
	if r.Settings.ran(PhaseProofs) {
		f = append(f,
			fig("inclusion proof p50", r.Proofs.Inclusion.P50, "µs"),
			figAtMost("inclusion proof p99", r.Proofs.Inclusion.P99, "µs", 200, "200"),
			fig("consistency proof p50", r.Proofs.Consistency.P50, "µs"),
			figAtMost("consistency proof p99", r.Proofs.Consistency.P99, "µs", 200, "200"),
			fig("  gRPC round trip (health check) p50", r.Proofs.RoundTrip.P50, "µs"),
			fig("  gRPC round trip (health check) p99", r.Proofs.RoundTrip.P99, "µs"))
	}
	if a := r.LedgerVerify; a != nil {
		f = append(f, figAtLeast("ledger verify", a.EntriesPerS, "entries/s", 1_000_000, "1,000,000"))
	}
	if d := r.Disk; d != nil {
		f = append(f, figAtMost("disk, Pebble live + JetStream, all pack events", d.BytesPerEvent, "B/event", 300, "300"),
			fig("  of which Pebble (live)", d.PebbleBytesPerEvent, "B/event"),
			fig("  of which JetStream", d.StreamBytesPerEvent, "B/event"),
			figAtMost("disk, single-pack event, lower bound", d.SingleStreamBytes+d.SingleEntryBytes, "B/event", 300, "300"),
			fig("  JetStream message", d.SingleStreamBytes, "B/event"),
			fig("  ledger entry (Pebble, no indexes)", d.SingleEntryBytes, "B/event"))
	}
	if r.Memory.PeakRSSBytes > 0 {
		f = append(f, fig("peak RSS", float64(r.Memory.PeakRSSBytes)/(1<<20), "MiB"))
	}
	if r.Memory.AfterCommissionBytes > 0 {
		f = append(f, fig("  peak RSS up to the end of commissioning", float64(r.Memory.AfterCommissionBytes)/(1<<20), "MiB"))
	}
	return f
}

// WriteJSON writes r as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes r as a human-readable table.
func (r *Result) WriteTable(w io.Writer) error {
	m := r.Machine
	var b strings.Builder
	server := "embedded server"
	if r.Server != "embedded" {
		server = "server at " + r.Server
	}
	fmt.Fprintf(&b, "pedigree bench: %s, --duration %s, %d serials commissioned, verify at %d req/s with ingest at %s events/s\n",
		server, time.Duration(r.Settings.DurationSeconds*float64(time.Second)), r.Settings.Commission, r.Settings.VerifyRate,
		rateWord(r.Settings.VerifyIngestRate))
	if len(r.Settings.Phases) < len(AllPhases()) {
		fmt.Fprintf(&b, "phases: commissioning, %s\n", strings.Join(r.Settings.Phases, ", "))
	}
	fmt.Fprintf(&b, "machine: %d CPUs, GOMAXPROCS %d, %s %s/%s, load average %s at start, %s at end; run took %.0f s\n\n",
		m.NumCPU, m.GOMAXPROCS, m.GoVersion, m.OS, m.Arch, loadString(m.LoadStart), loadString(m.LoadEnd), r.WallSeconds)
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\tunit\ttarget\t")
	for _, f := range r.Figures {
		verdict := ""
		if f.Met != nil {
			verdict = "met"
			if !*f.Met {
				verdict = "MISSED"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Name, formatValue(f.Value), f.Unit, f.Target, verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for line := range strings.Lines(table.String()) {
		b.WriteString(strings.TrimRight(line, " \n") + "\n")
	}
	for _, s := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", s)
	}
	for _, s := range r.NotMeasured {
		fmt.Fprintf(&b, "not measured: %s\n", s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func loadString(l [3]float64) string {
	return fmt.Sprintf("%.2f %.2f %.2f", l[0], l[1], l[2])
}

// formatValue prints large values with thousands separators and small ones
// with three significant digits.
func formatValue(v float64) string {
	switch {
	case v >= 1000:
		return groupThousands(int64(math.Round(v)))
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
