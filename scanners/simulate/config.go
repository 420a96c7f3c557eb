package simulate

import (
	"errors"
	"fmt"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
)

// Defaults of Config: a small market that runs in a few seconds against a
// node on the same machine.
const (
	DefaultSeed          = 1
	DefaultManufacturers = 2
	DefaultWholesalers   = 3
	DefaultPharmacies    = 8
	DefaultPacks         = 1000
	// DefaultConcurrency is how many chains of scans run at once. Writes
	// wait for the ledger's outcome, so throughput comes from having many
	// in flight: the node commits them in shared batches.
	DefaultConcurrency = 32
	// DefaultStepTimeout bounds one scan's round trip, retries included.
	DefaultStepTimeout = 60 * time.Second
)

// Limits of Config.
const (
	MaxParties = 999       // per role: the GLN index has three digits
	MinPacks   = 50        // in all, and per manufacturer: fewer leaves no room for every kind of trouble
	MaxPacks   = 5_000_000 // the plan is held in memory
)

// Start returns the simulated clock's first instant: Monday 5 January 2026,
// 06:00 UTC. Every run starts there, so event times, and with them event
// IDs, depend only on the seed and the market's identifiers.
func Start() time.Time { return time.Date(2026, time.January, 5, 6, 0, 0, 0, time.UTC) }

// Config sizes the market and says where to send it.
type Config struct {
	// Server is the gRPC address of the node, as `pedigree serve` prints it
	// ("127.0.0.1:7070").
	Server string
	// Token is an API token of an admin (or regulator): the simulator
	// registers its own parties with it.
	Token string
	// NATSURL, when set, makes the scans go to NATS JetStream as envelopes
	// signed by each party's own key (scanners/sdk) instead of through the
	// Capture and Verification APIs: each party connects on its own, logged
	// in with its key, and believes only outcomes NodeKeys signed. Master
	// data and the recall still go through the Registry API.
	NATSURL string
	// NodeKeys are the node keys whose signed outcomes the parties believe
	// (DATA/keys/node.pub); required with NATSURL.
	NodeKeys envelope.NodeKeys
	// Seed decides everything: identifiers, the market, the flows and the
	// trouble injected.
	Seed uint64
	// Manufacturers, Wholesalers and Pharmacies are the number of parties
	// of each role, 1–999 (at least 2 pharmacies: clones need two).
	Manufacturers, Wholesalers, Pharmacies int
	// Packs is the number of serialized packs commissioned.
	Packs int
	// Concurrency is how many chains of scans run at once.
	Concurrency int
	// StepTimeout bounds one scan's round trip.
	StepTimeout time.Duration
}

// DefaultConfig returns a small market (Server and Token still to set).
func DefaultConfig() Config {
	return Config{
		Seed: DefaultSeed, Manufacturers: DefaultManufacturers, Wholesalers: DefaultWholesalers,
		Pharmacies: DefaultPharmacies, Packs: DefaultPacks, Concurrency: DefaultConcurrency,
		StepTimeout: DefaultStepTimeout,
	}
}

func (c Config) validate() error {
	var errs []error
	if c.Server == "" {
		errs = append(errs, errors.New("server: required"))
	}
	if c.NATSURL != "" && len(c.NodeKeys) == 0 {
		errs = append(errs, errors.New("node key: required with NATS: outcomes are believed only when a node key signed them (DATA/keys/node.pub)"))
	}
	if c.Token == "" {
		errs = append(errs, errors.New("token: an admin token is required to register the market's parties"))
	}
	for _, f := range []struct {
		name     string
		v, least int
	}{{"manufacturers", c.Manufacturers, 1}, {"wholesalers", c.Wholesalers, 1}, {"pharmacies", c.Pharmacies, 2}} {
		if f.v < f.least || f.v > MaxParties {
			errs = append(errs, fmt.Errorf("%s: %d–%d, got %d", f.name, f.least, MaxParties, f.v))
		}
	}
	if c.Packs < MinPacks || c.Packs > MaxPacks {
		errs = append(errs, fmt.Errorf("packs: %d–%d, got %d", MinPacks, MaxPacks, c.Packs))
	} else if c.Packs < MinPacks*c.Manufacturers {
		errs = append(errs, fmt.Errorf("packs: at least %d per manufacturer (%d for %d), got %d",
			MinPacks, MinPacks*c.Manufacturers, c.Manufacturers, c.Packs))
	}
	if c.Concurrency < 1 || c.Concurrency > 1024 {
		errs = append(errs, fmt.Errorf("concurrency: 1–1024, got %d", c.Concurrency))
	}
	if c.StepTimeout <= 0 {
		errs = append(errs, errors.New("step timeout: must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("simulate: config: %w", err)
	}
	return nil
}
