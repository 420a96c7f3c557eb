package natsbus

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/pedigree-project/pedigree/subjects"
)

// EmbeddedConfig configures an embedded NATS server.
type EmbeddedConfig struct {
	// StoreDir holds JetStream's file store.
	StoreDir string
	// Listen is the client address ("127.0.0.1:4222"; port 0 picks a free
	// port). Empty means no client port: only in-process connections.
	Listen string
	// SyncInterval is how often JetStream fsyncs its files; 0 means the
	// server default (2 minutes). docs/operations.md says what a power loss
	// costs the stream then and how the node recovers it.
	SyncInterval time.Duration
	// SyncAlways fsyncs every write (slowest, safest).
	SyncAlways bool
	// MaxPayload is the largest message in bytes; 0 means DefaultMaxPayload.
	MaxPayload int32
	// MaxSubscriptions bounds the subscriptions of one connection; 0
	// means DefaultMaxSubscriptions.
	MaxSubscriptions int
	// MaxPending bounds the bytes queued for one slow consumer before the
	// server closes it; 0 means DefaultMaxPending.
	MaxPending int64
	// Auth decides every client connection (required: the server takes no
	// anonymous clients). It is called with a nonce presented to every
	// client, so that NKey signatures can be checked.
	Auth server.Authentication
	// TLS, when not nil, is required of every client on the client port
	// (in-process connections need none).
	TLS *tls.Config
	// ServerName names the server: unique within a cluster, where
	// JetStream knows its peers by name. Empty: "pedigree".
	ServerName string
	// Cluster, when not nil, makes the server a member of a JetStream
	// cluster (cluster.go).
	Cluster *ClusterConfig
}

// Embedded is a running embedded NATS server with JetStream.
type Embedded struct {
	srv *server.Server
}

// Defaults of EmbeddedConfig: a write is at most subjects.DefaultMaxMsgSize, and a
// dead letter adds its reason to one.
const (
	DefaultMaxPayload       = subjects.DefaultMaxMsgSize + 64<<10
	DefaultMaxSubscriptions = 1024
	DefaultMaxPending       = 16 << 20
)

// StartEmbedded starts a NATS server with JetStream in this process and
// waits until it accepts connections.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig, logger *slog.Logger) (*Embedded, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("natsbus: embedded server needs a store directory")
	}
	if cfg.Auth == nil {
		return nil, errors.New("natsbus: embedded server needs an authenticator")
	}
	name := cmp.Or(cfg.ServerName, "pedigree")
	if err := checkServerName(name); err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName:                 name,
		JetStream:                  true,
		StoreDir:                   filepath.Clean(cfg.StoreDir),
		NoSigs:                     true,
		MaxPayload:                 cmp.Or(cfg.MaxPayload, DefaultMaxPayload),
		MaxSubs:                    cmp.Or(cfg.MaxSubscriptions, DefaultMaxSubscriptions),
		MaxPending:                 cmp.Or(cfg.MaxPending, DefaultMaxPending),
		SyncInterval:               cfg.SyncInterval,
		SyncAlways:                 cfg.SyncAlways,
		CustomClientAuthentication: cfg.Auth,
		AlwaysEnableNonce:          true,
		NoAuthUser:                 "",
	}
	if cfg.TLS != nil {
		opts.TLSConfig, opts.TLS, opts.TLSVerify = cfg.TLS, true, cfg.TLS.ClientAuth == tls.RequireAndVerifyClientCert
		opts.TLSTimeout = 5
	}
	if cfg.Listen == "" {
		opts.DontListen = true
	} else {
		host, port, err := splitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("natsbus: listen address %q: %w", cfg.Listen, err)
		}
		opts.Host, opts.Port = host, port
		if port == 0 {
			opts.Port = server.RANDOM_PORT
		}
	}
	if cfg.Cluster != nil {
		if err := cfg.Cluster.apply(opts); err != nil {
			return nil, err
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsbus: new embedded server: %w", err)
	}
	srv.SetLoggerV2(slogAdapter{logger.With("component", "nats")}, false, false, false)
	go srv.Start()
	deadline := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		deadline = time.Until(d)
	}
	if !srv.ReadyForConnections(deadline) {
		srv.Shutdown()
		return nil, errors.New("natsbus: embedded server not ready for connections")
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		return nil, errors.New("natsbus: JetStream did not start (the log says why)")
	}
	return &Embedded{srv: srv}, nil
}

// Connect opens an in-process client connection to the embedded server.
func (e *Embedded) Connect(name string, opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.Name(name), nats.InProcessServer(e.srv)}, opts...)
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("natsbus: in-process connect: %w", err)
	}
	return nc, nil
}

// Server is the running server (for connection listings and disconnects).
func (e *Embedded) Server() *server.Server { return e.srv }

// ClientURL is the URL external clients use, or "" when the server has no
// client port.
func (e *Embedded) ClientURL() string {
	if e.srv.Addr() == nil {
		return ""
	}
	return e.srv.ClientURL()
}

// Ready reports whether the server and JetStream are up.
func (e *Embedded) Ready() bool {
	return e.srv.Running() && e.srv.JetStreamEnabled()
}

// Shutdown stops the server, flushing JetStream's files, and waits until it
// is down.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	return host, port, nil
}

// slogAdapter routes the NATS server's log lines into slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Noticef(format string, v ...any) { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Tracef(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
