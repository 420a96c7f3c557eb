package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// panickyHealth is a health service whose calls panic unless asked about
// the service "ok".
type panickyHealth struct {
	healthpb.UnimplementedHealthServer
}

func (panickyHealth) Check(_ context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if req.GetService() == "ok" {
		return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
	}
	var known []int
	return nil, status.Errorf(codes.Internal, "unreachable %d", known[len(req.GetService())]) // index out of range: a runtime panic, as a bug would raise
}

func (panickyHealth) Watch(*healthpb.HealthCheckRequest, healthpb.Health_WatchServer) error {
	panic("stream handler fault")
}

// panicsRecovered reads pedigree_panics_recovered_total{where}.
func panicsRecovered(t *testing.T, tel *Telemetry, where string) float64 {
	t.Helper()
	mfs, err := tel.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "pedigree_panics_recovered_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "where" && l.GetValue() == where {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestGRPCPanicsBecomeInternalAndTheServerKeepsServing(t *testing.T) {
	var logs bytes.Buffer
	tel := New(slog.New(slog.NewJSONHandler(&logs, nil)))
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(tel.RecoverUnary, tel.UnaryInterceptor),
		grpc.ChainStreamInterceptor(tel.RecoverStream, tel.StreamInterceptor),
	)
	healthpb.RegisterHealthServer(srv, panickyHealth{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	defer func() {
		srv.Stop()
		<-served
	}()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for i := range 2 {
		_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "boom"})
		if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != "internal error" {
			t.Fatalf("call %d of a panicking unary handler: %v, want Internal \"internal error\"", i, err)
		}
	}
	if r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "ok"}); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("the server after two panics: %v %v", r, err)
	}
	w, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); status.Code(err) != codes.Internal {
		t.Fatalf("panicking stream handler: %v, want Internal", err)
	}
	if got := panicsRecovered(t, tel, WhereGRPCUnary); got != 2 {
		t.Errorf("unary panics counted %v, want 2", got)
	}
	if got := panicsRecovered(t, tel, WhereGRPCStream); got != 1 {
		t.Errorf("stream panics counted %v, want 1", got)
	}
	if !strings.Contains(logs.String(), `"msg":"panic recovered"`) || !strings.Contains(logs.String(), "panickyHealth") {
		t.Errorf("the log has no panic line with a stack naming the handler:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), `"boom"`) {
		t.Errorf("the log quotes the request:\n%s", logs.String())
	}
}

func TestHTTPPanicsBecome500AndTheServerKeepsServing(t *testing.T) {
	tel := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	mux := http.NewServeMux()
	mux.HandleFunc("/boom", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Half-Done", "1")
		panic("handler fault")
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		panic("fault mid-stream")
	})
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: tel.RecoverHTTP(tel.HTTPMiddleware(mux)), ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Close()
	base := "http://" + lis.Addr().String()

	resp, err := http.Get(base + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if resp.StatusCode != http.StatusInternalServerError || json.Unmarshal(body, &st) != nil || st.Code != 13 || st.Message != "internal error" {
		t.Fatalf("panicking handler: %d %s, want 500 with the gateway's Internal error", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Half-Done") != "" {
		t.Error("the 500 carries headers the failed handler set")
	}
	// A response already begun cannot become a 500: the connection is
	// cut, so the client sees a body that ends early.
	if resp, err := http.Get(base + "/stream"); err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Error("mid-stream panic: the response ended as if complete")
		}
	}
	resp, err = http.Get(base + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Fatalf("the server after panics: %d %s", resp.StatusCode, body)
	}
	if got := panicsRecovered(t, tel, WhereHTTP); got != 2 {
		t.Errorf("HTTP panics counted %v, want 2", got)
	}
}
