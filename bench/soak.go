package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// SoakConfig configures `pedigree bench --soak`.
type SoakConfig struct {
	// Duration is how long the steady load runs.
	Duration time.Duration
	// Bucket is the length of one row of the report (a minute).
	Bucket time.Duration
	// Size is the events the node is filled with before the load starts.
	Size int64
	// Rates of the steady load, per second: VerifyPack (open loop),
	// DispensePack, GetPackHistory, and the market's events (pallets
	// packed, shipped, received, unpacked, orders shipped and received,
	// packs verified and dispensed, as signed captures).
	VerifyRate, DispenseRate, HistoryRate, EventRate int
	// ProfileDir, when set, receives a CPU profile and a runtime trace
	// of the bare gRPC probes before and after the fill.
	ProfileDir string
	// Logger and Progress as in Config.
	Logger   *slog.Logger
	Progress io.Writer
}

// DefaultSoakConfig returns `pedigree bench --soak` without flags other
// than its duration.
func DefaultSoakConfig() SoakConfig {
	return SoakConfig{Duration: 30 * time.Minute, Bucket: time.Minute, Size: 3_000_000,
		VerifyRate: 500, DispenseRate: 10, HistoryRate: 2, EventRate: 1000}
}

func (c SoakConfig) withDefaults() (SoakConfig, error) {
	var errs []error
	if c.Bucket <= 0 || c.Duration < c.Bucket {
		errs = append(errs, errors.New("soak: the duration must be at least one bucket (--soak-bucket)"))
	}
	if c.Size < EventsPerPallet {
		errs = append(errs, fmt.Errorf("soak-size: at least %d events", EventsPerPallet))
	}
	if c.VerifyRate <= 0 || c.DispenseRate <= 0 || c.HistoryRate <= 0 || c.EventRate <= 0 {
		errs = append(errs, errors.New("soak rates: must be positive"))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c, errors.Join(errs...)
}

// series are the calls the soak times.
const (
	seriesVerify   = "verify"
	seriesDispense = "dispense"
	seriesHistory  = "pack history"
	seriesCapture  = "capture wave" // one wave of a block's captures, published to committed
	seriesFloor    = "bare gRPC"    // the standard health check: the floor of any call
)

// floorRate is the soak's rate of bare gRPC calls a second.
const floorRate = 200

// buckets collects latencies by bucket.
type buckets struct {
	mu    sync.Mutex
	start time.Time
	width time.Duration
	n     int
	lat   map[string][][]time.Duration
	errs  map[string][]int
}

func newBuckets(start time.Time, width time.Duration, n int) *buckets {
	return &buckets{start: start, width: width, n: n, lat: map[string][][]time.Duration{}, errs: map[string][]int{}}
}

// add records a call of series that was due at `at` and ended now.
func (b *buckets) add(series string, at time.Time, err error) {
	k := int(at.Sub(b.start) / b.width)
	if k < 0 || k >= b.n {
		return
	}
	d := time.Since(at)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lat[series] == nil {
		b.lat[series], b.errs[series] = make([][]time.Duration, b.n), make([]int, b.n)
	}
	if err != nil {
		b.errs[series][k]++
		return
	}
	b.lat[series][k] = append(b.lat[series][k], d)
}

// paced calls fn rate times a second from workers goroutines, each worker
// on its own fixed schedule, for every time scheduled before end; a call's
// latency runs from its scheduled time, so a stall is charged to the calls
// behind it. A worker that falls behind still makes and records every
// call it had scheduled, after end if need be: dropping them would hide
// the slowest calls and leave the last buckets empty. Only ctx ending
// stops it early.
func paced(ctx context.Context, end time.Time, rate, workers int, b *buckets, series string, fn func(context.Context) error) {
	interval := time.Duration(float64(time.Second) * float64(workers) / float64(rate))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			at := time.Now().Add(time.Duration(w) * interval / time.Duration(workers))
			t := time.NewTimer(0)
			defer t.Stop()
			for ; at.Before(end); at = at.Add(interval) {
				if d := time.Until(at); d > 0 {
					t.Reset(d)
					select {
					case <-ctx.Done():
						return
					case <-t.C:
					}
				}
				err := fn(ctx)
				if ctx.Err() != nil {
					return
				}
				b.add(series, at, err)
			}
		})
	}
	wg.Wait()
}

// RunSoak fills an embedded node to cfg.Size events, then runs a steady
// mixed load on it for cfg.Duration and reports each bucket.
func RunSoak(ctx context.Context, cfg SoakConfig) (*SoakResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	res := &SoakResult{Machine: machineNow(), Settings: SoakSettings{DurationSeconds: cfg.Duration.Seconds(), BucketSeconds: cfg.Bucket.Seconds(),
		Size: cfg.Size, VerifyRate: cfg.VerifyRate, DispenseRate: cfg.DispenseRate, HistoryRate: cfg.HistoryRate, EventRate: cfg.EventRate},
		Server: "embedded (same process: RSS, goroutines and GC pauses include the load generator)"}
	s := &scaleRun{cfg: ScaleConfig{Progress: cfg.Progress, Logger: cfg.Logger}}
	defer s.close()
	if cfg.ProfileDir != "" {
		// Made before the node starts, so that a bad path fails at once.
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("bench: soak profiles: %w", err)
		}
	}
	srv, t, err := startEmbedded(ctx, cfg.Logger)
	if err != nil {
		return nil, err
	}
	defer srv.remove()
	s.target = t
	if err := s.setupMarket(ctx); err != nil {
		return nil, err
	}
	if res.FloorBefore, err = s.probeFloor(ctx, "before-fill", cfg.ProfileDir); err != nil {
		return nil, err
	}
	t0 := time.Now()
	s.progress("soak: bare gRPC p99 %.2f ms on the idle node; filling it to %d events", res.FloorBefore.P99/ms, cfg.Size)
	if err := s.grow(ctx, cfg.Size); err != nil {
		return nil, err
	}
	res.FillSeconds = time.Since(t0).Seconds()
	if res.FloorAfter, err = s.probeFloor(ctx, "after-fill", cfg.ProfileDir); err != nil {
		return nil, err
	}
	s.progress("soak: bare gRPC p99 %.2f ms on the idle node after the fill", res.FloorAfter.P99/ms)
	s.progress("soak: %d events in %.0f s; steady load for %s", s.events, res.FillSeconds, cfg.Duration)
	if err := s.soak(ctx, cfg, res); err != nil {
		return nil, err
	}
	res.Machine.LoadEnd = loadAvg()
	res.Drift = res.drift()
	return res, nil
}

// soak runs the load and fills res.Buckets.
func (s *scaleRun) soak(ctx context.Context, cfg SoakConfig, res *SoakResult) error {
	n := int(cfg.Duration / cfg.Bucket)
	start := time.Now().Add(10 * time.Millisecond)
	end := start.Add(time.Duration(n) * cfg.Bucket)
	b := newBuckets(start, cfg.Bucket, n)
	// The calls run on rctx, which only a failure ends, so that each call
	// scheduled before end is made; the growth and the sampling stop at
	// end (lctx).
	rctx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	lctx, cancel := context.WithDeadline(rctx, end)
	defer cancel()
	// Packs for the dispenses, set aside before the verifications pick
	// among the rest of the shelves; the market's growth adds shelves.
	dispense := s.shelf(int(float64(cfg.DispenseRate)*cfg.Duration.Seconds()*1.1) + 1)
	verifyPick := s.pickShelf()
	historyPacks := s.pallets * palletPacks
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	fail := func(err error) {
		select {
		case errc <- err:
		default:
		}
		cancelRun()
	}
	token := s.m.pharm[0].token
	wg.Go(func() {
		paced(rctx, end, cfg.VerifyRate, verifyWorkers, b, seriesVerify, func(ctx context.Context) error {
			_, err := pb.NewVerificationServiceClient(s.conns[rand.IntN(len(s.conns))]).VerifyPack(withToken(ctx, token),
				&pb.VerifyPackRequest{Pack: pb.BarcodeInput(verifyPick())})
			return err
		})
	})
	wg.Go(func() {
		paced(rctx, end, floorRate, readWorkers, b, seriesFloor, func(ctx context.Context) error {
			_, err := healthpb.NewHealthClient(s.conns[rand.IntN(len(s.conns))]).Check(ctx, &healthpb.HealthCheckRequest{})
			return err
		})
	})
	var next int
	var nextMu sync.Mutex
	wg.Go(func() {
		paced(rctx, end, cfg.DispenseRate, dispenseWorkers, b, seriesDispense, func(ctx context.Context) error {
			nextMu.Lock()
			if next >= len(dispense) {
				nextMu.Unlock()
				return errors.New("no packs left to dispense")
			}
			p := dispense[next]
			next++
			nextMu.Unlock()
			resp, err := pb.NewVerificationServiceClient(s.conns[0]).DispensePack(withToken(ctx, s.m.pharm[pharmacyOf(p)].token),
				&pb.DispensePackRequest{Pack: pb.BarcodeInput(s.m.packBarcode(p))})
			if err == nil && !resp.GetOutcome().GetApplied() {
				err = fmt.Errorf("dispense of pack %d refused: %s", p, resp.GetOutcome().GetReason())
			}
			return err
		})
	})
	wg.Go(func() {
		ps := pb.NewProvenanceServiceClient(s.conns[1%len(s.conns)])
		paced(rctx, end, cfg.HistoryRate, readWorkers, b, seriesHistory, func(ctx context.Context) error {
			_, err := ps.GetPackHistory(withToken(ctx, s.target.Token), &pb.GetPackHistoryRequest{Gtin: s.m.gtin, Serial: s.m.serial(rand.IntN(historyPacks))})
			return err
		})
	})
	wg.Go(func() {
		if err := s.growPaced(lctx, cfg.EventRate, b); err != nil && lctx.Err() == nil {
			fail(err)
		}
	})
	samples := make([]SoakBucket, n)
	wg.Go(func() { s.sample(lctx, start, cfg.Bucket, samples) })
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for k := range samples {
		samples[k].Minute = float64(k+1) * cfg.Bucket.Minutes()
		samples[k].Calls = map[string]Latency{}
		for series, lat := range b.lat {
			l := summarize(lat[k], b.errs[series][k], cfg.Bucket)
			samples[k].Calls[series] = l
		}
	}
	res.Buckets = samples
	return nil
}

// growPaced keeps growing the market at rate events a second, one block
// of pallets at a time, timing each wave from its first publish to its
// last outcome.
func (s *scaleRun) growPaced(ctx context.Context, rate int, b *buckets) error {
	const pallets = 20 // 2,000 packs a block: small enough to pace
	for ctx.Err() == nil {
		err := s.growBlock(ctx, pallets, float64(rate), func(at time.Time, err error) { b.add(seriesCapture, at, err) })
		if err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

// sample reads, at the end of each bucket, the process's memory and
// goroutines, the GC pauses of the bucket (runtime/metrics: the node runs
// in this process) and the node's Pebble health from its /metrics.
func (s *scaleRun) sample(ctx context.Context, start time.Time, width time.Duration, out []SoakBucket) {
	ms := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}, {Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(ms)
	prevHist := copyHist(ms[0].Value.Float64Histogram())
	prevCycles := ms[1].Value.Uint64()
	var prevCompactions float64
	if m, err := scrapeMetrics(ctx, s.target.MetricsAddr); err == nil {
		prevCompactions = m["pedigree_pebble_compactions_total"]
	}
	t := time.NewTimer(time.Until(start.Add(width)))
	defer t.Stop()
	for k := range out {
		select {
		case <-ctx.Done():
			// The last bucket ends with the load's deadline.
			if k < len(out)-1 || time.Until(start.Add(time.Duration(k+1)*width)) > width/10 {
				return
			}
		case <-t.C:
		}
		metrics.Read(ms)
		h := ms[0].Value.Float64Histogram()
		o := &out[k]
		o.GCPauseP99, o.GCPauseMax = histDelta(prevHist, h)
		prevHist = copyHist(h)
		o.GCCycles = int64(ms[1].Value.Uint64() - prevCycles)
		prevCycles = ms[1].Value.Uint64()
		o.HeapLiveBytes = int64(ms[2].Value.Uint64())
		o.RSSBytes = procStatusKB("/proc/self/status", "VmRSS:") << 10
		o.Goroutines = runtime.NumGoroutine()
		if m, err := scrapeMetrics(context.WithoutCancel(ctx), s.target.MetricsAddr); err == nil {
			o.Compactions = m["pedigree_pebble_compactions_total"] - prevCompactions
			prevCompactions = m["pedigree_pebble_compactions_total"]
			o.ReadAmp = m["pedigree_pebble_read_amplification"]
			o.CompactionDebtBytes = m["pedigree_pebble_compaction_debt_bytes"]
		}
		o.Events = s.grown.Load()
		if k < len(out)-1 {
			t.Reset(time.Until(start.Add(time.Duration(k+2) * width)))
		}
	}
}

func copyHist(h *metrics.Float64Histogram) *metrics.Float64Histogram {
	return &metrics.Float64Histogram{Counts: append([]uint64(nil), h.Counts...), Buckets: h.Buckets}
}

// histDelta returns the p99 and the largest of the pauses in cur that
// were not in prev, in µs (bucket upper bounds).
func histDelta(prev, cur *metrics.Float64Histogram) (p99, maxUS float64) {
	var total uint64
	d := make([]uint64, len(cur.Counts))
	for i := range cur.Counts {
		d[i] = cur.Counts[i] - prev.Counts[i]
		total += d[i]
	}
	if total == 0 {
		return 0, 0
	}
	upper := func(i int) float64 {
		v := cur.Buckets[i+1]
		if v > 1e9 {
			v = cur.Buckets[i]
		}
		return v * 1e6
	}
	rank := uint64(float64(total)*0.99 + 0.999999)
	var seen uint64
	p99 = -1
	for i, c := range d {
		seen += c
		if p99 < 0 && seen >= rank {
			p99 = upper(i)
		}
		if c > 0 {
			maxUS = upper(i)
		}
	}
	return p99, maxUS
}
