package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// Commissioning shape: serials per CommissionSerials request, and requests
// in flight.
const (
	CommissionChunk    = 50_000
	commissionInFlight = 2
)

// Commissioning is the commissioning phase's figure.
type Commissioning struct {
	Serials      int     `json:"serials"`
	Requests     int     `json:"requests"`
	Seconds      float64 `json:"seconds"`
	SerialsPerS  float64 `json:"serials_per_s"`
	ChunkSerials int     `json:"chunk_serials"`
}

// commission commissions packs [0, n) of the world's batch through
// RegistryService.CommissionSerials, CommissionChunk serials per request,
// commissionInFlight requests at a time, as the manufacturer. Each request
// returns once the ledger has committed its serials.
func commission(ctx context.Context, conn *grpc.ClientConn, w *world, n int) (Commissioning, error) {
	reg := pb.NewRegistryServiceClient(conn)
	mctx := withToken(ctx, w.mfrToken)
	chunks := make(chan packRange)
	errs := make(chan error, commissionInFlight)
	var wg sync.WaitGroup
	start := time.Now()
	for range commissionInFlight {
		wg.Go(func() {
			for r := range chunks {
				serials := make([]string, 0, r.len())
				for i := r.from; i < r.to; i++ {
					serials = append(serials, w.serial(i))
				}
				resp, err := reg.CommissionSerials(mctx, &pb.CommissionSerialsRequest{Gtin: w.gtin, Lot: w.lot, Serials: serials})
				if err == nil && resp.GetCommissioned() != uint64(r.len()) {
					err = fmt.Errorf("%d of %d serials commissioned", resp.GetCommissioned(), r.len())
				}
				if err != nil {
					errs <- fmt.Errorf("bench: commission serials %d–%d: %w", r.from, r.to-1, err)
					return
				}
			}
		})
	}
	requests := 0
	var err error
feed:
	for from := 0; from < n; from += CommissionChunk {
		select {
		case chunks <- packRange{from, min(from+CommissionChunk, n)}:
			requests++
		case err = <-errs:
			break feed
		}
	}
	close(chunks)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if err != nil {
		return Commissioning{}, err
	}
	d := time.Since(start)
	return Commissioning{Serials: n, Requests: requests, Seconds: d.Seconds(), SerialsPerS: float64(n) / d.Seconds(),
		ChunkSerials: CommissionChunk}, nil
}

// Verification is the verify phase's figure: latencies of VerifyPack at
// a fixed request rate while the ledger ingests in the background.
type Verification struct {
	// TargetRate is the scheduled request rate.
	TargetRate int `json:"target_rate"`
	// Connections and Workers the requests were spread over.
	Connections int `json:"connections"`
	Workers     int `json:"workers"`
	Latency
	// Floor is the bare gRPC round trip (the standard health check) on the
	// same connections, schedule and background ingest, for a quarter of
	// the time, run just before: what any RPC costs here, before
	// VerifyPack does anything.
	Floor Latency `json:"grpc_floor"`
	// Background is the ingest that ran meanwhile.
	Background Throughput `json:"background_ingest"`
	// BackgroundRate is its bound in events/s; 0 means as fast as the
	// ledger took them.
	BackgroundRate int `json:"background_ingest_rate_bound"`
}

// Verify load shape.
const (
	verifyConns   = 4
	verifyWorkers = 64
	// verifyGrace is how long requests still queued when the schedule
	// ends may be sent; later ones are counted unanswered.
	verifyGrace = time.Second
)

// verifyUnderLoad sends VerifyPack requests for random packs of packs
// (active ones: raw DataMatrix element strings, as a pharmacy terminal posts what its
// scanner typed) on a fixed schedule of rate per second, spread over
// verifyConns connections, while background() ingests.
func verifyUnderLoad(ctx context.Context, conns []*grpc.ClientConn, w *world, packs packRange, rate int, dur time.Duration,
	background func(context.Context) (Throughput, error)) (Verification, error) {
	token := w.pharm[0].token
	clients := make([]pb.VerificationServiceClient, len(conns))
	for i, c := range conns {
		clients[i] = pb.NewVerificationServiceClient(c)
	}
	vctx := withToken(ctx, token)
	// The calls carry no deadline of their own: openLoop cancels those
	// still running well after the schedule has ended.
	verify := func(ctx context.Context, i int) error {
		req := &pb.VerifyPackRequest{Pack: pb.BarcodeInput(w.barcode(packs.from + rand.IntN(packs.len())))}
		_, err := clients[i%len(clients)].VerifyPack(ctx, req)
		return err
	}
	// Warm up: connections open, code paths run, before the clock starts.
	wctx, cancelWarmUp := context.WithTimeout(vctx, time.Minute)
	defer cancelWarmUp()
	for i := range 200 {
		if err := verify(wctx, i); err != nil {
			return Verification{}, fmt.Errorf("bench: verify: %w", err)
		}
	}
	var bg Throughput
	bgErr := make(chan error, 1)
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		var err error
		bg, err = background(bctx)
		bgErr <- err
	}()
	health := make([]healthpb.HealthClient, len(conns))
	for i, c := range conns {
		health[i] = healthpb.NewHealthClient(c)
	}
	floor, err := openLoop(vctx, rate, dur/4, verifyGrace, verifyWorkers, func(ctx context.Context, i int) error {
		_, err := health[i%len(health)].Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	})
	var lat Latency
	if err == nil {
		lat, err = openLoop(vctx, rate, dur, verifyGrace, verifyWorkers, verify)
	}
	if err != nil {
		cancel()
		<-bgErr
		return Verification{}, fmt.Errorf("bench: verify: %w", err)
	}
	if err := <-bgErr; err != nil {
		return Verification{}, fmt.Errorf("bench: background ingest: %w", err)
	}
	return Verification{TargetRate: rate, Connections: len(conns), Workers: verifyWorkers, Latency: lat, Floor: floor, Background: bg}, nil
}

// dispenseWorkers is how many pharmacy terminals dispense at once.
const dispenseWorkers = 4

// dispenseLatency dispenses packs of r one after another from
// dispenseWorkers terminals, each DispensePack returning once the ledger has
// committed the dispense, for dur or until the packs run out.
func dispenseLatency(ctx context.Context, conn *grpc.ClientConn, w *world, r packRange, dur time.Duration) (Latency, error) {
	vs := pb.NewVerificationServiceClient(conn)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l, err := closedLoop(ctx, dur, dispenseWorkers, func(ctx context.Context, i int) error {
		if i >= r.len() {
			cancel()
			return ctx.Err()
		}
		pctx := withToken(ctx, w.pharm[i%pharmacies].token)
		resp, err := vs.DispensePack(pctx, &pb.DispensePackRequest{Pack: pb.BarcodeInput(w.barcode(r.from + i))})
		if err != nil {
			return err
		}
		if out := resp.GetOutcome(); !out.GetApplied() {
			return fmt.Errorf("dispense of pack %d refused: %s", r.from+i, out.GetReason())
		}
		return nil
	})
	if err != nil {
		return l, fmt.Errorf("bench: dispense: %w", err)
	}
	return l, nil
}

// Proofs is the proof phase's figure.
type Proofs struct {
	// TreeSize is the ledger size the proofs were asked of.
	TreeSize    uint64  `json:"tree_size"`
	Inclusion   Latency `json:"inclusion"`
	Consistency Latency `json:"consistency"`
	// RoundTrip is the standard health check on the same connection: the
	// cost of a gRPC call that does nothing, to set the proofs against.
	RoundTrip Latency `json:"grpc_round_trip"`
}

// proofs asks LedgerService for inclusion proofs of random entries in the
// latest tree, then for consistency proofs from a random older size to it,
// then the health service, one request at a time: 40%, 40% and 20% of dur.
func proofs(ctx context.Context, conn *grpc.ClientConn, dur time.Duration) (Proofs, error) {
	ls := pb.NewLedgerServiceClient(conn)
	cp, err := ls.GetCheckpoint(ctx, &pb.GetCheckpointRequest{})
	if err != nil {
		return Proofs{}, fmt.Errorf("bench: checkpoint: %w", err)
	}
	size := cp.GetSize()
	if size < 2 {
		return Proofs{}, fmt.Errorf("bench: proofs: the ledger has %d entries", size)
	}
	out := Proofs{TreeSize: size}
	out.Inclusion, err = closedLoop(ctx, dur*2/5, 1, func(ctx context.Context, _ int) error {
		_, err := ls.GetInclusionProof(ctx, &pb.GetInclusionProofRequest{Index: rand.Uint64N(size), TreeSize: size})
		return err
	})
	if err != nil {
		return out, fmt.Errorf("bench: inclusion proofs: %w", err)
	}
	out.Consistency, err = closedLoop(ctx, dur*2/5, 1, func(ctx context.Context, _ int) error {
		_, err := ls.GetConsistencyProof(ctx, &pb.GetConsistencyProofRequest{From: 1 + rand.Uint64N(size-1), To: size})
		return err
	})
	if err != nil {
		return out, fmt.Errorf("bench: consistency proofs: %w", err)
	}
	hc := healthpb.NewHealthClient(conn)
	out.RoundTrip, err = closedLoop(ctx, dur/5, 1, func(ctx context.Context, _ int) error {
		_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	})
	if err != nil {
		return out, fmt.Errorf("bench: health checks: %w", err)
	}
	return out, nil
}
