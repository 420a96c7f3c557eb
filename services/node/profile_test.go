package node

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestProfilesNeedTheAdminToken asks the operator listener for the
// runtime's profiles: without a token or with a party's they are refused,
// with the admin token they are served, and the public port has none.
func TestProfilesNeedTheAdminToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	api := &api{t: t, n: n}
	pharm := api.party(apiPharm, pb.Role_ROLE_PHARMACY)
	operator := "http://" + n.MetricsAddr() + ProfilePath
	for _, tok := range []string{"", pharm} {
		if code, body := bearerDo(ctx, t, http.MethodGet, operator+"heap?debug=1", tok); code != http.StatusUnauthorized {
			t.Fatalf("heap profile with token %q: status %d (%s), want 401", tok, code, body)
		}
	}
	if code, body := bearerDo(ctx, t, http.MethodGet, operator+"heap?debug=1", api.adminToken()); code != http.StatusOK || !strings.Contains(string(body), "heap profile") {
		t.Fatalf("heap profile with the admin token: status %d, body %.80q", code, body)
	}
	if code, body := bearerDo(ctx, t, http.MethodGet, operator+"profile?seconds=1", api.adminToken()); code != http.StatusOK || len(body) == 0 {
		t.Fatalf("CPU profile with the admin token: status %d, %d bytes", code, len(body))
	}
	if code, _ := bearerDo(ctx, t, http.MethodGet, "http://"+n.HTTPAddr()+ProfilePath+"heap?debug=1", api.adminToken()); code == http.StatusOK {
		t.Fatal("the public HTTP port served a profile")
	}
}
