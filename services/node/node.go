package node

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/test/bufconn"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/gs1/epc"
	"github.com/pedigree-project/pedigree/ledger"
	"github.com/pedigree-project/pedigree/ledger/witness"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/capture"
	"github.com/pedigree-project/pedigree/services/internal/console"
	"github.com/pedigree-project/pedigree/services/internal/edge"
	"github.com/pedigree-project/pedigree/services/internal/epcisapi"
	"github.com/pedigree-project/pedigree/services/internal/gateway"
	"github.com/pedigree-project/pedigree/services/internal/ingest"
	"github.com/pedigree-project/pedigree/services/internal/ledgersvc"
	"github.com/pedigree-project/pedigree/services/internal/natsauth"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
	"github.com/pedigree-project/pedigree/services/internal/provenance"
	"github.com/pedigree-project/pedigree/services/internal/registry"
	"github.com/pedigree-project/pedigree/services/internal/resolver"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/services/internal/submit"
	"github.com/pedigree-project/pedigree/services/internal/telemetry"
	"github.com/pedigree-project/pedigree/services/internal/verification"
	"github.com/pedigree-project/pedigree/services/internal/writer"
	"github.com/pedigree-project/pedigree/subjects"
)

// Node is a running Pedigree node.
type Node struct {
	cfg    Config
	logger *slog.Logger
	tel    *telemetry.Telemetry

	store    *state.Store
	ledger   *ledger.Log
	bg       sync.WaitGroup
	stopBg   context.CancelFunc
	embedded *natsbus.Embedded
	natsAuth *natsauth.Embedded
	callout  *natsauth.Callout
	natsSys  *nats.Conn // the cluster's system account, to close revoked connections
	nc       *nats.Conn
	js       jetstream.JetStream

	grpcServer *grpc.Server
	grpcLis    net.Listener
	health     *health.Server
	gwServer   *grpc.Server // the gateway's in-process gRPC server
	gwLis      *bufconn.Listener
	gwConn     *grpc.ClientConn
	httpServer *http.Server
	httpLis    net.Listener
	metricsSrv *http.Server
	metricsLis net.Listener
	authn      *auth.Authenticator
	limits     *edge.Limits
	tls        *tls.Config // nil: plaintext

	nodeKey      ed25519.PrivateKey
	nodeKeyID    string
	nodeName     string
	genesisKey   ed25519.PublicKey
	pipeline     *ingest.Pipeline
	checkedEPCIS *envelope.CheckedEPCIS // captured events checked when prepared, for the pipeline
	epcisCapture *epcisapi.Handler      // the EPCIS capture interface, once HTTP is up
	cosigner     *witness.Collector
	replica      *witness.Replica // answers the peers' add-checkpoint requests
	cosignVKey   string
	submitter    *submit.Submitter
	ingestErr    atomic.Pointer[error]
	ingestDone   chan struct{} // closed when the pipeline has stopped
	startLag     startLag
	retention    *retention
	stopRetain   context.CancelFunc

	now            func() time.Time
	adminTokenPath string
	gcpTable       *epc.Table // Config.GCPTable; nil without one
	stopping       atomic.Bool
	serveErr       chan error
}

// Start brings a node up. The caller must call Shutdown, or cancel the
// context given to Run.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (n *Node, err error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("node: config: %w", err)
	}
	if logger == nil {
		return nil, errors.New("node: nil logger")
	}
	if cfg.GenesisNode != "" && cfg.GenesisNode != cfg.NodeName {
		cfg.Join = true
	}
	n = &Node{cfg: cfg, logger: logger, tel: telemetry.New(logger), serveErr: make(chan error, 4), now: cfg.now}
	if n.now == nil {
		n.now = time.Now
	}
	started := n // a failed Start returns a nil *Node
	defer func() {
		if err != nil {
			started.close(context.Background())
		}
	}()
	if n.gcpTable, err = loadGCPTable(cfg.GCPTable); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("node: data directory: %w", err)
	}
	popts := ledger.PebbleOptions()
	popts.Logger = pebbleLogger{logger.With("component", "pebble")}
	if n.store, err = state.Open(filepath.Join(cfg.DataDir, "pebble"), popts); err != nil {
		return nil, err
	}
	n.tel.RegisterPebble(n.store.DB().Metrics)
	// The node holds the data's lock now, so no backup is staging: what
	// one cut off by a crash left behind goes.
	removeBackupStages(cfg.DataDir, n.logger)
	if err := n.openLedger(); err != nil {
		return nil, err
	}
	if err := n.loadNodeKey(); err != nil {
		return nil, err
	}
	if err := n.startNATS(ctx); err != nil {
		return nil, err
	}
	n.noteCatchUpTarget(ctx)
	if err := n.checkLedgerStart(ctx); err != nil {
		return nil, err
	}
	if err := n.followGenesis(ctx); err != nil {
		return nil, err
	}
	if err := n.startBackground(); err != nil {
		return nil, err
	}
	n.startRetention()
	if err := n.bootstrapAdmin(ctx); err != nil {
		return nil, err
	}
	if err := n.startGRPC(); err != nil {
		return nil, err
	}
	if err := n.startHTTP(ctx); err != nil {
		return nil, err
	}
	logger.Info("pedigree node serving", "grpc", n.GRPCAddr(), "http", n.HTTPAddr(), "metrics", n.MetricsAddr(),
		"tls", n.tls != nil, "nats", n.NATSURL(), "data", cfg.DataDir)
	return n, nil
}

func (n *Node) startGRPC() error {
	var err error
	if n.authn, err = auth.NewAuthenticator(n.store); err != nil {
		return err
	}
	n.authn.Now = n.now
	if n.limits, err = edge.NewLimits(n.cfg.Edge, n.tel.Registry); err != nil {
		return err
	}
	if n.tls, err = edge.ServerTLS(n.cfg.Edge); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	e := n.cfg.Edge
	opts := []grpc.ServerOption{
		// Calls run on reused goroutines whose stacks have grown already,
		// rather than on a new goroutine per call that grows its stack
		// again (runtime.newstack was a quarter of a verification's CPU).
		// With every worker busy, a call gets its own goroutine as before.
		grpc.NumStreamWorkers(streamWorkers()),
		grpc.MaxRecvMsgSize(int(e.MaxBulkBody)),
		grpc.MaxConcurrentStreams(e.GRPCMaxStreams),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: e.GRPCKeepaliveMinTime, PermitWithoutStream: e.GRPCKeepalivePermitWithoutStream}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: e.GRPCMaxConnectionIdle, Time: e.GRPCKeepaliveTime, Timeout: e.GRPCKeepaliveTimeout}),
		grpc.ConnectionTimeout(e.GRPCConnectionTimeout),
		// A call needing a token is refused before its message is read.
		grpc.InTapHandle(edge.AuthTap(n.authn, func(ctx context.Context, method string, v any) {
			n.tel.Recovered(ctx, telemetry.WhereGRPCTap, method, v)
		})),
		// Recovery first, so that no panic escapes the other interceptors.
		grpc.ChainUnaryInterceptor(n.tel.RecoverUnary, n.tel.UnaryInterceptor, n.authn.UnaryInterceptor, n.limits.UnaryInterceptor(true), n.sequenceUnary),
		grpc.ChainStreamInterceptor(n.tel.RecoverStream, n.tel.StreamInterceptor, n.authn.StreamInterceptor, n.limits.StreamInterceptor(true), n.sequenceStream),
	}
	if n.tls != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(n.tls.Clone())))
	}
	n.grpcServer = grpc.NewServer(opts...)
	// The gateway reaches the services through a server of its own, in
	// memory: whatever TLS the public port wants, and without the budgets,
	// which the HTTP front has charged before reading each body. Tokens
	// are still checked, and bulk calls still capped, here.
	n.gwServer = grpc.NewServer(
		grpc.NumStreamWorkers(streamWorkers()),
		grpc.MaxRecvMsgSize(int(e.MaxBulkBody)),
		grpc.ChainUnaryInterceptor(n.tel.RecoverUnary, n.tel.UnaryInterceptor, n.authn.UnaryInterceptor, n.limits.UnaryInterceptor(false), n.sequenceUnary),
		grpc.ChainStreamInterceptor(n.tel.RecoverStream, n.tel.StreamInterceptor, n.authn.StreamInterceptor, n.limits.StreamInterceptor(false), n.sequenceStream),
	)
	n.health = health.NewServer()
	healthpb.RegisterHealthServer(n.grpcServer, n.health)
	reflection.Register(n.grpcServer)
	w, err := writer.New(n.store, n.submitter, n.logger)
	if err != nil {
		return err
	}
	w.Now = n.now
	registrySvc, err := registry.New(w, n.ledger)
	if err != nil {
		return err
	}
	verificationSvc, err := verification.New(w)
	if err != nil {
		return err
	}
	captureSvc, err := capture.New(w)
	if err != nil {
		return err
	}
	provenanceSvc, err := provenance.New(w, n.ledger, n.pipeline.SubscribeAlerts)
	if err != nil {
		return err
	}
	provenanceSvc.Checkpoints = n.cosigner
	ledgerSvc, err := ledgersvc.New(n.ledger, n.logger)
	if err != nil {
		return err
	}
	ledgerSvc.Checkpoints = n.cosigner
	for _, s := range []*grpc.Server{n.grpcServer, n.gwServer} {
		pb.RegisterRegistryServiceServer(s, registrySvc)
		pb.RegisterVerificationServiceServer(s, verificationSvc)
		pb.RegisterCaptureServiceServer(s, captureSvc)
		pb.RegisterProvenanceServiceServer(s, provenanceSvc)
		pb.RegisterLedgerServiceServer(s, ledgerSvc)
	}
	for name := range n.grpcServer.GetServiceInfo() {
		n.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	n.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)

	if n.grpcLis, err = net.Listen("tcp", n.cfg.GRPCAddr); err != nil {
		return fmt.Errorf("node: gRPC listen on %s: %w", n.cfg.GRPCAddr, err)
	}
	n.gwLis = bufconn.Listen(gatewayBuffer)
	go func() { n.serveErr <- n.grpcServer.Serve(n.grpcLis) }()
	go func() { n.serveErr <- n.gwServer.Serve(n.gwLis) }()
	return nil
}

// gatewayBuffer is the in-memory buffer of each direction of each of the
// gateway's connections to its gRPC server.
const gatewayBuffer = 1 << 20

// streamWorkers is the number of goroutines the gRPC server keeps for
// calls: enough for the bursts of calls in flight at once that a busy
// node sees (with 8 on two cores, a quarter of the verifications of
// `pedigree bench` still started a goroutine); an idle worker costs only
// its stack.
func streamWorkers() uint32 { return uint32(max(64, 8*runtime.GOMAXPROCS(0))) }

func (n *Node) startHTTP(ctx context.Context) error {
	var err error
	n.gwConn, err = grpc.NewClient("passthrough:///gateway",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return n.gwLis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("node: gateway client: %w", err)
	}
	e := n.cfg.Edge
	handler, err := gateway.New(ctx, gateway.Config{
		Conn:          n.gwConn,
		Ready:         n.Ready,
		Authenticator: n.authn,
		Limits:        n.limits,
		MaxBody:       e.MaxBody,
		MaxBulkBody:   e.MaxBulkBody,
		Middleware:    n.tel.HTTPMiddleware,
		Logger:        n.logger,
	})
	if err != nil {
		return err
	}
	res, err := resolver.New(n.cfg.Resolver, n.store, n.now, n.tel.Registry, n.logger)
	if err != nil {
		return err
	}
	handler = console.Wrap(handler) // the web console's pages under /ui/; its data comes from /v1/
	handler = res.Wrap(handler)     // outside the request log: no patient's scan is logged
	query, err := n.epcisQuery()
	if err != nil {
		return err
	}
	if handler, err = n.wrapEPCIS(handler, query); err != nil {
		return err
	}
	handler = n.cosignHandler(handler)
	if n.httpLis, err = net.Listen("tcp", n.cfg.HTTPAddr); err != nil {
		return fmt.Errorf("node: HTTP listen on %s: %w", n.cfg.HTTPAddr, err)
	}
	n.httpServer = n.newHTTPServer(handler)
	n.httpServer.RegisterOnShutdown(query.Shutdown)
	if n.tls != nil {
		n.httpServer.TLSConfig = n.tls.Clone()
	}
	n.serveHTTP(n.httpServer, n.httpLis, n.tls != nil)
	if n.cfg.MetricsAddr == "" {
		return nil
	}
	if n.metricsLis, err = net.Listen("tcp", n.cfg.MetricsAddr); err != nil {
		return fmt.Errorf("node: metrics listen on %s: %w", n.cfg.MetricsAddr, err)
	}
	n.metricsSrv = n.newHTTPServer(n.operatorHandler(gateway.NewMetrics(n.tel.MetricsHandler(), n.Ready)))
	n.serveHTTP(n.metricsSrv, n.metricsLis, false)
	return nil
}

// newHTTPServer returns a server of h, panics recovered, with the edge's
// timeouts and header bound.
func (n *Node) newHTTPServer(h http.Handler) *http.Server {
	e := n.cfg.Edge
	return &http.Server{
		Handler:           n.tel.RecoverHTTP(h),
		ReadHeaderTimeout: e.HTTPReadHeaderTimeout,
		ReadTimeout:       e.HTTPReadTimeout,
		WriteTimeout:      e.HTTPWriteTimeout,
		IdleTimeout:       e.HTTPIdleTimeout,
		MaxHeaderBytes:    e.HTTPMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(n.logger.Handler(), slog.LevelWarn),
	}
}

// serveHTTP serves srv on lis (with srv.TLSConfig when useTLS) until it
// is shut down.
func (n *Node) serveHTTP(srv *http.Server, lis net.Listener, useTLS bool) {
	go func() {
		var err error
		if useTLS {
			err = srv.ServeTLS(lis, "", "")
		} else {
			err = srv.Serve(lis)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			n.serveErr <- err
		}
	}()
}

// Ready returns nil when NATS, the streams and Pebble answer, the ledger
// ingests, and the node has applied what the stream held when it started.
func (n *Node) Ready(ctx context.Context) error {
	if n.stopping.Load() {
		return errors.New("shutting down")
	}
	if n.embedded != nil && !n.embedded.Ready() {
		return errors.New("embedded NATS server is not running")
	}
	if n.nc.Status() != nats.CONNECTED {
		return fmt.Errorf("NATS connection is %s", n.nc.Status())
	}
	for _, name := range []string{subjects.ScanStream, subjects.DeadLetterStream} {
		if _, err := n.js.Stream(ctx, name); err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
	}
	if perr := n.ingestErr.Load(); perr != nil {
		return fmt.Errorf("ledger ingest stopped: %w", *perr)
	}
	if n.pipeline != nil {
		if err := n.pipeline.Stalled(); err != nil {
			return err
		}
		if err := n.catchingUp(); err != nil {
			return err
		}
	}
	if _, err := n.store.Party(n.cfg.AdminGLN); err != nil {
		return fmt.Errorf("pebble: %w", err)
	}
	return nil
}

// GRPCAddr is the address the gRPC server listens on.
func (n *Node) GRPCAddr() string { return n.grpcLis.Addr().String() }

// HTTPAddr is the address the HTTP server listens on.
func (n *Node) HTTPAddr() string { return n.httpLis.Addr().String() }

// MetricsAddr is the address of the operator listener (/metrics, /readyz
// with the reason), or "" when it is off.
func (n *Node) MetricsAddr() string {
	if n.metricsLis == nil {
		return ""
	}
	return n.metricsLis.Addr().String()
}

// NATSURL is the URL scanners publish to, or "" when the embedded server has
// no client port.
func (n *Node) NATSURL() string {
	if n.embedded != nil {
		return n.embedded.ClientURL()
	}
	return n.cfg.NATSURL
}

// NodeKey returns the public key this node signs its notices (outcomes and
// alerts on NATS) and API-submitted envelopes with; it is also in
// DATA/keys/node.pub.
func (n *Node) NodeKey() ed25519.PublicKey { return n.nodeKey.Public().(ed25519.PublicKey) }

// AdminTokenPath is the file holding the admin party's API token.
func (n *Node) AdminTokenPath() string { return n.adminTokenPath }

// Run serves until ctx ends or a server fails, then shuts down.
func (n *Node) Run(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-n.serveErr:
		err = fmt.Errorf("node: server stopped: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
	defer cancel()
	return errors.Join(err, n.Shutdown(sctx))
}

// Shutdown stops taking requests, lets running ones finish until ctx ends,
// drains NATS and closes Pebble.
func (n *Node) Shutdown(ctx context.Context) error {
	n.stopping.Store(true)
	n.logger.Info("pedigree node shutting down")
	return n.close(ctx)
}

func (n *Node) close(ctx context.Context) error {
	var errs []error
	if n.health != nil {
		n.health.Shutdown()
	}
	for name, srv := range map[string]*http.Server{"HTTP": n.httpServer, "metrics": n.metricsSrv} {
		if srv != nil {
			if err := srv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("node: %s shutdown: %w", name, err))
			}
		}
	}
	for _, srv := range []*grpc.Server{n.grpcServer, n.gwServer} {
		if srv == nil {
			continue
		}
		stopped := make(chan struct{})
		go func() { srv.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-ctx.Done():
			srv.Stop()
			<-stopped
		}
	}
	if n.gwConn != nil {
		_ = n.gwConn.Close()
	}
	if n.stopRetain != nil {
		n.stopRetain()
	}
	if n.stopBg != nil {
		n.stopBg()
		n.bg.Wait()
	}
	if n.nc != nil {
		// A connection still trying the cluster's members has nothing
		// it could flush: every write waits for its acknowledgement.
		if err := n.nc.FlushTimeout(time.Second); err != nil && !n.nc.IsClosed() && !n.nc.IsReconnecting() {
			errs = append(errs, fmt.Errorf("node: NATS flush: %w", err))
		}
		n.nc.Close()
	}
	if n.natsSys != nil {
		n.natsSys.Close()
	}
	if n.embedded != nil {
		n.embedded.Shutdown()
	}
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
