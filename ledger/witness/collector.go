package witness

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	fwitness "github.com/transparency-dev/formats/witness"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigree-project/pedigree/ledger"
)

// A Source is the log whose checkpoints a Collector gets cosigned; a
// *ledger.Log is one.
type Source interface {
	// Latest returns the latest stored checkpoint, or ledger.ErrNoCheckpoint.
	Latest() (ledger.Checkpoint, error)
	// Checkpoint signs a checkpoint of the current size.
	Checkpoint(ctx context.Context) (ledger.Checkpoint, error)
	// ConsistencyProof proves that the tree of size m is a prefix of that
	// of size n.
	ConsistencyProof(ctx context.Context, m, n uint64) (tlog.TreeProof, error)
}

// CollectorConfig configures a Collector.
type CollectorConfig struct {
	// Log is the log whose checkpoints are cosigned.
	Log Source
	// Policy names the witnesses and how many of them must cosign a
	// checkpoint before it is served, in the policy format of
	// github.com/transparency-dev/formats/witness (Sigsum's: "witness NAME
	// VKEY URL", "group NAME K|any|all MEMBERS…", "quorum NAME"); see
	// PolicyOf. Empty: no witnesses, every checkpoint is served as signed.
	Policy []byte
	// HTTP makes the requests to witnesses; nil: a client without
	// timeout of its own (Timeout bounds each round).
	HTTP *http.Client
	// Timeout bounds one round of requests; 0: 10 seconds.
	Timeout time.Duration
	// RetryInterval is how long Run waits before asking again for a
	// checkpoint that did not meet the policy; 0: 30 seconds.
	RetryInterval time.Duration
	// Logger receives each witness's failures.
	Logger *slog.Logger
	// Registerer, when not nil, gets the collector's metrics.
	Registerer prometheus.Registerer
	// OnServe, when not nil, is called with each checkpoint that becomes
	// the served one, on the goroutine of the round; it must not block.
	OnServe func(ledger.Checkpoint)
	// Peers are the submission prefixes of the other nodes that build the
	// log (their ReplicaHandler), asked in every round beside the
	// witnesses. Their cosignatures go into the served note but do not
	// count toward the policy. A peer's key is learnt from its GET vkey
	// and must pass Admit. A node may list itself: Admit tells it apart.
	Peers []string
	// Admit says whether a peer's cosignature key (its name and Ed25519
	// public key) is one the log trusts: nil if so, ErrSelf if it is the
	// node's own (that peer is never asked). Required with Peers.
	Admit func(name string, pub ed25519.PublicKey) error
	// Self, when not nil, adds the node's own cosignature (cosignature/v1)
	// to every checkpoint a round cosigns, beside its peers'.
	Self note.Signer
}

// ErrSelf is Admit's answer for the node's own key.
var ErrSelf = errors.New("witness: the node's own key")

// PolicyOf returns the policy text of witnesses of which quorum must
// cosign (0: none need to).
func PolicyOf(witnesses []Endpoint, quorum int) ([]byte, error) {
	if quorum < 0 || quorum > len(witnesses) {
		return nil, fmt.Errorf("witness quorum: must be between 0 and the number of witnesses (%d), got %d", len(witnesses), quorum)
	}
	if len(witnesses) == 0 {
		return nil, nil
	}
	var b strings.Builder
	names := make([]string, len(witnesses))
	for i, w := range witnesses {
		names[i] = fmt.Sprintf("w%d", i+1)
		fmt.Fprintf(&b, "witness %s %s %s\n", names[i], w.VerifierKey, w.URL)
	}
	fmt.Fprintf(&b, "group g %d %s\nquorum g\n", quorum, strings.Join(names, " "))
	return []byte(b.String()), nil
}

// Collector gathers witnesses' cosignatures on a node's checkpoints and
// keeps the checkpoint to serve (see the package documentation for its
// invariants). Its methods are safe for concurrent use.
type Collector struct {
	log      Source
	policy   fwitness.Group
	clients  []*Client
	names    []string // per client: its URL without credentials, for logs and metrics
	timeout  time.Duration
	retry    time.Duration
	logger   *slog.Logger
	requests *prometheus.CounterVec
	sizes    *prometheus.GaugeVec
	rounds   *prometheus.CounterVec
	served   prometheus.Gauge
	onServe  func(ledger.Checkpoint)
	hc       *http.Client
	admit    func(string, ed25519.PublicKey) error
	self     note.Signer

	round    chan struct{} // one round at a time; guards known, peers and last
	known    []uint64      // per client: the size it last cosigned, as far as we know
	peers    []*peer
	last     ledger.Checkpoint
	lastMet  bool
	lastDone bool // lastMet, and every witness and peer cosigned
	hasLast  bool

	mu      sync.Mutex
	serving *ledger.Checkpoint
	pending *ledger.Checkpoint
	wake    chan struct{}
}

// NewCollector returns a collector over cfg.
func NewCollector(cfg CollectorConfig) (*Collector, error) {
	if cfg.Log == nil || cfg.Logger == nil {
		return nil, errors.New("witness collector: log and logger are required")
	}
	c := &Collector{log: cfg.Log, timeout: cfg.Timeout, retry: cfg.RetryInterval, logger: cfg.Logger, onServe: cfg.OnServe,
		admit: cfg.Admit, self: cfg.Self, round: make(chan struct{}, 1), wake: make(chan struct{}, 1), policy: fwitness.NewGroup(0)}
	if c.timeout <= 0 {
		c.timeout = 10 * time.Second
	}
	if c.retry <= 0 {
		c.retry = 30 * time.Second
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{}
	}
	c.hc = hc
	if err := c.addPeers(cfg.Peers); err != nil {
		return nil, err
	}
	if len(cfg.Policy) > 0 {
		var err error
		if c.policy, err = fwitness.ParsePolicy(cfg.Policy); err != nil {
			return nil, fmt.Errorf("witness policy: %w", err)
		}
		for u, v := range c.policy.Endpoints() {
			pu, err := url.Parse(u)
			if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				return nil, fmt.Errorf("witness policy: witness URL %q: must be an http(s) URL", u)
			}
			c.clients = append(c.clients, &Client{URL: u, Verifier: v, HTTP: hc})
			c.names = append(c.names, strings.TrimSuffix(pu.Redacted(), "/add-checkpoint"))
		}
		c.known = make([]uint64, len(c.clients))
	}
	c.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pedigree_witness_requests_total",
		Help: "add-checkpoint requests to witnesses, by witness and result (cosigned, conflict, refused, error)."}, []string{"witness", "result"})
	c.sizes = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pedigree_witness_cosigned_size",
		Help: "Size of the latest checkpoint each witness cosigned."}, []string{"witness"})
	c.rounds = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pedigree_witness_rounds_total",
		Help: "Cosigning rounds, by whether the checkpoint met the witness policy (met, short)."}, []string{"policy"})
	c.served = prometheus.NewGauge(prometheus.GaugeOpts{Name: "pedigree_witness_served_size",
		Help: "Size of the served checkpoint, the latest that met the witness policy."})
	if cfg.Registerer != nil {
		for _, m := range []prometheus.Collector{c.requests, c.sizes, c.rounds, c.served} {
			if err := cfg.Registerer.Register(m); err != nil {
				return nil, fmt.Errorf("witness collector: metrics: %w", err)
			}
		}
	}
	return c, nil
}

// Witnesses returns the number of witnesses the collector asks.
func (c *Collector) Witnesses() int { return len(c.clients) }

// idle reports whether a round has nothing to add to a checkpoint.
func (c *Collector) idle() bool { return len(c.clients) == 0 && len(c.peers) == 0 && c.self == nil }

// Offer hands a new checkpoint to Run; a newer offer replaces one not yet
// taken. It never blocks.
func (c *Collector) Offer(cp ledger.Checkpoint) {
	c.mu.Lock()
	if c.pending == nil || c.pending.Size < cp.Size {
		c.pending = &cp
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run gets each offered checkpoint cosigned, starting with the log's
// latest, until ctx is done. A checkpoint that did not meet the policy is
// offered again after the retry interval unless a newer one comes, and
// so is one that a witness or a peer did not cosign.
func (c *Collector) Run(ctx context.Context) {
	if c.idle() {
		return
	}
	if cp, err := c.log.Latest(); err == nil {
		c.Offer(cp)
	}
	var retry <-chan time.Time
	var again ledger.Checkpoint
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-retry:
			c.Offer(again)
		}
		c.mu.Lock()
		next := c.pending
		c.pending = nil
		c.mu.Unlock()
		if next == nil {
			continue
		}
		_, _, done, err := c.cosign(ctx, *next, true)
		if err != nil && ctx.Err() != nil {
			return
		}
		retry = nil
		if !done {
			again, retry = *next, time.After(c.retry)
		}
	}
}

// Served returns the checkpoint to serve: the latest that met the policy,
// with its cosignatures, or while none has, the log's latest.
func (c *Collector) Served() (ledger.Checkpoint, error) {
	c.mu.Lock()
	s := c.serving
	c.mu.Unlock()
	if s != nil {
		return *s, nil
	}
	return c.log.Latest()
}

// Covering returns a checkpoint whose tree holds entry index: the served
// one if it does, else the log's latest (a new one if that does not
// either) with what cosignatures a round gets, which may be fewer than the
// policy wants.
func (c *Collector) Covering(ctx context.Context, index uint64) (ledger.Checkpoint, error) {
	if s, err := c.Served(); err == nil && s.Size > index {
		return s, nil
	}
	cp, err := c.log.Latest()
	if err != nil && !errors.Is(err, ledger.ErrNoCheckpoint) {
		return cp, err
	}
	if err != nil || cp.Size <= index {
		if cp, err = c.log.Checkpoint(ctx); err != nil {
			return cp, err
		}
	}
	out, _, _, err := c.cosign(ctx, cp, false)
	if err != nil {
		// The node's own signature still stands.
		return cp, nil
	}
	return out, nil
}

// cosign runs a round for cp, unless the last round covers it: a newer
// checkpoint, or the same one when every witness and peer cosigned it or
// force is false. A round for the checkpoint of the last round keeps the
// cosignatures that one got. It returns cp with the cosignatures it got,
// whether they meet the policy, and whether every witness and peer
// cosigned.
func (c *Collector) cosign(ctx context.Context, cp ledger.Checkpoint, force bool) (ledger.Checkpoint, bool, bool, error) {
	if c.idle() {
		return cp, true, true, nil
	}
	select {
	case c.round <- struct{}{}:
	case <-ctx.Done():
		return cp, false, false, ctx.Err()
	}
	defer func() { <-c.round }()
	if c.hasLast && (c.last.Size > cp.Size || c.last.Size == cp.Size && (c.lastDone || !force)) {
		return c.last, c.lastMet, c.lastDone, nil
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	got := make([][]note.Signature, len(c.clients)+len(c.peers))
	var wg sync.WaitGroup
	for i := range c.clients {
		wg.Go(func() { got[i] = c.ask(rctx, i, cp) })
	}
	for j := range c.peers {
		wg.Go(func() { got[len(c.clients)+j] = c.askPeer(rctx, j, cp) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return cp, false, false, err
	}
	complete := true
	var sigs []note.Signature
	for i, s := range got {
		complete = complete && (len(s) > 0 || i >= len(c.clients) && c.peers[i-len(c.clients)].self)
		sigs = append(sigs, s...)
	}
	if c.self != nil {
		own, err := cosignatureOf(cp.Note, c.self)
		if err != nil {
			return cp, false, false, fmt.Errorf("witness collector: checkpoint %d: %w", cp.Size, err)
		}
		sigs = append(sigs, own...)
	}
	base := cp.Note
	if c.hasLast && c.last.Size == cp.Size && c.last.Root == cp.Root {
		base = c.last.Note
	}
	merged, err := appendSignatures(base, sigs)
	if err != nil {
		return cp, false, false, fmt.Errorf("witness collector: checkpoint %d: %w", cp.Size, err)
	}
	out := cp
	out.Note = merged
	met := c.policy.Satisfied(merged)
	c.last, c.lastMet, c.lastDone, c.hasLast = out, met, met && complete, true
	if met {
		c.rounds.WithLabelValues("met").Inc()
		c.mu.Lock()
		newer := c.serving == nil || c.serving.Size <= out.Size
		if newer {
			c.serving = &out
			c.served.Set(float64(out.Size))
		}
		c.mu.Unlock()
		if newer && c.onServe != nil {
			c.onServe(out)
		}
	} else {
		c.rounds.WithLabelValues("short").Inc()
		c.logger.Warn("witness: checkpoint did not get the cosignatures the policy wants; the previous one is still served",
			"size", cp.Size, "cosignatures", len(sigs))
	}
	return out, met, met && complete, nil
}

// ask gets client i's cosignatures on cp, learning the size it holds from
// a 409. A failure is logged and counted, and yields none.
func (c *Collector) ask(ctx context.Context, i int, cp ledger.Checkpoint) []note.Signature {
	cl, name := c.clients[i], c.names[i]
	old := c.known[i]
	for range 3 {
		if old > cp.Size {
			c.requests.WithLabelValues(name, "conflict").Inc()
			c.logger.Warn("witness holds a larger checkpoint than the one offered", "witness", name, "witness_size", old, "size", cp.Size)
			return nil
		}
		var proof tlog.TreeProof
		if old > 0 && old < cp.Size {
			var err error
			if proof, err = c.log.ConsistencyProof(ctx, old, cp.Size); err != nil {
				c.requests.WithLabelValues(name, "error").Inc()
				c.logger.Warn("witness: consistency proof", "witness", name, "from", old, "to", cp.Size, "err", err)
				return nil
			}
		}
		sigs, err := cl.AddCheckpoint(ctx, old, proof, cp.Note)
		var conflict *ConflictError
		var status *StatusError
		switch {
		case errors.As(err, &conflict) && conflict.Size != old:
			old = conflict.Size
			continue
		case errors.As(err, &conflict):
			c.requests.WithLabelValues(name, "conflict").Inc()
			c.logger.Error("witness refuses the checkpoint: it cosigned another tree of this size", "witness", name, "size", cp.Size)
			return nil
		case errors.As(err, &status):
			c.requests.WithLabelValues(name, "refused").Inc()
			c.logger.Warn("witness refused the checkpoint", "witness", name, "size", cp.Size, "err", err)
			return nil
		case err != nil:
			c.requests.WithLabelValues(name, "error").Inc()
			c.logger.Warn("witness unreachable", "witness", name, "size", cp.Size, "err", err)
			return nil
		}
		c.known[i] = cp.Size
		c.requests.WithLabelValues(name, "cosigned").Inc()
		c.sizes.WithLabelValues(name).Set(float64(cp.Size))
		return sigs
	}
	c.requests.WithLabelValues(name, "conflict").Inc()
	c.logger.Warn("witness keeps answering conflicts", "witness", name, "size", cp.Size)
	return nil
}

// appendSignatures returns the signed note msg with sigs added after its
// own signatures, one per key.
func appendSignatures(msg []byte, sigs []note.Signature) ([]byte, error) {
	_, err := note.Open(msg, note.VerifierList())
	var u *note.UnverifiedNoteError
	if !errors.As(err, &u) {
		return nil, fmt.Errorf("checkpoint note: %w", err)
	}
	type id struct {
		name string
		hash uint32
	}
	seen := map[id]bool{}
	all := make([]note.Signature, 0, len(u.Note.UnverifiedSigs)+len(sigs))
	for _, s := range append(u.Note.UnverifiedSigs, sigs...) {
		if k := (id{s.Name, s.Hash}); !seen[k] {
			seen[k] = true
			all = append(all, s)
		}
	}
	return note.Sign(&note.Note{Text: u.Note.Text, Sigs: all})
}
