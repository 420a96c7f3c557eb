package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestReadinessReasonsStayOffThePublicPort(t *testing.T) {
	store, err := state.Open(t.TempDir(), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	authn, err := auth.NewAuthenticator(store)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("passthrough:///unused", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	notReady := func(context.Context) error { return errors.New("stream SCANS: internal detail") }
	var logs bytes.Buffer
	h, err := New(context.Background(), Config{
		Conn: conn, Ready: notReady, Authenticator: authn, MaxBody: 1 << 20, MaxBulkBody: 1 << 20,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	public := httptest.NewServer(h)
	defer public.Close()
	operator := httptest.NewServer(NewMetrics(http.NotFoundHandler(), notReady))
	defer operator.Close()

	for range 3 {
		if code, body := get(t, public.URL+"/readyz"); code != http.StatusServiceUnavailable || body != "not ready\n" {
			t.Fatalf("public /readyz = %d %q, want 503 \"not ready\" alone", code, body)
		}
	}
	if n := strings.Count(logs.String(), "internal detail"); n != 1 {
		t.Errorf("the reason was logged %d times for 3 probes, want once (rate-limited):\n%s", n, logs.String())
	}
	if code, body := get(t, operator.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "internal detail") {
		t.Errorf("operator /readyz = %d %q, want the reason", code, body)
	}
	if code, _ := get(t, public.URL+"/metrics"); code != http.StatusNotFound {
		t.Errorf("public /metrics = %d, want 404", code)
	}
}
