package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
)

// Defaults of Config.
const (
	// DefaultDuration is the length of a run without --duration: about two
	// minutes of wall time in all, setup included.
	DefaultDuration = 2 * time.Minute
	// DefaultVerifyRate is the request rate of the verify phase, the rate
	// the verify target is stated at.
	DefaultVerifyRate = 10_000
	// DefaultVerifyIngestRate is the background ingest during the verify
	// phase, in events/s: ten times the busiest day of Germany's
	// verification system, averaged. A fixed rate keeps the verify figure
	// comparable between runs and machines; unbounded ingest (rate 0) takes
	// every cycle the verify requests leave, and the latencies then measure
	// how the Go scheduler shares two saturated cores.
	DefaultVerifyIngestRate = 1_000
	// DefaultCommission is the number of serials commissioned per
	// DefaultDuration: issue 5's figure (1M serials in at most 10 s). A
	// longer run commissions proportionally more, so that its ingest
	// phases do not run out of packs.
	DefaultCommission = 1_000_000
	// MinPhase is the shortest a timed phase runs, however short the
	// duration.
	MinPhase = 300 * time.Millisecond
	// MinCommission is the fewest serials a run commissions: every phase
	// that dispenses needs some.
	MinCommission = 1000
)

// Shares of Config.Duration given to each timed phase. They add up to 0.68;
// the rest is left for commissioning (timed by its count), signing the
// envelopes, starting and stopping the server and the offline audit.
const (
	shareRaw            = 0.05
	shareRawCaptures    = 0.03
	shareIngest         = 0.14
	shareIngestCaptures = 0.06
	shareVerify         = 0.24
	shareDispense       = 0.07
	shareProofs         = 0.09 // 40% inclusion, 40% consistency, 20% round trip
)

// Shares of the commissioned packs given to the phases that dispense them
// (the capture phases get the rest, 0.52); each phase ends early when its
// packs run out. The verify phase reads packs that no phase dispenses:
// verifying a dispensed pack raises ALREADY_INACTIVE, which the node
// records on the ledger, and a pharmacy mostly verifies packs it is about
// to hand out.
const (
	packsVerify     = 0.02
	packsDispense   = 0.02
	packsIngest     = 0.34
	packsBackground = 0.10
)

// CaptureSize is the number of single-pack dispense events in one signed
// capture in the capture phases.
const CaptureSize = 100

// Phase names, for Config.Phases. Commissioning is not among them: it
// always runs, since every other phase uses the packs it commissions.
const (
	PhaseIngest   = "ingest"   // raw publish and ingest of single-pack envelopes
	PhaseCaptures = "captures" // the same with captures of CaptureSize events
	PhaseVerify   = "verify"   // VerifyPack under background ingest
	PhaseDispense = "dispense" // DispensePack from dispenseWorkers terminals
	PhaseProofs   = "proofs"   // inclusion and consistency proofs, gRPC round trip
	PhaseAudit    = "audit"    // ledger verify and disk per event (embedded server only)
)

// AllPhases returns the names of the phases a run can take, in the order
// it takes them.
func AllPhases() []string {
	return []string{PhaseIngest, PhaseCaptures, PhaseVerify, PhaseDispense, PhaseProofs, PhaseAudit}
}

// Target is a running server to measure. The zero Target means: start an
// embedded node on a temporary directory.
type Target struct {
	// HTTPAddr is the server's HTTP address (host:port).
	HTTPAddr string
	// GRPCAddr is its gRPC address (host:port).
	GRPCAddr string
	// NATSURL is the NATS server its ledger node consumes from.
	NATSURL string
	// Token is an admin API token: the run registers its own parties,
	// product and batch with it.
	Token string
	// MetricsAddr is its metrics listener (host:port), whose
	// process_resident_memory_bytes gives the peak RSS; empty leaves the
	// peak RSS out.
	MetricsAddr string
	// NodeKeys are the node keys whose signed outcomes the run believes
	// (the server's DATA/keys/node.pub). Required with a running server;
	// the embedded one's is known.
	NodeKeys envelope.NodeKeys
	// NATSAdminKeyFile is the running server's own NATS key
	// (DATA/keys/nats.key): with it the run publishes into a scratch
	// stream (the raw publish figures) and reads the SCANS stream's size;
	// without it those figures are not measured. Pharmacies always publish
	// with their own keys.
	NATSAdminKeyFile string
}

// External reports whether t names a running server.
func (t Target) External() bool { return t.HTTPAddr != "" }

// Config configures a run. Start from DefaultConfig.
type Config struct {
	// Target is the server to measure; zero means an embedded one.
	Target Target
	// Duration is the total wall time the timed phases are sized for;
	// phases get fixed shares of it.
	Duration time.Duration
	// VerifyRate is the verify phase's open-loop request rate (requests/s).
	VerifyRate int
	// VerifyIngestRate is the background ingest during the verify phase,
	// in events/s; 0 publishes as fast as the ledger takes them.
	VerifyIngestRate int
	// Phases are the phases to run after commissioning (AllPhases names
	// them); empty means all.
	Phases []string
	// Commission is the number of serials the commissioning phase
	// commissions; the later phases dispense and verify them. 0 means
	// DefaultCommission scaled by Duration/DefaultDuration (at least
	// DefaultCommission).
	Commission int
	// Logger receives the embedded node's logs; nil discards them.
	Logger *slog.Logger
	// Progress, when not nil, receives one line per phase as it starts and
	// ends.
	Progress io.Writer
}

// DefaultConfig returns the configuration of `pedigree bench` with no flags.
func DefaultConfig() Config {
	return Config{Duration: DefaultDuration, VerifyRate: DefaultVerifyRate, VerifyIngestRate: DefaultVerifyIngestRate}
}

func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.Duration <= 0 {
		errs = append(errs, errors.New("duration: must be positive"))
	}
	if c.VerifyRate <= 0 {
		errs = append(errs, errors.New("verify-rate: must be positive"))
	}
	if c.VerifyIngestRate < 0 {
		errs = append(errs, errors.New("verify-ingest-rate: must not be negative"))
	}
	if c.Commission < 0 || (c.Commission > 0 && c.Commission < MinCommission) {
		errs = append(errs, fmt.Errorf("commission: at least %d serials (0: the default)", MinCommission))
	}
	for _, p := range c.Phases {
		if !slices.Contains(AllPhases(), p) {
			errs = append(errs, fmt.Errorf("phases: %q is not a phase; the phases are %s", p, strings.Join(AllPhases(), ", ")))
		}
	}
	t := c.Target
	if t.External() && (t.GRPCAddr == "" || t.NATSURL == "" || t.Token == "" || len(t.NodeKeys) == 0) {
		errs = append(errs, errors.New("server: a running server also needs its gRPC address, its NATS URL, an admin token and its node key"))
	}
	if !t.External() && (t.GRPCAddr != "" || t.NATSURL != "" || t.Token != "" || t.MetricsAddr != "" || len(t.NodeKeys) > 0 || t.NATSAdminKeyFile != "") {
		errs = append(errs, errors.New("grpc, nats, token, metrics, node key, NATS admin key: apply to a running server; give its HTTP address too"))
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	if len(c.Phases) == 0 {
		c.Phases = AllPhases()
	}
	if c.Commission == 0 {
		scale := max(1, float64(c.Duration)/float64(DefaultDuration))
		c.Commission = int(DefaultCommission * scale)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c, nil
}

// runs reports whether the run takes the phase named name.
func (c Config) runs(name string) bool { return slices.Contains(c.Phases, name) }

// phase returns the time given to a phase with share of the duration.
func (c Config) phase(share float64) time.Duration {
	return max(MinPhase, time.Duration(float64(c.Duration)*share))
}
