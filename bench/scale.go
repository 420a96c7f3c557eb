package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// DefaultScaleSteps are the data sizes, in events, of `pedigree bench
// --scale` without a value: about 15 minutes on the reference machine.
var DefaultScaleSteps = []int64{1_000_000, 3_000_000, 10_000_000}

// Parts of a scale step that ScaleConfig.Skip may leave out.
const (
	ScaleVerify   = "verify"   // verify and the bare gRPC call
	ScaleDispense = "dispense" // DispensePack
	ScaleReads    = "reads"    // pack history, batch trace, EPCIS query
	ScaleProofs   = "proofs"   // inclusion and consistency proofs
	ScaleRestart  = "restart"  // SIGKILL and restart
	ScaleOffline  = "offline"  // audit, SHA-256, Pebble random read, checkpoint signing, disk
)

// ScaleParts returns the names ScaleConfig.Skip takes.
func ScaleParts() []string {
	return []string{ScaleVerify, ScaleDispense, ScaleReads, ScaleProofs, ScaleRestart, ScaleOffline}
}

// ScaleConfig configures `pedigree bench --scale`.
type ScaleConfig struct {
	// Steps are the data sizes to measure at, in events, increasing.
	Steps []int64
	// Target is a running server; zero means a node of the run's own, run
	// by ServeArgv as a child process.
	Target Target
	// ServeArgv is the command that runs a node: the pedigree binary and
	// "serve"; the run adds the data directory and listen addresses.
	ServeArgv []string
	// Phase is how long each timed measurement of a step runs.
	Phase time.Duration
	// VerifyRate is the verify (and bare call) request rate; ingest at
	// VerifyIngestRate runs meanwhile.
	VerifyRate, VerifyIngestRate int
	// Skip names parts of each step to leave out (ScaleParts).
	Skip []string
	// Retention runs the node with stream retention after-backup and, as
	// each step begins, takes a verified backup of it as an operator's
	// regular backups would (`pedigree backup --operator`), so that the
	// stream drops what the backup holds: the step's restart and disk per
	// event are then those of a node with that retention. Needs the node
	// run by ServeArgv.
	Retention bool
	// ProfileDir, when set, receives the node's CPU profiles at each
	// step: while it answers the bare call then verifications with the
	// background ingest (cpu-verify-ingest-STEP.pprof), verifications
	// alone (cpu-verify-STEP.pprof) and bare gRPC calls alone
	// (cpu-bare-STEP.pprof), and its heap when its memory is read
	// (heap-STEP.pprof). Needs the node run by ServeArgv.
	ProfileDir string
	// DataDir, when set, is the node's data directory, kept after the
	// run, with the run's state in it (ScaleStateFile) after every grown
	// block and measured step. A run on a directory that holds a state
	// resumes it: the node starts on its data, the market's parties sign
	// with their saved keys, and the steps measured already are reported
	// again. Needs the node run by ServeArgv.
	DataDir string
	// Pause, when it closes, ends the run at the next point where its
	// state is whole: after the block of pallets being grown, or after
	// the step being measured. RunScale then stops the node cleanly and
	// returns the steps measured so far with ErrScalePaused.
	Pause <-chan struct{}
	// Logger and Progress as in Config.
	Logger   *slog.Logger
	Progress io.Writer
}

// DefaultScaleConfig returns `pedigree bench --scale` without flags.
func DefaultScaleConfig() ScaleConfig {
	return ScaleConfig{Steps: DefaultScaleSteps, Phase: 8 * time.Second, VerifyRate: DefaultVerifyRate, VerifyIngestRate: DefaultVerifyIngestRate}
}

// ParseSteps reads "1M,3M,10M" (k, M and G suffixes; plain numbers).
func ParseSteps(s string) ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mul := int64(1)
		switch {
		case strings.HasSuffix(f, "k"), strings.HasSuffix(f, "K"):
			mul, f = 1_000, f[:len(f)-1]
		case strings.HasSuffix(f, "M"):
			mul, f = 1_000_000, f[:len(f)-1]
		case strings.HasSuffix(f, "G"):
			mul, f = 1_000_000_000, f[:len(f)-1]
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || !(v > 0) || v*float64(mul) > 1e12 {
			return nil, fmt.Errorf("scale: step %q: want a positive number of events, e.g. 1M or 500k", f)
		}
		n := int64(v * float64(mul))
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("scale: steps must increase: %d after %d", n, out[len(out)-1])
		}
		out = append(out, n)
	}
	return out, nil
}

func (c ScaleConfig) withDefaults() (ScaleConfig, error) {
	var errs []error
	if len(c.Steps) == 0 {
		c.Steps = DefaultScaleSteps
	}
	for i, s := range c.Steps {
		if s < EventsPerPallet || (i > 0 && s <= c.Steps[i-1]) {
			errs = append(errs, fmt.Errorf("scale: steps must increase from at least %d events", EventsPerPallet))
			break
		}
	}
	if c.Phase < MinPhase {
		errs = append(errs, fmt.Errorf("scale-phase: at least %s", MinPhase))
	}
	if c.VerifyRate <= 0 || c.VerifyIngestRate <= 0 {
		errs = append(errs, errors.New("verify-rate, verify-ingest-rate: must be positive"))
	}
	for _, s := range c.Skip {
		if !slices.Contains(ScaleParts(), s) {
			errs = append(errs, fmt.Errorf("scale-skip: %q is not a part; the parts are %s", s, strings.Join(ScaleParts(), ", ")))
		}
	}
	if !c.Target.External() && len(c.ServeArgv) == 0 {
		errs = append(errs, errors.New("scale: without --server the run needs the pedigree binary to run its node"))
	}
	if c.ProfileDir != "" && c.Target.External() {
		errs = append(errs, errors.New("scale-profiles: the node's profiles need its admin token and a node of the run's own; leave out --server"))
	}
	if c.DataDir != "" && c.Target.External() {
		errs = append(errs, errors.New("scale-data: the data directory is that of a node of the run's own; leave out --server"))
	}
	if c.Retention && c.Target.External() {
		errs = append(errs, errors.New("scale-retention: needs the run's own node: leave out --server"))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c, errors.Join(errs...)
}

func (c ScaleConfig) runs(part string) bool { return !slices.Contains(c.Skip, part) }

// scaleRun holds a scale run's state.
type scaleRun struct {
	cfg      ScaleConfig
	res      *ScaleResult
	child    *childNode // nil for a running server
	target   Target
	conns    []*grpc.ClientConn
	bus      *bus
	m        *market
	pallets  int // grown so far
	events   int64
	packEvs  int64
	shelfCur int          // shelf packs [0, shelfCur) have been dispensed by the measurements
	grown    atomic.Int64 // s.events, for readers while the soak grows it
	label    string       // the step being measured, as --scale reads it
	// growSeconds is the time grown toward the next step, over every
	// run of a resumed one; wallBefore the wall time of the runs before
	// this one, resumed how many runs came before it.
	growSeconds float64
	wallBefore  float64
	resumed     int
	start       time.Time
}

// ErrScalePaused is returned by RunScale, with the steps measured so far,
// when ScaleConfig.Pause ended the run: the same configuration on the same
// DataDir resumes it.
var ErrScalePaused = errors.New("bench: the scale run paused; run it again on the same data directory to resume")

// paused reports whether the run was asked to pause.
func (s *scaleRun) paused() bool {
	select {
	case <-s.cfg.Pause:
		return true
	default:
		return false
	}
}

// wallSeconds is the run's wall time over all its runs.
func (s *scaleRun) wallSeconds() float64 { return s.wallBefore + time.Since(s.start).Seconds() }

func (s *scaleRun) progress(format string, args ...any) {
	fmt.Fprintf(s.cfg.Progress, "bench: "+format+"\n", args...)
}

// RunScale grows a node's data step by step and measures it at each.
func RunScale(ctx context.Context, cfg ScaleConfig) (*ScaleResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	s := &scaleRun{cfg: cfg, start: time.Now(), res: &ScaleResult{Machine: machineNow(), Steps: []ScaleStep{}, Settings: ScaleSettings{
		Steps: cfg.Steps, PhaseSeconds: cfg.Phase.Seconds(), VerifyRate: cfg.VerifyRate, VerifyIngestRate: cfg.VerifyIngestRate,
		Skip: cfg.Skip, EventsPerPallet: EventsPerPallet, PalletPacks: palletPacks}}}
	defer s.close()
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("bench: scale profiles: %w", err)
		}
	}
	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	for _, target := range cfg.Steps[len(s.res.Steps):] {
		if s.paused() {
			return s.pause()
		}
		if err := s.grow(ctx, target); err != nil {
			return nil, err
		}
		if s.events < target {
			return s.pause()
		}
		s.progress("step %s: %d events (%d packs) in %.0f s", shortValue(float64(target)), s.events, s.pallets*palletPacks, s.growSeconds)
		s.label = shortValue(float64(target))
		if err := s.saveState("measuring step " + s.label); err != nil {
			return nil, err
		}
		t1 := time.Now()
		step, err := s.measure(ctx)
		if err != nil {
			return nil, err
		}
		step.GrowSeconds = s.growSeconds
		step.StepSeconds = s.growSeconds + time.Since(t1).Seconds()
		s.growSeconds = 0
		s.res.Steps = append(s.res.Steps, step)
		if err := s.saveState(""); err != nil {
			return nil, err
		}
	}
	s.finish()
	return s.res, nil
}

// finish completes the result's run-wide figures.
func (s *scaleRun) finish() {
	s.res.Machine.LoadEnd = loadAvg()
	s.res.WallSeconds = s.wallSeconds()
	s.res.Resumed = s.resumed
	s.res.Verdicts = s.res.verdicts()
}

// pause saves the run's state, stops the node cleanly and returns what
// was measured so far with ErrScalePaused.
func (s *scaleRun) pause() (*ScaleResult, error) {
	if err := s.saveState(""); err != nil {
		return nil, err
	}
	if s.child != nil {
		if err := s.child.stop(); err != nil {
			return nil, err
		}
	}
	s.progress("paused at %d events (%d packs); the same command resumes from %s", s.events, s.pallets*palletPacks, s.cfg.DataDir)
	s.finish()
	return s.res, ErrScalePaused
}

// connect starts the node (or checks the running one) and registers the
// market.
func (s *scaleRun) connect(ctx context.Context) error {
	if s.cfg.Target.External() {
		s.target, s.res.Server = s.cfg.Target, s.cfg.Target.HTTPAddr
		if err := ready(ctx, s.target.HTTPAddr); err != nil {
			return err
		}
	} else {
		var err error
		if s.child, err = newChildNode(s.cfg.ServeArgv, s.cfg.DataDir); err != nil {
			return err
		}
		var saved *scaleState
		if s.cfg.DataDir != "" {
			if saved, err = loadScaleState(filepath.Join(s.cfg.DataDir, ScaleStateFile)); err != nil {
				return err
			}
		}
		if saved != nil {
			if err := saved.checkResume(s.cfg, s.res.Settings); err != nil {
				return fmt.Errorf("bench: resume the scale run in %s: %w", s.cfg.DataDir, err)
			}
			s.restore(saved)
		}
		if s.cfg.Retention {
			s.child.extra = []string{"--stream-retention", "after-backup", "--stream-retention-interval", "1s",
				"--stream-retention-margin", strconv.Itoa(retentionMargin)}
		}
		s.res.Server = "child process: " + strings.Join(s.cfg.ServeArgv, " ")
		if err := s.startChild(ctx); err != nil {
			return err
		}
		s.progress("node on %s: gRPC %s, HTTP %s, NATS %s", s.child.dir, s.target.GRPCAddr, s.target.HTTPAddr, s.target.NATSURL)
		if saved != nil {
			s.progress("resumed at %d events (%d packs), %d steps measured", s.events, s.pallets*palletPacks, len(s.res.Steps))
			return s.dial()
		}
	}
	if err := s.setupMarket(ctx); err != nil {
		return err
	}
	return s.saveState("")
}

// setupMarket registers the market's parties on the node s.target names
// and connects them.
func (s *scaleRun) setupMarket(ctx context.Context) error {
	if s.conns == nil {
		if err := s.dialGRPC(); err != nil {
			return err
		}
	}
	w, err := newWorld(ctx, s.conns[0], s.target.Token)
	if err != nil {
		return err
	}
	if s.m, err = newMarket(ctx, s.conns[0], w, s.target.Token); err != nil {
		return err
	}
	return s.dial()
}

// startChild starts the child node, waits for it to be ready and
// connects gRPC to it.
func (s *scaleRun) startChild(ctx context.Context) error {
	if err := s.child.start(ctx); err != nil {
		return err
	}
	s.target = s.child.target
	if err := ready(ctx, s.target.HTTPAddr); err != nil {
		return err
	}
	return s.dialGRPC()
}

func (s *scaleRun) dialGRPC() error {
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.conns = nil
	for range verifyConns {
		c, err := grpc.NewClient(s.target.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return fmt.Errorf("bench: gRPC %s: %w", s.target.GRPCAddr, err)
		}
		s.conns = append(s.conns, c)
	}
	return nil
}

// dial connects every party to NATS.
func (s *scaleRun) dial() error {
	if s.bus != nil {
		s.bus.close()
	}
	var err error
	if s.bus, err = dialBus(s.target.NATSURL, s.m.world, s.target.NodeKeys, s.target.NATSAdminKeyFile); err != nil {
		return err
	}
	return s.m.connectParties(s.target.NATSURL, s.bus)
}

func (s *scaleRun) close() {
	if s.bus != nil {
		s.bus.close()
	}
	for _, c := range s.conns {
		_ = c.Close()
	}
	if s.child != nil {
		s.child.remove()
	}
}

// grow adds pallets until the node holds at least target events, or the
// run is asked to pause; it saves the run's state around every block.
func (s *scaleRun) grow(ctx context.Context, target int64) error {
	for s.events < target && !s.paused() {
		need := int((target - s.events + EventsPerPallet - 1) / EventsPerPallet)
		n := min(need, blockPacks/palletPacks)
		if err := s.saveState(fmt.Sprintf("growing pallets %d to %d", s.pallets, s.pallets+n)); err != nil {
			return err
		}
		t0 := time.Now()
		if err := s.growBlock(ctx, n, 0, nil); err != nil {
			return err
		}
		s.growSeconds += time.Since(t0).Seconds()
		if err := s.saveState(""); err != nil {
			return err
		}
	}
	return nil
}

// growBlock grows the market by n pallets: commissions their packs, then
// publishes the manufacturer's, the wholesaler's and the pharmacies'
// captures, each wave committed before the next is published, at most
// rate events a second (0: as fast as the ledger takes them). wave, when
// set, is told when each wave started and how it ended.
func (s *scaleRun) growBlock(ctx context.Context, n int, rate float64, wave func(time.Time, error)) error {
	p0 := s.pallets
	if err := s.m.commissionRange(ctx, s.conns[0], p0*palletPacks, (p0+n)*palletPacks); err != nil {
		return err
	}
	waves, err := s.m.blockEvents(p0, p0+n)
	if err != nil {
		return err
	}
	for _, w := range waves {
		msgs, err := seal(ctx, w)
		if err != nil {
			return err
		}
		at := time.Now()
		_, err = ingest(ctx, s.bus, msgs, ingestOptions{dur: 24 * time.Hour, rate: rate, window: windowCaptures, markers: markersPending})
		if wave != nil && ctx.Err() == nil {
			wave(at, err)
		}
		if err != nil {
			return err
		}
	}
	s.pallets += n
	s.events += int64(n) * EventsPerPallet
	s.packEvs += int64(n) * PackEventsPerPallet
	s.grown.Store(s.events)
	return nil
}

// shelf returns the next n shelf packs not yet dispensed, and marks them
// dispensed.
func (s *scaleRun) shelf(n int) []int {
	total := s.pallets * palletPacks / shelfEvery
	n = min(n, total-s.shelfCur)
	out := make([]int, n)
	for k := range out {
		out[k] = (s.shelfCur + k) * shelfEvery
	}
	s.shelfCur += n
	return out
}

// pickShelf returns a random shelf pack not yet dispensed (nor set aside
// for a dispense).
func (s *scaleRun) pickShelf() func() string {
	lo, hi := s.shelfCur, s.pallets*palletPacks/shelfEvery
	if hi-lo < 2 {
		lo = 0 // none left: packs already dispensed answer too
	}
	return func() string {
		for {
			// Pharmacy 0 verifies the packs on its own shelf.
			if i := (lo + randN(hi-lo)) * shelfEvery; pharmacyOf(i) == 0 {
				return s.m.packBarcode(i)
			}
		}
	}
}

// dispenseMessages signs single-pack dispenses of packs, each by its
// pharmacy.
func (s *scaleRun) dispenseMessages(packs []int) ([]message, error) {
	out := make([]message, 0, len(packs))
	now := time.Now()
	for _, p := range packs {
		ph := s.m.pharm[pharmacyOf(p)]
		b, err := newBuilderAt(ph.gln, now)
		if err != nil {
			return nil, err
		}
		ev, err := b.Dispense(s.m.epc(p))
		if err != nil {
			return nil, fmt.Errorf("bench: dispense event: %w", err)
		}
		msg, err := sealCapture(ph.gln, ph.key, []*pb.ScanEvent{ev})
		if err != nil {
			return nil, err
		}
		out = append(out, msg)
	}
	return out, nil
}
