package bench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/pedigree-project/pedigree/ledger"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/node"
)

// verifyOnly measures VerifyPack of packs pick returns for dur, open loop
// at rate, with nothing else running.
func verifyOnly(ctx context.Context, conns []*grpc.ClientConn, token string, pick func() string, rate int, dur time.Duration) (Latency, error) {
	vctx := withToken(ctx, token)
	l, err := openLoop(vctx, rate, dur, verifyGrace, verifyWorkers, func(ctx context.Context, i int) error {
		_, err := pb.NewVerificationServiceClient(conns[i%len(conns)]).VerifyPack(ctx, &pb.VerifyPackRequest{Pack: pb.BarcodeInput(pick())})
		return err
	})
	if err != nil {
		return l, fmt.Errorf("bench: verify alone: %w", err)
	}
	return l, nil
}

// bareOnly measures the bare gRPC call (health check) for dur, open loop
// at rate, with nothing else running.
func bareOnly(ctx context.Context, conns []*grpc.ClientConn, rate int, dur time.Duration) (Latency, error) {
	l, err := openLoop(ctx, rate, dur, verifyGrace, verifyWorkers, func(ctx context.Context, i int) error {
		_, err := healthpb.NewHealthClient(conns[i%len(conns)]).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	})
	if err != nil {
		return l, fmt.Errorf("bench: bare gRPC call alone: %w", err)
	}
	return l, nil
}

// verifyAndFloor measures the bare gRPC call (health check) for a quarter
// of dur, then VerifyPack of packs pick returns for dur, both open loop at
// rate on the same connections, while background runs.
func verifyAndFloor(ctx context.Context, conns []*grpc.ClientConn, token string, pick func() string, rate int, dur time.Duration,
	background func(context.Context) (Throughput, error)) (verify, floor Latency, bg Throughput, err error) {
	vctx := withToken(ctx, token)
	verifyCall := func(ctx context.Context, i int) error {
		_, err := pb.NewVerificationServiceClient(conns[i%len(conns)]).VerifyPack(ctx, &pb.VerifyPackRequest{Pack: pb.BarcodeInput(pick())})
		return err
	}
	for i := range 200 { // warm up
		if err := verifyCall(vctx, i); err != nil {
			return verify, floor, bg, fmt.Errorf("bench: verify: %w", err)
		}
	}
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bgErr := make(chan error, 1)
	go func() {
		var err error
		bg, err = background(bctx)
		bgErr <- err
	}()
	floor, err = openLoop(vctx, rate, max(dur/4, MinPhase), verifyGrace, verifyWorkers, func(ctx context.Context, i int) error {
		_, err := healthpb.NewHealthClient(conns[i%len(conns)]).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	})
	if err == nil {
		verify, err = openLoop(vctx, rate, dur, verifyGrace, verifyWorkers, verifyCall)
	}
	if err != nil {
		cancel()
		<-bgErr
		return verify, floor, bg, fmt.Errorf("bench: verify: %w", err)
	}
	if err := <-bgErr; err != nil {
		return verify, floor, bg, fmt.Errorf("bench: background ingest: %w", err)
	}
	return verify, floor, bg, nil
}

// dispensePacks dispenses packs one after another from dispenseWorkers
// terminals, each by the pharmacy that holds it, for dur or until they
// run out; each must be applied.
func (m *market) dispensePacks(ctx context.Context, conn *grpc.ClientConn, packs []int, dur time.Duration) (Latency, error) {
	vs := pb.NewVerificationServiceClient(conn)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l, err := closedLoop(ctx, dur, dispenseWorkers, func(ctx context.Context, i int) error {
		if i >= len(packs) {
			cancel()
			return ctx.Err()
		}
		p := packs[i]
		resp, err := vs.DispensePack(withToken(ctx, m.pharm[pharmacyOf(p)].token), &pb.DispensePackRequest{Pack: pb.BarcodeInput(m.packBarcode(p))})
		if err != nil {
			return err
		}
		if out := resp.GetOutcome(); !out.GetApplied() {
			return fmt.Errorf("dispense of pack %d refused: %s", p, out.GetReason())
		}
		return nil
	})
	if err != nil {
		return l, fmt.Errorf("bench: dispense: %w", err)
	}
	return l, nil
}

// readers measures a read call, closed loop from readWorkers callers.
const readWorkers = 4

// minReads is the fewest calls a read figure takes, however long they
// take: a read slower than the phase still gets measured.
const minReads = 3

// readLoop runs fn from readWorkers callers, one call after another,
// until dur has passed and each caller has made minReads calls.
func readLoop(ctx context.Context, dur time.Duration, fn func(context.Context) error) (Latency, error) {
	rs := make([]*recorder, readWorkers)
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for w := range rs {
		rs[w] = &recorder{}
		wg.Go(func() {
			for n := 0; ctx.Err() == nil && (n < minReads || time.Now().Before(deadline)); n++ {
				t := time.Now()
				rs[w].add(t, fn(ctx))
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Latency{}, err
	}
	return merge(rs, time.Since(start))
}

// history measures GetPackHistory of random packs among the first n.
func (m *market) history(ctx context.Context, conn *grpc.ClientConn, token string, n int, dur time.Duration) (Latency, error) {
	ps := pb.NewProvenanceServiceClient(conn)
	actx := withToken(ctx, token)
	l, err := readLoop(actx, dur, func(ctx context.Context) error {
		_, err := ps.GetPackHistory(ctx, &pb.GetPackHistoryRequest{Gtin: m.gtin, Serial: m.serial(rand.IntN(n))})
		return err
	})
	if err != nil {
		return l, fmt.Errorf("bench: pack history: %w", err)
	}
	return l, nil
}

// trace measures TraceBatch of random whole lots.
func (m *market) trace(ctx context.Context, conn *grpc.ClientConn, token string, fullLots int, dur time.Duration) (Latency, error) {
	ps := pb.NewProvenanceServiceClient(conn)
	actx := withToken(ctx, token)
	l, err := readLoop(actx, dur, func(ctx context.Context) error {
		_, err := ps.TraceBatch(ctx, &pb.TraceBatchRequest{Gtin: m.gtin, Lot: m.lotOf(rand.IntN(max(fullLots, 1)) * lotPacks)})
		return err
	})
	if err != nil {
		return l, fmt.Errorf("bench: batch trace: %w", err)
	}
	return l, nil
}

// sgtinURN returns pack i's EPC URN, reading the GTIN's demonstration
// prefix as a 7-digit GS1 Company Prefix.
func (m *market) sgtinURN(i int) string {
	g := m.gtin // indicator, 12 digits, check digit
	return "urn:epc:id:sgtin:" + g[1:8] + "." + g[0:1] + g[8:13] + "." + m.serial(i)
}

// epcisQuery measures GET /epcis/events?MATCH_epc= for random packs; ok
// is false, with the reason, when the node does not answer it.
func (m *market) epcisQuery(ctx context.Context, httpAddr, token string, n int, dur time.Duration) (l Latency, ok bool, why string, err error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: readWorkers}}
	get := func(ctx context.Context) (int, error) {
		u := "http://" + httpAddr + "/epcis/events?MATCH_epc=" + url.QueryEscape(m.sgtinURN(rand.IntN(n)))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	code, err := get(ctx)
	if err != nil {
		return l, false, "", fmt.Errorf("bench: EPCIS query: %w", err)
	}
	if code != http.StatusOK {
		return l, false, fmt.Sprintf("GET /epcis/events answered HTTP %d", code), nil
	}
	l, err = readLoop(ctx, dur, func(ctx context.Context) error {
		code, err := get(ctx)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("HTTP %d", code)
		}
		return err
	})
	if err != nil {
		return l, true, "", fmt.Errorf("bench: EPCIS query: %w", err)
	}
	return l, true, "", nil
}

// OfflineFigures are a step's figures taken on the stopped node's data
// directory.
type OfflineFigures struct {
	// Audit is `pedigree ledger verify` (node.Audit); HashedBytesPerS is
	// the SHA-256 input it hashed per second (entries, leaf prefixes and
	// tree nodes), SHA256BytesPerS what SHA-256 alone hashes on every
	// core, its limit.
	Audit           Audit   `json:"audit"`
	HashedBytesPerS float64 `json:"audit_hashed_bytes_per_s"`
	SHA256BytesPerS float64 `json:"sha256_bytes_per_s_all_cores"`
	// PebbleRead is a random point read (SeekGE of a random key, one
	// iterator each) on the read-only database: the limit of every read
	// path.
	PebbleRead Latency `json:"pebble_random_read"`
	// CheckpointSign is the signing of a checkpoint note of this size
	// with the node's checkpoint key.
	CheckpointSign Latency `json:"checkpoint_sign"`
}

// offline measures the stopped node's data directory.
func offline(ctx context.Context, dir string, dur time.Duration) (OfflineFigures, error) {
	var f OfflineFigures
	var hashed atomic.Int64
	rep, err := node.Audit(ctx, dir, node.AuditOptions{Check: func(_ uint64, data []byte) error {
		// Leaf hash over 0x00 ‖ data; about two interior nodes of 65
		// bytes per leaf; the chain hash over the previous hash and
		// the leaf hash.
		hashed.Add(int64(len(data)) + 1 + 2*65 + 64)
		return nil
	}})
	if err != nil {
		return f, fmt.Errorf("bench: ledger verify: %w", err)
	}
	f.Audit = Audit{Entries: rep.Entries, Checkpoints: rep.Checkpoints, Seconds: rep.Duration.Seconds(), EntriesPerS: rep.Rate()}
	if s := rep.Duration.Seconds(); s > 0 {
		f.HashedBytesPerS = float64(hashed.Load()) / s
	}
	f.SHA256BytesPerS = sha256Rate(min(dur, time.Second))
	if f.PebbleRead, err = pebbleRandomRead(ctx, filepath.Join(dir, "pebble"), dur); err != nil {
		return f, err
	}
	signer, _, err := ledger.LoadOrCreateKey(filepath.Join(dir, node.KeysDir), rep.Origin)
	if err != nil {
		return f, fmt.Errorf("bench: checkpoint key: %w", err)
	}
	text := fmt.Sprintf("%s\n%d\n%s\n", rep.Origin, rep.Entries, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.CheckpointSign, err = closedLoop(ctx, min(dur, time.Second), 1, func(context.Context, int) error {
		_, err := note.Sign(&note.Note{Text: text}, signer)
		return err
	})
	if err != nil {
		return f, fmt.Errorf("bench: checkpoint signing: %w", err)
	}
	return f, nil
}

// sha256Rate hashes 1 KiB blocks on every core for d and returns the
// bytes hashed per second.
func sha256Rate(d time.Duration) float64 {
	var total atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			buf := make([]byte, 1024)
			n := 0
			for time.Now().Before(deadline) {
				for range 64 {
					sum := sha256.Sum256(buf)
					buf[0] = sum[0]
					n += len(buf)
				}
			}
			total.Add(int64(n))
		})
	}
	wg.Wait()
	return float64(total.Load()) / time.Since(start).Seconds()
}

// pebbleRandomRead seeks random keys in a read-only open of dir.
func pebbleRandomRead(ctx context.Context, dir string, dur time.Duration) (Latency, error) {
	opts := ledger.AuditPebbleOptions()
	opts.ReadOnly = true
	opts.Logger = pebbleLog{slog.New(slog.DiscardHandler)}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return Latency{}, fmt.Errorf("bench: open pebble read-only: %w", err)
	}
	defer db.Close()
	l, err := closedLoop(ctx, dur, 1, func(context.Context, int) error {
		var k [9]byte
		k[0] = byte(rand.IntN(0x40))
		binary.BigEndian.PutUint64(k[1:], rand.Uint64())
		it, err := db.NewIter(nil)
		if err != nil {
			return err
		}
		it.SeekGE(k[:])
		return it.Close()
	})
	if err != nil {
		return l, fmt.Errorf("bench: pebble random read: %w", err)
	}
	return l, nil
}
