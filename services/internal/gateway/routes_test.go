package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	gw "github.com/pedigree-project/pedigree/services/internal/gateway/gen/pedigree/v1"
)

// TestEveryRESTRouteResolvesToItsMethod routes a request to every REST
// binding of the protos through the gateway's own mux and checks that the
// guard sees the right gRPC method: a route it did not know would be
// treated as needing a token with the ordinary body limit, which would
// break the public ledger routes and large commissions.
func TestEveryRESTRouteResolvesToItsMethod(t *testing.T) {
	public := map[string]bool{pb.LedgerService_GetCheckpoint_FullMethodName: true}
	rs := newRoutes(func(m string) bool { return public[m] })
	var seen route
	mux := runtime.NewServeMux(
		runtime.WithUnescapingMode(runtime.UnescapingModeAllCharacters),
		runtime.WithMiddlewares(func(next runtime.HandlerFunc) runtime.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
				seen = rs.lookup(r.Context(), r.Method)
				w.WriteHeader(http.StatusNoContent)
			}
		}))
	conn, err := grpc.NewClient("passthrough:///unused", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, register := range []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		gw.RegisterRegistryServiceHandler, gw.RegisterVerificationServiceHandler, gw.RegisterCaptureServiceHandler,
		gw.RegisterLedgerServiceHandler, gw.RegisterProvenanceServiceHandler,
	} {
		if err := register(context.Background(), mux, conn); err != nil {
			t.Fatal(err)
		}
	}
	if err := (&guard{mux: mux}).handleSerials(); err != nil {
		t.Fatal(err)
	}
	if len(rs) < 30 {
		t.Fatalf("%d routes read from the protos, want every REST binding", len(rs))
	}
	variable := regexp.MustCompile(`\{[^}]*\}`)
	for key, want := range rs {
		verb, tmpl, _ := cut(key)
		path := variable.ReplaceAllString(tmpl, "v1")
		seen = route{}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(verb, path, nil))
		if rec.Code != http.StatusNoContent || seen != want {
			t.Errorf("%s %s: status %d, guard saw %+v, want %+v", verb, path, rec.Code, seen, want)
		}
	}
	for _, tc := range []struct {
		key  string
		want route
	}{
		{"GET /v1/ledger/checkpoint", route{method: pb.LedgerService_GetCheckpoint_FullMethodName, public: true}},
		{"GET /v1/alerts:watch", route{method: pb.ProvenanceService_WatchAlerts_FullMethodName, stream: true}},
		{"POST /v1/products/{gtin}/batches/{lot}:commission", route{method: pb.RegistryService_CommissionSerials_FullMethodName, bulk: true}},
		{"GET " + serialsCSV, route{method: pb.RegistryService_ListBatchPacks_FullMethodName, stream: true}},
	} {
		if rs[tc.key] != tc.want {
			t.Errorf("%s = %+v, want %+v", tc.key, rs[tc.key], tc.want)
		}
	}
}

func cut(key string) (verb, tmpl string, ok bool) {
	for i := range len(key) {
		if key[i] == ' ' {
			return key[:i], key[i+1:], true
		}
	}
	return "", key, false
}

func TestRetryAfterBecomesTheStandardHeader(t *testing.T) {
	if h, ok := outgoingHeader("retry-after"); !ok || h != "Retry-After" {
		t.Errorf("retry-after → %q %v", h, ok)
	}
	if h, ok := outgoingHeader("x-other"); !ok || h != runtime.MetadataHeaderPrefix+"x-other" {
		t.Errorf("x-other → %q %v, want the gateway's default", h, ok)
	}
}
