package telemetry

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Telemetry holds a node's metrics and logger.
type Telemetry struct {
	// Registry collects every metric of the node.
	Registry *prometheus.Registry
	logger   *slog.Logger
	grpcReqs *prometheus.HistogramVec
	httpReqs *prometheus.HistogramVec
	panics   *prometheus.CounterVec
}

// New returns Telemetry with Go runtime and process collectors registered.
func New(logger *slog.Logger) *Telemetry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	t := &Telemetry{
		Registry: reg,
		logger:   logger,
		grpcReqs: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pedigree_grpc_request_duration_seconds",
			Help:    "Latency of gRPC calls by method and status code.",
			Buckets: latencyBuckets,
		}, []string{"method", "code"}),
		httpReqs: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pedigree_http_request_duration_seconds",
			Help:    "Latency of HTTP requests by route class and status.",
			Buckets: latencyBuckets,
		}, []string{"method", "status"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pedigree_panics_recovered_total",
			Help: "Panics recovered while serving a request, by where (grpc_unary, grpc_stream, http).",
		}, []string{"where"}),
	}
	reg.MustRegister(t.grpcReqs, t.httpReqs, t.panics)
	return t
}

// latencyBuckets span 100 µs to 10 s: verify answers in well under a
// millisecond, a synchronous dispense in tens of milliseconds.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}

// MetricsHandler serves the registry in the Prometheus text format.
func (t *Telemetry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(t.Registry, promhttp.HandlerOpts{Registry: t.Registry})
}

// UnaryInterceptor times and logs unary gRPC calls.
func (t *Telemetry) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	t.observeGRPC(ctx, info.FullMethod, start, err)
	return resp, err
}

// StreamInterceptor times and logs streaming gRPC calls.
func (t *Telemetry) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	err := handler(srv, ss)
	t.observeGRPC(ss.Context(), info.FullMethod, start, err)
	return err
}

func (t *Telemetry) observeGRPC(ctx context.Context, method string, start time.Time, err error) {
	d := time.Since(start)
	code := status.Code(err)
	t.grpcReqs.WithLabelValues(method, code.String()).Observe(d.Seconds())
	level := slog.LevelDebug
	if err != nil && code != codes.ResourceExhausted { // a flood refused must not flood the log
		level = slog.LevelInfo
	}
	if t.logger.Enabled(ctx, level) { // spares the attributes of a line not written
		t.logger.LogAttrs(ctx, level, "grpc", slog.String("method", method), slog.String("code", code.String()), slog.Duration("latency", d))
	}
}

// HTTPMiddleware logs and times every HTTP request.
func (t *Telemetry) HTTPMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		d := time.Since(start)
		t.httpReqs.WithLabelValues(r.Method, strconv.Itoa(rec.status)).Observe(d.Seconds())
		level := slog.LevelInfo
		if rec.status == http.StatusTooManyRequests { // a flood refused must not flood the log
			level = slog.LevelDebug
		}
		t.logger.LogAttrs(r.Context(), level, "http",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("latency", d))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Flush lets streaming responses (the live alert feed) through.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
