package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Flow control of the ingest phases (see ingest): messages per marker for
// single-event envelopes and for captures, and markers outstanding. Either
// way at most ~16,000 events are published and not yet committed: enough
// to keep the ledger's batches (up to 1,000 messages) full, little enough
// to drain in about a second when a phase ends.
const (
	windowSingle   = 1000
	windowCaptures = 10
	markersPending = 16
)

// Ceilings on the ingest rates a phase signs envelopes for, in events/s:
// well above what two cores reach, they keep a run with many commissioned
// packs from signing (and holding) envelopes it has no time to publish.
const (
	signCeilingSingle   = 100_000
	signCeilingCaptures = 200_000
)

// plan splits the commissioned packs [0, n) between the phases that
// dispense them.
type plan struct {
	verify, dispense, ingest, background, captures packRange
}

func planPacks(n int) plan {
	var p plan
	at := 0
	next := func(share float64) packRange {
		r := packRange{at, min(n, at+int(float64(n)*share))}
		at = r.to
		return r
	}
	p.verify = next(packsVerify)
	if p.verify.len() == 0 {
		p.verify.to = min(1, n)
		at = p.verify.to
	}
	p.dispense = next(packsDispense)
	p.ingest = next(packsIngest)
	p.background = next(packsBackground)
	p.captures = packRange{at, n}
	return p
}

// Run measures the server cfg names, or an embedded one, and returns the
// figures. It fails on the first phase that fails.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	start := time.Now()
	res := &Result{Machine: machineNow(), Settings: Settings{DurationSeconds: cfg.Duration.Seconds(), VerifyRate: cfg.VerifyRate,
		VerifyIngestRate: cfg.VerifyIngestRate, Commission: cfg.Commission, CaptureSize: CaptureSize, Phases: cfg.Phases}}
	r := &runner{cfg: cfg, res: res}
	defer r.close()
	if err := r.connect(ctx); err != nil {
		return nil, err
	}
	if err := r.phases(ctx); err != nil {
		return nil, err
	}
	if err := r.finish(ctx); err != nil {
		return nil, err
	}
	res.Machine.LoadEnd = loadAvg()
	res.WallSeconds = time.Since(start).Seconds()
	res.Figures = res.figures()
	return res, nil
}

// runner holds a run's connections and server.
type runner struct {
	cfg       Config
	res       *Result
	srv       *embedded // nil for a running server
	target    Target
	conns     []*grpc.ClientConn
	bus       *bus
	w         *world
	sampler   *rssSampler
	stopSampl context.CancelFunc
}

// note adds a note to the report.
func (r *runner) note(format string, args ...any) {
	r.res.Notes = append(r.res.Notes, fmt.Sprintf(format, args...))
}

// progress reports what the run is doing.
func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, "bench: "+format+"\n", args...)
}

// connect starts the embedded server or checks the running one, connects
// to it and registers the run's world.
func (r *runner) connect(ctx context.Context) error {
	r.target = r.cfg.Target
	if r.target.External() {
		r.res.Server = r.target.HTTPAddr
		if err := ready(ctx, r.target.HTTPAddr); err != nil {
			return err
		}
		if r.target.MetricsAddr != "" {
			sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			r.sampler, r.stopSampl = startRSSSampler(sctx, r.target.MetricsAddr, time.Second), cancel
		}
	} else {
		r.res.Server = "embedded"
		r.progress("starting an embedded server")
		srv, t, err := startEmbedded(ctx, r.cfg.Logger)
		if err != nil {
			return err
		}
		r.srv, r.target = srv, t
		r.progress("embedded server on %s: gRPC %s, HTTP %s, NATS %s", srv.dir, t.GRPCAddr, t.HTTPAddr, t.NATSURL)
	}
	for range verifyConns {
		c, err := grpc.NewClient(r.target.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return fmt.Errorf("bench: gRPC %s: %w", r.target.GRPCAddr, err)
		}
		r.conns = append(r.conns, c)
	}
	var err error
	if r.w, err = newWorld(ctx, r.conns[0], r.target.Token); err != nil {
		return err
	}
	if r.bus, err = dialBus(r.target.NATSURL, r.w, r.target.NodeKeys, r.target.NATSAdminKeyFile); err != nil {
		return err
	}
	r.progress("registered manufacturer %s, pharmacies %s and %s, product %s, lot %s",
		r.w.mfrGLN, r.w.pharm[0].gln, r.w.pharm[1].gln, r.w.gtin, r.w.lot)
	return nil
}

// ready waits up to 30 s for the server's /readyz.
func ready(ctx context.Context, httpAddr string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+httpAddr+"/readyz", nil)
		if err != nil {
			return fmt.Errorf("bench: server %s: %w", httpAddr, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/readyz answered %s", resp.Status)
		}
		last = err
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("bench: server %s is not ready: %w", httpAddr, errors.Join(last, ctx.Err()))
		case <-t.C:
		}
	}
}

// phases runs the phases in order: commissioning first, since the others
// dispense and verify its packs.
func (r *runner) phases(ctx context.Context) error {
	cfg, res, w := r.cfg, r.res, r.w
	p := planPacks(cfg.Commission)
	var err error

	r.progress("commissioning %d serials in requests of %d", cfg.Commission, CommissionChunk)
	if res.Commission, err = commission(ctx, r.conns[0], w, cfg.Commission); err != nil {
		return err
	}
	res.Memory.AfterCommissionBytes = r.peak()
	r.progress("  %.0f serials/s", res.Commission.SerialsPerS)
	if r.srv != nil {
		if res.PebbleSyncedKeysPerS, err = pebbleSyncedWrites(ctx, r.srv.dir, pebbleLimitBatch, 3*time.Second); err != nil {
			return err
		}
		r.progress("  Pebble alone, synced batches of %d keys: %.0f keys/s", pebbleLimitBatch, res.PebbleSyncedKeysPerS)
	}

	if cfg.runs(PhaseIngest) {
		singles := p.ingest.upTo(int(signCeilingSingle * cfg.phase(shareIngest).Seconds()))
		if err := r.ingestPhases(ctx, singles, 1, shareRaw, shareIngest, &res.Raw, &res.RawLimits, &res.Ingest); err != nil {
			return err
		}
	}
	if cfg.runs(PhaseCaptures) {
		captures := p.captures.upTo(int(signCeilingCaptures * cfg.phase(shareIngestCaptures).Seconds()))
		if err := r.ingestPhases(ctx, captures, CaptureSize, shareRawCaptures, shareIngestCaptures, &res.RawCaptures, &res.CaptureLimits, &res.IngestCaptures); err != nil {
			return err
		}
	}
	if cfg.runs(PhaseVerify) {
		if err := r.verifyPhase(ctx, p); err != nil {
			return err
		}
	}
	if cfg.runs(PhaseDispense) {
		dur := cfg.phase(shareDispense)
		r.progress("dispense from %d terminals for %s", dispenseWorkers, dur)
		if res.Dispense, err = dispenseLatency(ctx, r.conns[0], w, p.dispense, dur); err != nil {
			return err
		}
		r.progress("  %d dispenses, p50 %.2f ms, p99 %.2f ms", res.Dispense.Count, res.Dispense.P50/1000, res.Dispense.P99/1000)
	}
	if cfg.runs(PhaseProofs) {
		dur := cfg.phase(shareProofs)
		r.progress("inclusion and consistency proofs for %s", dur)
		if res.Proofs, err = proofs(ctx, r.conns[0], dur); err != nil {
			return err
		}
		r.progress("  tree size %d: inclusion p50 %.0f µs, consistency p50 %.0f µs", res.Proofs.TreeSize,
			res.Proofs.Inclusion.P50, res.Proofs.Consistency.P50)
	}
	return nil
}

// verifyPhase measures verify latency while dispenses of p.background are
// ingested.
func (r *runner) verifyPhase(ctx context.Context, p plan) error {
	cfg, res := r.cfg, r.res
	dur := cfg.phase(shareVerify)
	bgRate := float64(cfg.VerifyIngestRate)
	if bgRate == 0 {
		bgRate = signCeilingSingle
	}
	bg, err := r.w.dispenses(ctx, p.background.upTo(int(1.1*bgRate*dur.Seconds())+1), 1)
	if err != nil {
		return err
	}
	r.progress("verify at %d req/s for %s while ingesting up to %d single-pack dispenses at %s events/s",
		cfg.VerifyRate, dur, len(bg), rateWord(cfg.VerifyIngestRate))
	res.Verify, err = verifyUnderLoad(ctx, r.conns, r.w, p.verify, cfg.VerifyRate, dur, func(ctx context.Context) (Throughput, error) {
		return ingest(ctx, r.bus, bg, ingestOptions{dur: dur, rate: float64(cfg.VerifyIngestRate), window: windowSingle, markers: markersPending})
	})
	if err != nil {
		return err
	}
	res.Verify.BackgroundRate = cfg.VerifyIngestRate
	if v := res.Verify; v.Unanswered > 0 {
		r.note("verify: %d of %d scheduled requests were still queued %s after the schedule ended and were not sent; "+
			"the time they had waited (a lower bound) is in the percentiles", v.Unanswered, v.Count+v.Errors+v.Unanswered, verifyGrace)
	}
	if bg := res.Verify.Background; bg.Seconds < dur.Seconds()*0.9 {
		r.note("verify: all %d packs set aside for the background ingest were committed after %.1f s of the %.1f s phase",
			bg.Events, bg.Seconds, dur.Seconds())
	}
	r.progress("  p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms; background ingest %.0f events/s",
		res.Verify.P50/1000, res.Verify.P99/1000, res.Verify.P999/1000, res.Verify.Background.EventsPerS)
	return nil
}

// ingestPhases signs the dispenses of packs, perEnvelope events to an
// envelope, measures the raw publish rate with them, then ingests them.
func (r *runner) ingestPhases(ctx context.Context, packs packRange, perEnvelope int, rawShare, ingestShare float64, raw *Throughput, lim *Limits, ing *Throughput) error {
	t := time.Now()
	msgs, err := r.w.dispenses(ctx, packs, perEnvelope)
	if err != nil {
		return err
	}
	r.progress("signed %d dispense events, %d per envelope, in %.1f s", packs.len(), perEnvelope, time.Since(t).Seconds())
	dur := r.cfg.phase(rawShare)
	if r.bus.admin != nil {
		r.progress("raw JetStream publish, %s/msg, for %s", eventsWord(perEnvelope), dur)
		if *raw, *lim, err = rawPublish(ctx, r.bus.admin, r.w.run, msgs, dur, r.w.partyKeys()); err != nil {
			return err
		}
		r.progress("  %.0f msgs/s, %.0f events/s; read back %.0f events/s, with their signatures checked %.0f events/s",
			raw.MessagesPerS, raw.EventsPerS, lim.Consume.EventsPerS, lim.ConsumeSigs.EventsPerS)
	} else if !slices.Contains(r.res.NotMeasured, notMeasuredRaw) {
		r.res.NotMeasured = append(r.res.NotMeasured, notMeasuredRaw)
	}
	dur = r.cfg.phase(ingestShare)
	window := windowSingle
	if perEnvelope > 1 {
		window = windowCaptures
	}
	r.progress("ingest, %s/envelope, for %s or %d events", eventsWord(perEnvelope), dur, packs.len())
	if *ing, err = ingest(ctx, r.bus, msgs, ingestOptions{dur: dur, window: window, markers: markersPending}); err != nil {
		return err
	}
	r.progress("  %d events in %.1f s: %.0f events/s", ing.Events, ing.Seconds, ing.EventsPerS)
	if ing.Seconds < dur.Seconds()*0.9 {
		r.note("ingest, %s/envelope: all %d packs set aside for it were committed after %.1f s of the %.1f s phase",
			eventsWord(perEnvelope), packs.len(), ing.Seconds, dur.Seconds())
	}
	return nil
}

// peak returns the server's peak RSS so far.
func (r *runner) peak() int64 {
	if r.srv != nil {
		return peakRSS()
	}
	if r.sampler == nil {
		return 0
	}
	return r.sampler.peak.Load()
}

// finish stops the embedded server and audits its data, or notes what a
// running server does not allow.
func (r *runner) finish(ctx context.Context) error {
	res := r.res
	events := int64(res.Commission.Serials + res.Ingest.Events + res.IngestCaptures.Events +
		res.Verify.Background.Events + res.Dispense.Count)
	if r.srv == nil {
		if r.sampler != nil {
			r.stopSampl()
			res.Memory.PeakRSSBytes = r.sampler.wait()
			res.Memory.Source = "process_resident_memory_bytes of the server's /metrics, sampled every second"
		} else {
			res.NotMeasured = append(res.NotMeasured, "peak RSS: it needs the server's metrics listener (--metrics)")
		}
		res.NotMeasured = append(res.NotMeasured,
			"ledger verify and disk per event: they need the data directory of a stopped server (run without --server)")
		return nil
	}
	res.Memory.PeakRSSBytes = peakRSS()
	res.Memory.Source = "VmHWM of the bench process: the embedded server and the load generator"
	r.closeClients()
	r.progress("stopping the server")
	if err := r.srv.stop(); err != nil {
		return err
	}
	if !r.cfg.runs(PhaseAudit) {
		return nil
	}
	r.progress("ledger verify on %s", r.srv.dir)
	var err error
	if res.LedgerVerify, res.Disk, err = r.srv.audit(ctx, r.cfg.Logger, events, res.Ingest); err != nil {
		return err
	}
	r.progress("  %d entries at %.0f entries/s", res.LedgerVerify.Entries, res.LedgerVerify.EntriesPerS)
	return nil
}

// close releases the connections and removes the embedded server's data.
func (r *runner) close() {
	r.closeClients()
	if r.stopSampl != nil {
		r.stopSampl()
	}
	if r.srv != nil {
		r.srv.remove()
	}
}

// closeClients closes the run's NATS and gRPC connections.
func (r *runner) closeClients() {
	if r.bus != nil {
		r.bus.close()
	}
	for _, c := range r.conns {
		_ = c.Close()
	}
	r.bus, r.conns = nil, nil
}

// notMeasuredRaw says why a run against a running server without its NATS
// key has no raw publish figures.
const notMeasuredRaw = "raw JetStream publish and ingest ÷ raw: they need the server's NATS key (--nats-admin-key DATA/keys/nats.key) to make a scratch stream"

// rateWord names a rate bound: 0 means none.
func rateWord(rate int) string {
	if rate == 0 {
		return "as many"
	}
	return fmt.Sprint(rate)
}

// eventsWord is "1 event" or "n events".
func eventsWord(n int) string {
	if n == 1 {
		return "1 event"
	}
	return fmt.Sprintf("%d events", n)
}
