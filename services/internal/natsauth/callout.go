package natsauth

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/prometheus/client_golang/prometheus"
)

// CalloutSubject is where a NATS server asks who a connecting client is
// (NATS auth callout).
const CalloutSubject = "$SYS.REQ.USER.AUTH"

// Defaults of CalloutConfig.
const (
	// DefaultCalloutAccount is the account the node and the parties share
	// on an external cluster (see deploy/nats-cluster).
	DefaultCalloutAccount = "PEDIGREE"
	// DefaultCalloutTTL is how long a user the callout admits stays
	// connected before the server asks again: the longest a revoked key
	// keeps a connection on an external cluster.
	DefaultCalloutTTL = time.Minute
)

// CalloutConfig configures a Callout.
type CalloutConfig struct {
	// Registry decides who parties are.
	Registry Registry
	// IssuerSeedFile holds the NKey seed ("SA…") of the account named as
	// the auth callout's issuer in the server's configuration.
	IssuerSeedFile string
	// Account is the account admitted users are placed in.
	Account string
	// TTL bounds each admitted user's connection; 0 means DefaultCalloutTTL.
	TTL time.Duration
	// Limits bound each party.
	Limits Limits
	// Logger and Metrics (nil: none).
	Logger  *slog.Logger
	Metrics prometheus.Registerer
	// Now is the clock of the user JWTs; nil means time.Now.
	Now func() time.Time
}

// Callout answers an external NATS server's auth callout requests with
// the same decision as the embedded server's hook: a user JWT, signed by
// the issuer account, carrying the party's permissions and limits.
type Callout struct {
	cfg    CalloutConfig
	issuer nkeys.KeyPair
	log    *slog.Logger
	m      *metrics
	sub    *nats.Subscription

	tracking atomic.Bool // Run is re-checking admitted connections
	mu       sync.Mutex
	admitted map[admittedConn]admission // connections admitted and not yet expired
}

// admittedConn names one client connection in a cluster.
type admittedConn struct {
	server string
	cid    uint64
}

// admission is what the callout admitted a connection as.
type admission struct {
	pub     ed25519.PublicKey
	party   string
	expires time.Time
}

// NewCallout reads the issuer seed and returns a Callout.
func NewCallout(cfg CalloutConfig) (*Callout, error) {
	if cfg.Registry == nil || cfg.Logger == nil || cfg.IssuerSeedFile == "" {
		return nil, errors.New("natsauth: callout needs a registry, a logger and an issuer seed file")
	}
	seed, err := os.ReadFile(cfg.IssuerSeedFile)
	if err != nil {
		return nil, fmt.Errorf("natsauth: callout issuer: %w", err)
	}
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(seed))))
	if err != nil {
		return nil, fmt.Errorf("natsauth: callout issuer %s: %w", cfg.IssuerSeedFile, err)
	}
	if pub, err := kp.PublicKey(); err != nil || !nkeys.IsValidPublicAccountKey(pub) {
		return nil, fmt.Errorf("natsauth: callout issuer %s: want an account seed (SA…)", cfg.IssuerSeedFile)
	}
	if cfg.Account == "" {
		cfg.Account = DefaultCalloutAccount
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultCalloutTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Limits = cfg.Limits.WithDefaults()
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	return &Callout{cfg: cfg, issuer: kp, log: cfg.Logger.With("component", "nats-auth-callout"), m: m,
		admitted: map[admittedConn]admission{}}, nil
}

// Serve answers callout requests on nc (a connection of a user the
// server's auth_callout lists in auth_users) until nc closes or Stop.
func (c *Callout) Serve(nc *nats.Conn) error {
	sub, err := nc.Subscribe(CalloutSubject, func(m *nats.Msg) {
		defer func() {
			if r := recover(); r != nil {
				c.log.Error("auth callout handler panicked", "panic", r)
			}
		}()
		resp, err := c.answer(m.Data)
		if err != nil {
			c.log.Warn("auth callout: cannot answer", "err", err)
			return
		}
		if err := m.Respond([]byte(resp)); err != nil {
			c.log.Warn("auth callout: respond", "err", err)
		}
	})
	if err != nil {
		return fmt.Errorf("natsauth: serve auth callout: %w", err)
	}
	c.sub = sub
	return nil
}

// Stop stops answering.
func (c *Callout) Stop() {
	if c.sub != nil {
		_ = c.sub.Unsubscribe()
	}
}

// answer decides one request (a JWT the server signed) and returns the
// response JWT: the admitted user, or the refusal.
func (c *Callout) answer(req []byte) (string, error) {
	rc, err := jwt.DecodeAuthorizationRequestClaims(string(req))
	if err != nil {
		return "", fmt.Errorf("decode request: %w", err)
	}
	resp := jwt.NewAuthorizationResponseClaims(rc.UserNkey)
	if resp == nil {
		return "", errors.New("request without a user nkey")
	}
	resp.Audience = rc.Server.ID
	opts := rc.ConnectOptions
	g, derr := decide(c.cfg.Registry, nil, opts.Nkey, opts.SignedNonce, []byte(rc.ClientInformation.Nonce))
	if derr != nil {
		c.m.refused.Inc()
		c.log.Info("NATS connection refused", "host", rc.ClientInformation.Host, "name", opts.Name, "reason", derr)
		resp.Error = "not authorized"
		return resp.Encode(c.issuer)
	}
	uc := jwt.NewUserClaims(rc.UserNkey)
	uc.Name = g.User
	uc.Audience = c.cfg.Account
	uc.Expires = c.cfg.Now().Add(c.cfg.TTL).Unix()
	uc.Pub.Allow.Add(g.Publish...)
	uc.Sub.Allow.Add(g.Subscribe...)
	uc.Limits.Payload = int64(c.cfg.Limits.MaxPayload)
	uc.Limits.Subs = int64(c.cfg.Limits.MaxSubscriptions)
	user, err := uc.Encode(c.issuer)
	if err != nil {
		return "", fmt.Errorf("encode user: %w", err)
	}
	c.m.accepted.Inc()
	if raw, err := nkeys.Decode(nkeys.PrefixByteUser, []byte(opts.Nkey)); err == nil && c.tracking.Load() {
		c.mu.Lock()
		c.admitted[admittedConn{rc.Server.ID, rc.ClientInformation.ID}] = admission{
			pub: ed25519.PublicKey(raw), party: g.Party, expires: time.Unix(uc.Expires, 0)}
		c.mu.Unlock()
	}
	resp.Jwt = user
	return resp.Encode(c.issuer)
}

// Run re-checks the admitted connections every interval until ctx ends,
// and asks the server holding each one whose grant no longer holds (its
// key revoked, its party changed) to close it: sys is a connection of the
// cluster's system account. Without it, such a connection lasts until its
// user JWT expires (CalloutConfig.TTL).
func (c *Callout) Run(ctx context.Context, sys *nats.Conn, interval time.Duration) {
	c.tracking.Store(true)
	every(ctx, interval, func() { c.Sweep(ctx, sys) })
}

// Sweep re-checks every admitted connection once (Run calls it; tests
// call it to make a revocation take effect at once).
func (c *Callout) Sweep(ctx context.Context, sys *nats.Conn) {
	now := c.cfg.Now()
	type revoked struct {
		conn admittedConn
		why  error
	}
	var out []revoked
	c.mu.Lock()
	for conn, a := range c.admitted {
		if !now.Before(a.expires) {
			delete(c.admitted, conn)
			continue
		}
		g, err := partyGrant(c.cfg.Registry, a.pub)
		if err == nil && g.Party != a.party {
			err = refuse("key %s now belongs to %s", g.KeyID, g.Party)
		}
		if err != nil {
			out = append(out, revoked{conn, err})
		}
	}
	c.mu.Unlock()
	for _, r := range out {
		req, _ := json.Marshal(server.KickClientReq{CID: r.conn.cid})
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := sys.RequestWithContext(rctx, fmt.Sprintf("$SYS.REQ.SERVER.%s.KICK", r.conn.server), req)
		cancel()
		if err != nil {
			c.log.Warn("auth callout: close a connection whose grant no longer holds", "server", r.conn.server, "cid", r.conn.cid, "err", err)
			continue
		}
		c.mu.Lock()
		delete(c.admitted, r.conn)
		c.mu.Unlock()
		c.m.disconnected.Inc()
		c.log.Warn("NATS connection closed", "server", r.conn.server, "cid", r.conn.cid, "reason", r.why)
	}
}
