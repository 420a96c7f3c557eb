package natsbus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// RouteUser is the user name every member of a Pedigree cluster presents
// on its routes, with the shared route password (ClusterConfig.Password).
const RouteUser = "pedigree-route"

// MinRoutePasswordLen is the shortest route password accepted: the
// password is the cluster's membership credential (a server that presents
// it reads and writes everything, the streams included).
const MinRoutePasswordLen = 32

// ClusterConfig makes an embedded server a member of a NATS cluster with
// JetStream. Every member has the same Name and Password; routes between
// members authenticate with RouteUser and that password (checked in
// constant time by the server) and, with TLS, with certificates both ways.
type ClusterConfig struct {
	// Name is the cluster's name, the same on every member (no spaces).
	Name string
	// Listen is the route address, host:port (port 0 picks a free port).
	Listen string
	// Routes are the other members' route URLs, nats://host:port (a
	// member's own URL may be listed: the server skips it). Credentials
	// must not be in them; the server adds RouteUser and Password.
	Routes []string
	// Password is the shared route password, at least
	// MinRoutePasswordLen bytes.
	Password string
	// TLS, when not nil, is required on routes in both directions: its
	// certificate is presented when accepting and when dialing, and its
	// ClientCAs (required) check the peer's certificate either way.
	TLS *tls.Config
}

// apply validates c and sets the cluster options of opts.
func (c *ClusterConfig) apply(opts *server.Options) error {
	var errs []error
	if c.Name == "" || strings.ContainsFunc(c.Name, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) || len(c.Name) > 64 {
		errs = append(errs, fmt.Errorf("natsbus: cluster name %q: required, 1-64 printable characters without spaces", c.Name))
	}
	host, port, err := splitHostPort(c.Listen)
	if err != nil {
		errs = append(errs, fmt.Errorf("natsbus: cluster listen address %q: %w", c.Listen, err))
	}
	if len(c.Password) < MinRoutePasswordLen || len(c.Password) > 1024 {
		errs = append(errs, fmt.Errorf("natsbus: cluster route password: %d bytes, want %d to 1024", len(c.Password), MinRoutePasswordLen))
	}
	routes := make([]*url.URL, 0, len(c.Routes))
	for i, r := range c.Routes {
		u, err := parseRoute(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("natsbus: cluster route %d %q: %w", i+1, r, err))
			continue
		}
		u.User = url.UserPassword(RouteUser, c.Password)
		routes = append(routes, u)
	}
	if c.TLS != nil && (len(c.TLS.Certificates) == 0 || c.TLS.ClientCAs == nil) {
		errs = append(errs, errors.New("natsbus: cluster TLS needs a certificate and the CA that checks the other members' certificates"))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	opts.Cluster.Name = c.Name
	opts.Cluster.Host, opts.Cluster.Port = host, port
	if port == 0 {
		opts.Cluster.Port = server.RANDOM_PORT
	}
	opts.Cluster.Username, opts.Cluster.Password = RouteUser, c.Password
	opts.Cluster.AuthTimeout = 5
	opts.Routes = routes
	if c.TLS != nil {
		t := c.TLS.Clone()
		t.ClientAuth = tls.RequireAndVerifyClientCert
		t.RootCAs = t.ClientCAs
		t.MinVersion = max(t.MinVersion, tls.VersionTLS12)
		opts.Cluster.TLSConfig, opts.Cluster.TLSTimeout = t, 5
	}
	return nil
}

// parseRoute parses a route URL: nats://host:port, without credentials,
// path or query.
func parseRoute(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, err
	}
	switch {
	case u.Scheme != "nats" && u.Scheme != "nats-route" && u.Scheme != "tls":
		return nil, errors.New("want nats://host:port")
	case u.User != nil:
		return nil, errors.New("must not carry credentials (they come from the route credential file)")
	case u.Hostname() == "" || u.Port() == "":
		return nil, errors.New("want nats://host:port")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return nil, errors.New("want nats://host:port, nothing after the port")
	}
	if _, _, err := splitHostPort(u.Host); err != nil {
		return nil, err
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// checkServerName refuses a server name NATS would refuse or that would
// confuse JetStream's peer list.
func checkServerName(name string) error {
	if len(name) > 128 || strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
		return fmt.Errorf("natsbus: server name %q: want 1-128 printable characters without spaces", name)
	}
	return nil
}

// ClusterURL is the route URL other members list in their routes, or ""
// when the server is not in a cluster.
func (e *Embedded) ClusterURL() string {
	a := e.srv.ClusterAddr()
	if a == nil {
		return ""
	}
	return "nats://" + a.String()
}

// EnsureStreamsWhenReady is EnsureStreams, tried again until it succeeds
// or ctx ends: a cluster's JetStream answers only once a quorum of its
// members is up and has elected a leader.
func EnsureStreamsWhenReady(ctx context.Context, js jetstream.JetStream, lim StreamLimits, logger *slog.Logger) error {
	wait := 100 * time.Millisecond
	logged := time.Now()
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := EnsureStreams(actx, js, lim)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("natsbus: the cluster's JetStream did not answer: %w", err)
		}
		if time.Since(logged) > 10*time.Second {
			logger.Info("waiting for the cluster's JetStream (a quorum of its members must be up)", "err", err)
			logged = time.Now()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("natsbus: the cluster's JetStream did not answer: %w", err)
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
}
