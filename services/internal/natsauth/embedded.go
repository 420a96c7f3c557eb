package natsauth

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultSweepInterval is how often connections are checked against the
// registry and their publish rates: a revoked key is disconnected within
// about this long.
const DefaultSweepInterval = time.Second

// Embedded authenticates the clients of the embedded NATS server (set it
// as server.Options.CustomClientAuthentication, with AlwaysEnableNonce) and
// sweeps the server's connections. It is safe for concurrent use.
type Embedded struct {
	reg   Registry
	nodes []string
	lim   Limits
	log   *slog.Logger
	now   func() time.Time
	m     *metrics

	mu      sync.Mutex
	srv     *server.Server
	conns   map[string]int       // connections per party, recounted by every sweep
	penalty map[string]time.Time // parties refused until then
	lastIn  map[uint64]int64     // messages received per connection at the last sweep
	lastAt  time.Time
}

// NewEmbedded returns the authenticator of an embedded server. nodeKeys are
// the public keys of the node's own NATS credentials; a nil reg admits
// only those (a server no party may use). metricsReg, when not nil,
// receives the authenticator's metrics.
func NewEmbedded(reg Registry, nodeKeys []ed25519.PublicKey, lim Limits, log *slog.Logger, metricsReg prometheus.Registerer) (*Embedded, error) {
	if log == nil || len(nodeKeys) == 0 {
		return nil, errors.New("natsauth: a logger and at least one node key are required")
	}
	nodes := make([]string, 0, len(nodeKeys))
	for _, k := range nodeKeys {
		nk, err := NKey(k)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, nk)
	}
	m, err := newMetrics(metricsReg)
	if err != nil {
		return nil, err
	}
	return &Embedded{reg: reg, nodes: nodes, lim: lim.WithDefaults(), log: log.With("component", "nats-auth"), now: time.Now, m: m,
		conns: map[string]int{}, penalty: map[string]time.Time{}, lastIn: map[uint64]int64{}}, nil
}

// Limits returns the limits in force, defaults filled in.
func (e *Embedded) Limits() Limits { return e.lim }

// Check implements server.Authentication.
func (e *Embedded) Check(c server.ClientAuthentication) bool {
	if c.Kind() != server.CLIENT {
		return false
	}
	o := c.GetOpts()
	g, err := decide(e.reg, e.nodes, o.Nkey, o.Sig, c.GetNonce())
	if err == nil && !g.Node {
		err = e.admit(g.Party)
	}
	if err != nil {
		e.m.refused.Inc()
		e.log.Info("NATS connection refused", "remote", remoteOf(c), "name", o.Name, "reason", err)
		return false
	}
	e.m.accepted.Inc()
	c.RegisterUser(&server.User{Username: g.User, Permissions: serverPermissions(g)})
	return true
}

// admit counts a new connection of party against its limits.
func (e *Embedded) admit(party string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if until, ok := e.penalty[party]; ok {
		if e.now().Before(until) {
			return refuse("party %s exceeded its publish rate of %.0f messages/s; refused until %s", party, e.lim.PublishRate, until.UTC().Format(time.RFC3339))
		}
		delete(e.penalty, party)
	}
	if e.conns[party] >= e.lim.MaxConnections {
		return refuse("party %s already has %d connections (the limit)", party, e.conns[party])
	}
	e.conns[party]++
	return nil
}

func remoteOf(c server.ClientAuthentication) string {
	if a := c.RemoteAddress(); a != nil {
		return a.String()
	}
	return "in-process"
}

func serverPermissions(g Grant) *server.Permissions {
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: g.Publish},
		Subscribe: &server.SubjectPermission{Allow: g.Subscribe},
	}
}

// Run sweeps the server's connections every interval until ctx ends: it
// closes those whose grant no longer holds (a key revoked, a party's role
// changed) and those of a party above its publish rate, and recounts each
// party's connections.
func (e *Embedded) Run(ctx context.Context, srv *server.Server, interval time.Duration) {
	e.mu.Lock()
	e.srv = srv
	e.mu.Unlock()
	every(ctx, interval, e.Sweep)
}

// every calls sweep every interval (DefaultSweepInterval when not
// positive) until ctx ends.
func every(ctx context.Context, interval time.Duration, sweep func()) {
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sweep()
		}
	}
}

// Sweep checks every connection once (Run calls it; tests call it to make
// a revocation take effect at once).
func (e *Embedded) Sweep() {
	e.mu.Lock()
	srv := e.srv
	e.mu.Unlock()
	if srv == nil {
		return
	}
	cz, err := srv.Connz(&server.ConnzOptions{Username: true, Limit: 1 << 30})
	if err != nil {
		e.log.Warn("sweep: list connections", "err", err)
		return
	}
	now := e.now()
	type party struct {
		conns []uint64
		msgs  int64
	}
	parties := map[string]*party{}
	grants := map[string]grantCheck{}
	in := make(map[uint64]int64, len(cz.Conns))
	for _, ci := range cz.Conns {
		// The server names an NKey connection by its NKey.
		user := ci.AuthorizedUser
		if user == "" || slices.Contains(e.nodes, user) {
			continue
		}
		gc, seen := grants[user]
		if !seen {
			gc = e.recheck(user)
			grants[user] = gc
		}
		if gc.err != nil {
			e.disconnect(srv, ci.Cid, user, gc.err)
			continue
		}
		gln := gc.party
		p := parties[gln]
		if p == nil {
			p = &party{}
			parties[gln] = p
		}
		p.conns = append(p.conns, ci.Cid)
		in[ci.Cid] = ci.InMsgs
		e.mu.Lock()
		last, known := e.lastIn[ci.Cid]
		e.mu.Unlock()
		if known {
			p.msgs += ci.InMsgs - last
		} else {
			p.msgs += ci.InMsgs
		}
	}
	e.mu.Lock()
	elapsed := now.Sub(e.lastAt).Seconds()
	first := e.lastAt.IsZero()
	e.lastAt, e.lastIn = now, in
	e.conns = make(map[string]int, len(parties))
	for gln, p := range parties {
		e.conns[gln] = len(p.conns)
	}
	e.mu.Unlock()
	if first || elapsed <= 0 {
		return
	}
	for gln, p := range parties {
		// A burst of a whole second's allowance is fine; a sustained rate
		// above the limit is not.
		if float64(p.msgs) <= e.lim.PublishRate*max(elapsed, 1) {
			continue
		}
		e.mu.Lock()
		e.penalty[gln] = now.Add(e.lim.Penalty)
		e.conns[gln] = 0
		e.mu.Unlock()
		e.m.rateLimited.Inc()
		err := refuse("party %s published %d messages in %.1f s, above its limit of %.0f/s", gln, p.msgs, elapsed, e.lim.PublishRate)
		for _, cid := range p.conns {
			e.disconnect(srv, cid, gln, err)
		}
	}
}

// grantCheck is the result of re-checking a connected NKey.
type grantCheck struct {
	party string
	err   error
}

// recheck decides again, from the registry, whether a connected user NKey
// may stay connected, and as which party.
func (e *Embedded) recheck(nkey string) grantCheck {
	raw, err := nkeys.Decode(nkeys.PrefixByteUser, []byte(nkey))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return grantCheck{err: refuse("nkey %.12s…: not a user NKey", nkey)}
	}
	if e.reg == nil {
		return grantCheck{err: refuse("nkey %s: only the node may connect here", nkey)}
	}
	g, err := partyGrant(e.reg, ed25519.PublicKey(raw))
	return grantCheck{party: g.Party, err: err}
}

func (e *Embedded) disconnect(srv *server.Server, cid uint64, user string, why error) {
	if err := srv.DisconnectClientByID(cid); err != nil {
		e.log.Debug("disconnect", "cid", cid, "err", err)
		return
	}
	e.m.disconnected.Inc()
	e.log.Warn("NATS connection closed", "user", user, "cid", cid, "reason", why)
}
