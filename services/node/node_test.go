package node

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

func testConfig(dir string) Config {
	cfg := DefaultConfig()
	cfg.DataDir = dir
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.NATSListen = "127.0.0.1:0"
	cfg.MetricsAddr = "127.0.0.1:0"
	return cfg
}

func startNode(t testing.TB, cfg Config) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return n
}

func shutdown(t testing.TB, n *Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func httpGet(t *testing.T, url string, header http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestNodeServesHealthReflectionHTTPAndRestartsWithSameToken(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, testConfig(dir))

	tokenPath := filepath.Join(dir, AdminTokenFile)
	info, err := os.Stat(tokenPath)
	if err != nil {
		t.Fatalf("admin token file: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("admin token file mode = %o, want 600", perm)
	}
	tokenBytes, _ := os.ReadFile(tokenPath)
	token := strings.TrimSpace(string(tokenBytes))
	if !strings.HasPrefix(token, "pdg_") || len(token) < 40 {
		t.Fatalf("admin token %q does not look like a token", token)
	}
	if n.AdminTokenPath() != tokenPath {
		t.Errorf("AdminTokenPath = %q, want %q", n.AdminTokenPath(), tokenPath)
	}

	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	hc, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatalf("health check: %v", err)
	}
	if hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health = %v, want SERVING", hc.GetStatus())
	}

	services := listServices(ctx, t, conn)
	for _, want := range []string{
		"pedigree.v1.RegistryService", "pedigree.v1.VerificationService", "pedigree.v1.CaptureService",
		"pedigree.v1.ProvenanceService", "pedigree.v1.LedgerService", "grpc.health.v1.Health",
	} {
		if !slices.Contains(services, want) {
			t.Errorf("reflection lists %v, missing %s", services, want)
		}
	}

	base := "http://" + n.HTTPAddr()
	if code, body := httpGet(t, base+"/healthz", nil); code != 200 {
		t.Errorf("/healthz = %d %s", code, body)
	}
	if code, body := httpGet(t, base+"/readyz", nil); code != 200 || string(body) != "ready\n" {
		t.Errorf("/readyz = %d %q, want 200 \"ready\"", code, body)
	}
	code, body := httpGet(t, base+"/openapi.json", nil)
	var doc struct {
		Swagger string                     `json:"swagger"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); code != 200 || err != nil {
		t.Fatalf("/openapi.json = %d, decode: %v", code, err)
	}
	for _, p := range []string{"/v1/packs:verify", "/v1/ledger/checkpoint", "/v1/products/{gtin}/batches/{lot}:commission", "/v1/products/{gtin}/packs/{serial}/history"} {
		if _, ok := doc.Paths[p]; !ok {
			t.Errorf("/openapi.json has no path %s", p)
		}
	}
	// A request first, so that the request histogram has a sample.
	code, body = httpGet(t, base+"/v1/parties", nil)
	if code != http.StatusUnauthorized {
		t.Errorf("unauthenticated GET /v1/parties = %d %s, want 401", code, body)
	}
	// Entry 0 is the genesis: the admin party, made by the node itself.
	code, body = httpGet(t, base+"/v1/ledger/entries/0", http.Header{"Authorization": {"Bearer " + token}})
	if code != http.StatusOK || !strings.Contains(string(body), "AUTH_METHOD_NODE") || !strings.Contains(string(body), DefaultAdminGLN) {
		t.Errorf("GET /v1/ledger/entries/0 on a new node = %d %s, want the genesis entry", code, body)
	}
	code, body = httpGet(t, base+"/v1/ledger/entries/1", http.Header{"Authorization": {"Bearer " + token}})
	if code != http.StatusNotFound || !strings.Contains(string(body), "index") {
		t.Errorf("GET /v1/ledger/entries/1 on a new node = %d %s, want 404 naming the index", code, body)
	}
	code, body = httpGet(t, base+"/v1/ledger/checkpoint", nil)
	var cp struct{ Note, Size, RootHash, VerifierKey string }
	if err := json.Unmarshal(body, &cp); code != 200 || err != nil || !strings.HasPrefix(cp.Note, "pedigree/ledger/") || cp.VerifierKey == "" {
		t.Errorf("GET /v1/ledger/checkpoint on a new node = %d %s, want a signed checkpoint", code, body)
	}
	// Metrics and the reasons a node is not ready are for operators: on
	// their own listener, not on the public port.
	code, body = httpGet(t, "http://"+n.MetricsAddr()+"/metrics", nil)
	if code != 200 || !strings.Contains(string(body), "pedigree_http_request_duration_seconds") || !strings.Contains(string(body), "pedigree_grpc_request_duration_seconds") {
		t.Errorf("/metrics = %d, missing pedigree request histograms", code)
	}
	if code, _ := httpGet(t, base+"/metrics", nil); code != http.StatusNotFound {
		t.Errorf("/metrics on the public port = %d, want 404", code)
	}
	if code, body := httpGet(t, "http://"+n.MetricsAddr()+"/readyz", nil); code != 200 || string(body) != "ready\n" {
		t.Errorf("/readyz on the metrics listener = %d %q", code, body)
	}

	md := metadata.Pairs("authorization", "Bearer not-a-token")
	_, err = pb.NewRegistryServiceClient(conn).ListParties(metadata.NewOutgoingContext(ctx, md), &pb.ListPartiesRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("ListParties with a bad token: %v, want Unauthenticated", err)
	}

	shutdown(t, n)
	if _, err := os.Stat(filepath.Join(dir, "pebble")); err != nil {
		t.Fatal(err)
	}

	n2 := startNode(t, testConfig(dir))
	defer shutdown(t, n2)
	again, _ := os.ReadFile(tokenPath)
	if strings.TrimSpace(string(again)) != token {
		t.Errorf("restart changed the admin token")
	}
	code, body = httpGet(t, "http://"+n2.HTTPAddr()+"/v1/ledger/entries/0", http.Header{"Authorization": {"Bearer " + token}})
	if code != http.StatusOK {
		t.Errorf("after restart, the old admin token gives %d %s, want 200", code, body)
	}
	if size := n2.ledger.Size(); size != 1 {
		t.Errorf("after restart the ledger has %d entries, want 1 (the genesis, not repeated)", size)
	}
}

func listServices(ctx context.Context, t *testing.T, conn *grpc.ClientConn) []string {
	t.Helper()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatalf("reflection send: %v", err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection recv: %v", err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names
}

func TestNodeRefusesBadConfig(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.AdminGLN = "9520000000005"
	_, err := Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "admin-gln") {
		t.Fatalf("Start with a bad admin GLN: %v, want an error naming admin-gln", err)
	}
}

func TestTokenFileMismatchIssuesNewToken(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, AdminTokenFile), []byte("pdg_stale\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, testConfig(dir))
	defer shutdown(t, n)
	got, _ := os.ReadFile(filepath.Join(dir, AdminTokenFile))
	if strings.TrimSpace(string(got)) == "pdg_stale" {
		t.Fatal("a token file that resolves to nothing was kept")
	}
	code, body := httpGet(t, "http://"+n.HTTPAddr()+"/v1/parties", http.Header{"Authorization": {"Bearer " + strings.TrimSpace(string(got))}})
	if code == http.StatusUnauthorized {
		t.Fatalf("new admin token is refused: %s", body)
	}
}
