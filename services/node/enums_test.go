package node

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// packs registers product apiGTIN and its batch L1 as the manufacturer
// with token mfr, and commissions serials in it.
func (a *api) packs(mfr string, serials ...string) {
	a.t.Helper()
	ctx := context.Background()
	c := a.as(mfr)
	if err := c.Post(ctx, "/v1/products", &pb.Product{Gtin: apiGTIN, Name: "Paracetamol"}, nil); err != nil {
		a.t.Fatal(err)
	}
	if err := c.Post(ctx, "/v1/products/"+apiGTIN+"/batches", &pb.Batch{Lot: "L1", Expiry: "281200"}, nil); err != nil {
		a.t.Fatal(err)
	}
	if err := c.Post(ctx, "/v1/products/"+apiGTIN+"/batches/L1:commission", &pb.CommissionSerialsRequest{Serials: serials}, nil); err != nil {
		a.t.Fatal(err)
	}
}

// rawDo sends body (none when empty) as JSON with token and returns the
// status and the answer's message.
func rawDo(t testing.TB, method, url, token, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &st) == nil && st.Message != "" {
		return resp.StatusCode, st.Message
	}
	return resp.StatusCode, string(bytes.TrimSpace(b))
}

// TestOutOfRangeEnumsAreRefused sends every enum of every write and
// filter with a value outside its enum, through REST: each is refused with
// 400 naming the field, before anything uses it (the event ID, the rules),
// and the node keeps serving.
func TestOutOfRangeEnumsAreRefused(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	ctx := context.Background()
	admin := a.adminToken()
	mfr := a.party(apiMfr, pb.Role_ROLE_MANUFACTURER)
	pharm := a.party(apiPharm, pb.Role_ROLE_PHARMACY)
	a.packs(mfr, "E1")
	base := "http://" + n.HTTPAddr()
	event := func(field string) string {
		ev := map[string]any{"type": "EVENT_TYPE_OBJECT", "action": "ACTION_OBSERVE", "bizStep": "BIZ_STEP_DISPENSING",
			"eventTime": "2026-11-20T10:00:00Z", "epcs": []any{map[string]any{"pack": map[string]any{"gtin": apiGTIN, "serial": "E1"}}}}
		k, v, _ := strings.Cut(field, "=")
		switch k {
		case "sources", "destinations":
			ev[k] = []any{map[string]any{"type": json.Number(v), "gln": apiPharm}}
		default:
			ev[k] = json.Number(v)
		}
		b, err := json.Marshal(map[string]any{"event": ev, "wait": true})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	pack := `"pack":{"code":{"gtin":"` + apiGTIN + `","serial":"E1"}}`
	cases := []struct {
		name, method, path, token, body, field string
	}{
		{"capture disposition", "POST", "/v1/events", pharm, event("disposition=99"), "disposition"},
		{"capture bizStep", "POST", "/v1/events", pharm, event("bizStep=12345"), "bizStep"},
		{"capture action", "POST", "/v1/events", pharm, event("action=-1"), "action"},
		{"capture type", "POST", "/v1/events", pharm, event("type=6"), "type"},
		{"capture source type", "POST", "/v1/events", pharm, event("sources=7"), "sources[0].type"},
		{"capture destination type", "POST", "/v1/events", pharm, event("destinations=2147483647"), "destinations[0].type"},
		{"decommission reason", "POST", "/v1/packs:decommission", pharm, `{` + pack + `,"reason":99}`, "reason"},
		{"batch decommission reason", "POST", "/v1/packs:batchDecommission", pharm, `{"packs":[{"code":{"gtin":"` + apiGTIN + `","serial":"E1"}}],"reason":-5}`, "reason"},
		{"party role", "POST", "/v1/parties", admin, `{"gln":"4000009000007","name":"x","role":42}`, "role"},
		{"review status", "POST", "/v1/alerts/1-0:review", admin, `{"status":17}`, "status"},
		{"alert filter code", "GET", "/v1/alerts?code=99", admin, "", "code"},
		{"alert filter status", "GET", "/v1/alerts?status=99", admin, "", "status"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, msg := rawDo(t, c.method, base+c.path, c.token, c.body)
			if status != http.StatusBadRequest || !strings.Contains(msg, c.field) {
				t.Errorf("HTTP %d %q, want 400 naming %q", status, msg, c.field)
			}
		})
	}
	// Nothing reached the ledger's rules, and the node still serves.
	if err := n.Ready(ctx); err != nil {
		t.Fatalf("node not ready after the refusals: %v", err)
	}
	v := &pb.VerifyPackResponse{}
	if err := a.as(pharm).Post(ctx, "/v1/packs:verify", &pb.VerifyPackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "E1"})}, v); err != nil {
		t.Fatal(err)
	}
	if !v.GetDispensable() || v.GetStatus() != pb.PackStatus_PACK_STATUS_ACTIVE {
		t.Fatalf("verify after the refusals: %v, want an active, dispensable pack", v)
	}
}
