package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/sdk"
)

func randN(n int) int { return rand.IntN(max(n, 1)) }

func newBuilderAt(gln string, at time.Time) (*sdk.Builder, error) {
	return sdk.NewBuilder(gln, "", func() time.Time { return at })
}

// measure takes a step's figures.
func (s *scaleRun) measure(ctx context.Context) (ScaleStep, error) {
	cfg := s.cfg
	dur := cfg.Phase
	st := ScaleStep{Events: s.events, Packs: int64(s.pallets * palletPacks), PackEvents: s.packEvs}
	var err error
	if cfg.Retention && s.child != nil {
		// As an operator's regular backups do: the stream holds only what
		// came since the last one when the node is measured, restarted
		// and stopped.
		st.Disk = &ScaleDisk{Retention: true}
		if err := s.backupAndPurge(ctx, st.Disk); err != nil {
			return st, err
		}
	}
	if cfg.runs(ScaleVerify) {
		bgPacks := s.shelf(int(1.1*float64(cfg.VerifyIngestRate)*dur.Seconds()) + 1)
		bgMsgs, err := s.dispenseMessages(bgPacks)
		if err != nil {
			return st, err
		}
		s.progress("  verify at %d req/s for %s (bare gRPC call for a quarter of that first) while ingesting %d events/s", cfg.VerifyRate, dur, cfg.VerifyIngestRate)
		var bg Throughput
		prof := s.profileNode(ctx, "verify-ingest-"+s.label, max(dur/4, MinPhase)+dur)
		st.Verify, st.Floor, bg, err = verifyAndFloor(ctx, s.conns, s.m.pharm[0].token, s.pickShelf(), cfg.VerifyRate, dur, func(ctx context.Context) (Throughput, error) {
			return ingest(ctx, s.bus, bgMsgs, ingestOptions{dur: dur, rate: float64(cfg.VerifyIngestRate), window: windowSingle, markers: markersPending})
		})
		if perr := <-prof; err == nil {
			err = perr
		}
		if err != nil {
			return st, err
		}
		st.BackgroundIngest = bg.EventsPerS
		s.addEvents(bg.Events)
		s.progress("    verify p50 %.2f ms p99 %.2f ms; bare call p99 %.2f ms", st.Verify.P50/1000, st.Verify.P99/1000, st.Floor.P99/1000)
		if s.target.MetricsAddr != "" {
			if st.VerifyCPUMicros, st.BareCPUMicros, err = s.verifyCPU(ctx, dur/2); err != nil {
				return st, err
			}
			s.progress("    node CPU per verification, verifying alone, less its CPU idle: %.1f µs (per bare gRPC call: %.1f µs)",
				st.VerifyCPUMicros, st.BareCPUMicros)
		}
	}
	if cfg.runs(ScaleDispense) {
		packs := s.shelf(int(2000*dur.Seconds()) + dispenseWorkers)
		if st.Dispense, err = s.m.dispensePacks(ctx, s.conns[0], packs, dur); err != nil {
			return st, err
		}
		s.addEvents(st.Dispense.Count)
		s.progress("    dispense p50 %.2f ms p99 %.2f ms", st.Dispense.P50/1000, st.Dispense.P99/1000)
	}
	packs := s.pallets * palletPacks
	if cfg.runs(ScaleReads) {
		if st.History, err = s.m.history(ctx, s.conns[0], s.target.Token, packs, dur); err != nil {
			return st, err
		}
		if st.Trace, err = s.m.trace(ctx, s.conns[0], s.target.Token, packs/lotPacks, dur); err != nil {
			return st, err
		}
		l, ok, why, err := s.m.epcisQuery(ctx, s.target.HTTPAddr, s.target.Token, packs, dur)
		if err != nil {
			return st, err
		}
		if ok {
			st.EPCIS = &l
		} else {
			st.EPCISNotServed = why
		}
		s.progress("    history p99 %.2f ms, trace p99 %.2f ms, EPCIS %s", st.History.P99/1000, st.Trace.P99/1000, epcisWord(st))
	}
	if cfg.runs(ScaleProofs) {
		if st.Proofs, err = proofs(ctx, s.conns[0], dur); err != nil {
			return st, err
		}
	}
	if cp, err := pb.NewLedgerServiceClient(s.conns[0]).GetCheckpoint(ctx, &pb.GetCheckpointRequest{}); err == nil {
		st.LedgerEntries = cp.GetSize()
	}
	if err := s.scrape(ctx, &st); err != nil {
		return st, err
	}
	if err := s.heapProfile(ctx, s.label); err != nil {
		return st, err
	}
	if s.child == nil {
		return st, nil
	}
	if cfg.runs(ScaleRestart) {
		if st.Restart, err = s.restart(ctx); err != nil {
			return st, err
		}
		s.progress("    restart after SIGKILL: ready in %.2f s, ingesting in %.2f s", st.Restart.ReadySeconds, st.Restart.IngestingSeconds)
	}
	if cfg.runs(ScaleOffline) {
		if err := s.offlineStep(ctx, &st); err != nil {
			return st, err
		}
	}
	st.Events, st.PackEvents = s.events, s.packEvs
	return st, nil
}

func epcisWord(st ScaleStep) string {
	if st.EPCIS == nil {
		return "n/a (" + st.EPCISNotServed + ")"
	}
	return fmt.Sprintf("p99 %.2f ms", st.EPCIS.P99/1000)
}

// verifyCPU returns the node's CPU (process_cpu_seconds_total) per
// verification and per bare gRPC call (the health check), in µs: what it
// used while answering each alone at the step's rate for dur, less what
// it used just before over as long with nothing sent at all (its
// background work: compactions, checkpoints, retention). With
// ProfileDir set, the node's CPU profile of each is written there.
func (s *scaleRun) verifyCPU(ctx context.Context, dur time.Duration) (verify, bare float64, err error) {
	dur = max(dur, MinPhase)
	cpu := func() (float64, error) {
		m, err := scrapeMetrics(ctx, s.target.MetricsAddr)
		return m["process_cpu_seconds_total"], err
	}
	idle0, err := cpu()
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	select {
	case <-time.After(dur):
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
	idle1, err := cpu()
	if err != nil {
		return 0, 0, err
	}
	idleRate := (idle1 - idle0) / time.Since(t0).Seconds()
	// alone runs one call alone and returns the node's CPU per call.
	alone := func(name string, run func(context.Context) (Latency, error)) (float64, error) {
		before, err := cpu()
		if err != nil {
			return 0, err
		}
		t := time.Now()
		prof := s.profileNode(ctx, name, dur)
		l, err := run(ctx)
		if perr := <-prof; err == nil {
			err = perr
		}
		if err != nil {
			return 0, err
		}
		after, err := cpu()
		if err != nil || l.Count == 0 {
			return 0, err
		}
		used := (after - before) - idleRate*time.Since(t).Seconds()
		return max(used, 0) / float64(l.Count) * 1e6, nil
	}
	if bare, err = alone("bare-"+s.label, func(ctx context.Context) (Latency, error) {
		return bareOnly(ctx, s.conns, s.cfg.VerifyRate, dur)
	}); err != nil {
		return 0, 0, err
	}
	verify, err = alone("verify-"+s.label, func(ctx context.Context) (Latency, error) {
		return verifyOnly(ctx, s.conns, s.m.pharm[0].token, s.pickShelf(), s.cfg.VerifyRate, dur)
	})
	return verify, bare, err
}

// addEvents counts single-pack dispenses made by the measurements.
func (s *scaleRun) addEvents(n int) {
	s.events += int64(n)
	s.packEvs += int64(n)
}

// scrape reads the node's memory, goroutines and Pebble health.
func (s *scaleRun) scrape(ctx context.Context, st *ScaleStep) error {
	m, err := scrapeMetrics(ctx, s.target.MetricsAddr)
	if err != nil {
		if s.child == nil {
			return nil // a running server without --metrics
		}
		return err
	}
	st.RSSBytes = int64(m["process_resident_memory_bytes"])
	st.HeapBytes = int64(m["go_memstats_heap_alloc_bytes"])
	st.Goroutines = int(m["go_goroutines"])
	st.Pebble = PebbleHealth{ReadAmp: m["pedigree_pebble_read_amplification"], CompactionDebtBytes: m["pedigree_pebble_compaction_debt_bytes"],
		Compactions: m["pedigree_pebble_compactions_total"], DiskBytes: m["pedigree_pebble_disk_usage_bytes"]}
	return nil
}

// restart kills the node with SIGKILL, starts it again and times it to
// ready (/readyz) and to ingesting (the ledger's outcome of a dispense
// published once it is ready).
func (s *scaleRun) restart(ctx context.Context) (Restart, error) {
	msgs, err := s.dispenseMessages(s.shelf(1))
	if err != nil {
		return Restart{}, err
	}
	s.bus.close()
	s.bus = nil
	s.child.kill()
	t0 := time.Now()
	if err := s.child.start(ctx); err != nil {
		return Restart{}, err
	}
	s.target = s.child.target
	if err := ready(ctx, s.target.HTTPAddr); err != nil {
		return Restart{}, err
	}
	r := Restart{ReadySeconds: time.Since(t0).Seconds()}
	if err := s.dialGRPC(); err != nil {
		return r, err
	}
	if err := s.dial(); err != nil {
		return r, err
	}
	t, err := ingest(ctx, s.bus, msgs, ingestOptions{dur: time.Minute, window: windowSingle, markers: markersPending})
	if err != nil {
		return r, fmt.Errorf("bench: ingest after the restart: %w", err)
	}
	s.addEvents(t.Events)
	r.IngestingSeconds = time.Since(t0).Seconds()
	return r, nil
}

// retentionMargin is the messages the node's stream keeps below its purge
// point in a run with retention: a constant (a node's default is 10,000
// messages), left small so that what is measured is the cost per event.
const retentionMargin = 100

// backupAndPurge takes a verified backup of the node, as an operator
// would, and waits until the stream has dropped what the backup holds
// (down to retentionMargin), at most two minutes.
func (s *scaleRun) backupAndPurge(ctx context.Context, d *ScaleDisk) error {
	var err error
	s.progress("    backup, then the stream's purge")
	if d.BackupBytes, err = s.child.backup(ctx); err != nil {
		return err
	}
	// The node may be slow to answer while it writes and verifies a large
	// backup: the stream is asked until the deadline, not once.
	deadline := time.Now().Add(2 * time.Minute)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		info, err := s.streamInfo(ctx)
		switch {
		case err != nil:
			lastErr = err
		case info.State.FirstSeq > 1 && info.State.Msgs <= retentionMargin+1:
			d.StreamMessages = info.State.Msgs
			return nil
		default:
			d.StreamMessages, lastErr = info.State.Msgs, nil
		}
		if time.Now().After(deadline) {
			if lastErr != nil {
				return fmt.Errorf("bench: the stream, to see its purge: %w", lastErr)
			}
			s.progress("    the stream still holds %d messages two minutes after the backup", d.StreamMessages)
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// streamInfo asks for the SCANS stream's state, allowing 30 s.
func (s *scaleRun) streamInfo(ctx context.Context) (*jetstream.StreamInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stream, err := s.bus.scans(ctx)
	if err != nil {
		return nil, err
	}
	if stream == nil {
		return nil, errors.New("bench: no connection to the node's stream")
	}
	return stream.Info(ctx)
}

// offlineStep stops the node cleanly, measures its data directory and
// starts it again.
func (s *scaleRun) offlineStep(ctx context.Context, st *ScaleStep) error {
	d := st.Disk
	if d == nil {
		d = &ScaleDisk{}
	}
	s.bus.close()
	s.bus = nil
	if err := s.child.stop(); err != nil {
		return err
	}
	var err error
	if d.PebbleBytes, err = dirSize(filepath.Join(s.child.dir, "pebble")); err != nil {
		return fmt.Errorf("bench: data directory size: %w", err)
	}
	if d.StreamBytes, err = dirSize(filepath.Join(s.child.dir, "nats")); err != nil {
		return fmt.Errorf("bench: data directory size: %w", err)
	}
	if s.events > 0 {
		d.PebbleBytesPerEvent = float64(d.PebbleBytes) / float64(s.events)
		d.StreamBytesPerEvent = float64(d.StreamBytes) / float64(s.events)
		d.BytesPerEvent = d.PebbleBytesPerEvent + d.StreamBytesPerEvent
		d.BytesPerPackEvent = float64(d.PebbleBytes+d.StreamBytes) / float64(s.packEvs)
	}
	st.Disk = d
	kept := ""
	if d.Retention {
		kept = fmt.Sprintf("; %d messages were left after the step's backup of %d MB", d.StreamMessages, d.BackupBytes>>20)
	}
	s.progress("    disk %.0f B/event (Pebble %.0f, stream %.0f%s); offline audit", d.BytesPerEvent, d.PebbleBytesPerEvent, d.StreamBytesPerEvent, kept)
	off, err := offline(ctx, s.child.dir, min(s.cfg.Phase, 3*time.Second))
	if err != nil {
		return err
	}
	st.Offline = &off
	s.progress("    audit %.0f entries/s, %.0f MB/s hashed (SHA-256 alone %.0f MB/s); Pebble random read p99 %.0f µs",
		off.Audit.EntriesPerS, off.HashedBytesPerS/1e6, off.SHA256BytesPerS/1e6, off.PebbleRead.P99)
	if err := s.startChild(ctx); err != nil {
		return err
	}
	return s.dial()
}
