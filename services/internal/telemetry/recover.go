package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Where a panic was recovered: the values of the "where" label of
// pedigree_panics_recovered_total.
const (
	WhereGRPCUnary  = "grpc_unary"
	WhereGRPCStream = "grpc_stream"
	WhereHTTP       = "http"
	WhereGRPCTap    = "grpc_tap"
)

// internalJSON is what an HTTP caller gets for a recovered panic: the
// shape of the gateway's errors (a google.rpc.Status), code 13 Internal.
const internalJSON = `{"code":13,"message":"internal error","details":[]}`

// maxPanicText bounds the panic value written to the log: a panic message
// is code's own words, but a careless one might quote input.
const maxPanicText = 256

// RecoverUnary turns a panic in a unary call (or in the interceptors after
// it) into codes.Internal with a generic message, logs it with its stack
// and counts it. It must be the first (outermost) interceptor.
func (t *Telemetry) RecoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if v := recover(); v != nil {
			t.Recovered(ctx, WhereGRPCUnary, info.FullMethod, v)
			resp, err = nil, status.Error(codes.Internal, "internal error")
		}
	}()
	return handler(ctx, req)
}

// RecoverStream is RecoverUnary for streaming calls.
func (t *Telemetry) RecoverStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			t.Recovered(ss.Context(), WhereGRPCStream, info.FullMethod, v)
			err = status.Error(codes.Internal, "internal error")
		}
	}()
	return handler(srv, ss)
}

// RecoverHTTP turns a panic in next into HTTP 500 with a generic JSON
// error, logs it with its stack and counts it. When the response had
// already begun (a stream), the connection is aborted instead, as net/http
// does. It must wrap every other middleware.
func (t *Telemetry) RecoverHTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &headerTracker{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // a deliberate abort, not a fault
			}
			t.Recovered(r.Context(), WhereHTTP, r.Method+" "+r.URL.Path, v)
			if tw.wrote {
				panic(http.ErrAbortHandler)
			}
			h := w.Header()
			for k := range h {
				delete(h, k)
			}
			h.Set("Content-Type", "application/json")
			h.Set("Connection", "close")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(internalJSON))
		}()
		next.ServeHTTP(tw, r)
	})
}

// Recovered logs and counts a panic recovered elsewhere (where: one of
// the Where constants): what was called, the panic value (bounded) and the
// stack; never the request.
func (t *Telemetry) Recovered(ctx context.Context, where, what string, v any) {
	t.panics.WithLabelValues(where).Inc()
	msg := fmt.Sprint(v)
	if len(msg) > maxPanicText {
		msg = msg[:maxPanicText] + "…"
	}
	t.logger.LogAttrs(ctx, slog.LevelError, "panic recovered",
		slog.String("where", where), slog.String("call", what),
		slog.String("panic", msg), slog.String("stack", string(debug.Stack())))
}

// headerTracker records whether the response has begun.
type headerTracker struct {
	http.ResponseWriter
	wrote bool
}

func (h *headerTracker) WriteHeader(code int) {
	if code >= 200 { // 1xx informational headers may precede the real ones
		h.wrote = true
	}
	h.ResponseWriter.WriteHeader(code)
}

func (h *headerTracker) Write(b []byte) (int, error) {
	h.wrote = true
	return h.ResponseWriter.Write(b)
}

// Flush lets streaming responses through.
func (h *headerTracker) Flush() {
	h.wrote = true
	if f, ok := h.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (h *headerTracker) Unwrap() http.ResponseWriter { return h.ResponseWriter }
