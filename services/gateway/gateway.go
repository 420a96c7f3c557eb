package gateway

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
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
	// Metrics serves /metrics.
	Metrics http.Handler
	// Middleware wraps the whole handler (request logging).
	Middleware func(http.Handler) http.Handler
}

// New returns the node's HTTP handler.
func New(ctx context.Context, cfg Config) (http.Handler, error) {
	if cfg.Conn == nil || cfg.Ready == nil || cfg.Metrics == nil {
		return nil, errors.New("gateway: Conn, Ready and Metrics are required")
	}
	gw := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{EmitDefaultValues: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
		// Lots may contain '/' (GS1 set 82): clients send it as %2F.
		runtime.WithUnescapingMode(runtime.UnescapingModeAllCharacters),
	)
	// The gateway tries the most recently registered routes first, so the
	// custom-method routes (…/batches/{lot}:trace) come after the plain
	// resource routes they would otherwise be read as (…/batches/{lot}).
	for _, svc := range []struct {
		name     string
		register func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error
	}{
		{"registry", pb.RegisterRegistryServiceHandler},
		{"verification", pb.RegisterVerificationServiceHandler},
		{"capture", pb.RegisterCaptureServiceHandler},
		{"ledger", pb.RegisterLedgerServiceHandler},
		{"provenance", pb.RegisterProvenanceServiceHandler},
	} {
		if err := svc.register(ctx, gw, cfg.Conn); err != nil {
			return nil, fmt.Errorf("gateway: register %s: %w", svc.name, err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", gw)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := cfg.Ready(ctx); err != nil {
			writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n")
			return
		}
		writeText(w, http.StatusOK, "ready\n")
	})
	mux.Handle("GET /metrics", cfg.Metrics)
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

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}
