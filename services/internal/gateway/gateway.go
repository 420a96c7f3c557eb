package gateway

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/edge"
	gw "github.com/pedigree-project/pedigree/services/internal/gateway/gen/pedigree/v1"
)

// OpenAPI is the OpenAPI (Swagger 2.0) document generated from the protos.
//
//go:embed apidocs/pedigree.swagger.json
var OpenAPI []byte

// Config is what the HTTP front needs.
type Config struct {
	// Conn reaches the node's gRPC server.
	Conn *grpc.ClientConn
	// Ready reports nil when the node can serve (NATS, streams, Pebble up).
	Ready func(ctx context.Context) error
	// Authenticator resolves bearer tokens before a request's body is read
	// (the gRPC server's own, so both agree).
	Authenticator *auth.Authenticator
	// Limits are the budgets charged before a request's body is read; nil
	// charges nothing.
	Limits *edge.Limits
	// MaxBody bounds REST request bodies; MaxBulkBody those of
	// commissioning requests (edge.Config).
	MaxBody, MaxBulkBody int64
	// Middleware wraps the whole handler (request logging).
	Middleware func(http.Handler) http.Handler
	// Logger receives why the node is not ready (at most every
	// readyLogInterval); /readyz itself says only "not ready".
	Logger *slog.Logger
}

// readyLogInterval spaces the log lines of failing readiness checks, which
// probes make every few seconds.
const readyLogInterval = 30 * time.Second

// New returns the node's public HTTP handler: REST under /v1/, /healthz,
// /readyz and /openapi.json.
func New(ctx context.Context, cfg Config) (http.Handler, error) {
	if cfg.Conn == nil || cfg.Ready == nil || cfg.Authenticator == nil || cfg.Logger == nil {
		return nil, errors.New("gateway: Conn, Ready, Authenticator and Logger are required")
	}
	if cfg.MaxBody <= 0 || cfg.MaxBulkBody < cfg.MaxBody {
		return nil, fmt.Errorf("gateway: body limits %d and %d: want 0 < MaxBody <= MaxBulkBody", cfg.MaxBody, cfg.MaxBulkBody)
	}
	g := &guard{cfg: cfg, routes: newRoutes(cfg.Authenticator.IsPublic)}
	g.mux = runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{EmitDefaultValues: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
		// Lots may contain '/' (GS1 set 82): clients send it as %2F.
		runtime.WithUnescapingMode(runtime.UnescapingModeAllCharacters),
		// A form POST to a GET route would be served as that GET: one more
		// way in than the routes the guard knows.
		runtime.WithDisablePathLengthFallback(),
		runtime.WithMiddlewares(g.middleware),
		runtime.WithErrorHandler(errorHandler),
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
	)
	// The gateway tries the most recently registered routes first, so the
	// custom-method routes (…/batches/{lot}:trace) come after the plain
	// resource routes they would otherwise be read as (…/batches/{lot}).
	for _, svc := range []struct {
		name     string
		register func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error
	}{
		{"registry", gw.RegisterRegistryServiceHandler},
		{"verification", gw.RegisterVerificationServiceHandler},
		{"capture", gw.RegisterCaptureServiceHandler},
		{"ledger", gw.RegisterLedgerServiceHandler},
		{"provenance", gw.RegisterProvenanceServiceHandler},
	} {
		if err := svc.register(ctx, g.mux, cfg.Conn); err != nil {
			return nil, fmt.Errorf("gateway: register %s: %w", svc.name, err)
		}
	}
	if err := g.handleSerials(); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", g.mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	notReady := &rate.Sometimes{Interval: readyLogInterval}
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := checkReady(r.Context(), cfg.Ready); err != nil {
			notReady.Do(func() { cfg.Logger.Warn("not ready", "err", err) })
			writeText(w, http.StatusServiceUnavailable, "not ready\n")
			return
		}
		writeText(w, http.StatusOK, "ready\n")
	})
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(OpenAPI)
	})
	var h http.Handler = mux
	if cfg.Middleware != nil {
		h = cfg.Middleware(h)
	}
	return h, nil
}

// NewMetrics returns the handler of the node's operator listener:
// Prometheus metrics at /metrics and readiness with its reason at /readyz.
func NewMetrics(metrics http.Handler, ready func(ctx context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := checkReady(r.Context(), ready); err != nil {
			writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n")
			return
		}
		writeText(w, http.StatusOK, "ready\n")
	})
	return mux
}

func checkReady(ctx context.Context, ready func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return ready(ctx)
}

// outgoingHeader sends gRPC header metadata as Grpc-Metadata-<key>
// headers, as the gateway does by default, except retry-after, which
// becomes the standard Retry-After header of a 429.
func outgoingHeader(key string) (string, bool) {
	if key == edge.RetryAfterHeader {
		return "Retry-After", true
	}
	return runtime.MetadataHeaderPrefix + key, true
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}
