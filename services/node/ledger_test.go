package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	ledgerentry "github.com/pedigree-project/pedigree/ledger/entry"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// appendEntries appends n LedgerEntry messages made by party gln and
// issues a checkpoint. It writes to the ledger directly, which is safe only
// while the node's ingest is idle (the ledger has one writer): these tests
// publish nothing.
func appendEntries(t *testing.T, n *Node, count int, gln string) {
	t.Helper()
	ctx := context.Background()
	base := n.ledger.Size()
	var batch [][]byte
	for i := range count {
		e := &pb.LedgerEntry{Index: base + uint64(i), PartyGln: gln, EventIds: []string{fmt.Sprintf("urn:uuid:test-%d", i)}}
		b, err := ledgerentry.Append(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, b)
	}
	if _, err := n.ledger.Append(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ledger.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
}

func addParty(t *testing.T, n *Node, gln string, role pb.Role) string {
	t.Helper()
	token, id, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	b := n.store.DB().NewBatch()
	if err := state.PutParty(b, &pb.Party{Gln: gln, Name: "test " + gln, Role: role}); err != nil {
		t.Fatal(err)
	}
	if err := state.PutToken(b, state.TokenHash(token), id, gln); err != nil {
		t.Fatal(err)
	}
	if err := n.store.Apply(b); err != nil {
		t.Fatal(err)
	}
	return token
}

func getJSON(t *testing.T, url, token string, out any) int {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	code, body := httpGet(t, url, h)
	if code == 200 && out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, body)
		}
	}
	return code
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64 %q: %v", s, err)
	}
	return b
}

// TestLedgerServiceProofsVerifyIndependently checks the service's proofs
// with transparency-dev/merkle, a verifier the ledger does not use.
func TestLedgerServiceProofsVerifyIndependently(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	const pharmacy = "4012345000009"
	pharmacyToken := addParty(t, n, pharmacy, pb.Role_ROLE_PHARMACY)
	adminToken := addParty(t, n, "4098765000002", pb.Role_ROLE_REGULATOR)
	appendEntries(t, n, 7, pharmacy)
	appendEntries(t, n, 30, "4000001000005")
	base := "http://" + n.HTTPAddr()

	var cp struct{ Note, Size, RootHash, VerifierKey string }
	// Entry 0 is the node's genesis; 1–7 the pharmacy's; 8–37 another's.
	if code := getJSON(t, base+"/v1/ledger/checkpoint", "", &cp); code != 200 || cp.Size != "38" {
		t.Fatalf("checkpoint = %d %+v, want size 38", code, cp)
	}
	root := b64(t, cp.RootHash)
	hasher := rfc6962.DefaultHasher

	type entryResp struct{ Index, Data, ChainHash string }
	for _, idx := range []uint64{0, 6, 7, 37} {
		var e entryResp
		if code := getJSON(t, fmt.Sprintf("%s/v1/ledger/entries/%d", base, idx), adminToken, &e); code != 200 {
			t.Fatalf("entry %d: %d", idx, code)
		}
		leaf := hasher.HashLeaf(b64(t, e.Data))
		var p struct{ Hashes []string }
		if code := getJSON(t, fmt.Sprintf("%s/v1/ledger/proofs/inclusion?index=%d&treeSize=38", base, idx), "", &p); code != 200 {
			t.Fatalf("inclusion proof %d: %d", idx, code)
		}
		hashes := make([][]byte, len(p.Hashes))
		for i, h := range p.Hashes {
			hashes[i] = b64(t, h)
		}
		if err := proof.VerifyInclusion(hasher, idx, 38, leaf, hashes, root); err != nil {
			t.Errorf("inclusion of %d does not verify: %v", idx, err)
		}
		if err := proof.VerifyInclusion(hasher, (idx+1)%38, 38, leaf, hashes, root); err == nil {
			t.Errorf("inclusion proof of %d verifies for index %d", idx, (idx+1)%38)
		}
		// A size whose tree gives the index a path of another shape (sizes
		// that share the path's shape, such as 36 and 37 for index 0, are
		// indistinguishable by RFC 6962 verification).
		wrongSize := uint64(100)
		if idx < 20 {
			wrongSize = 20
		}
		if err := proof.VerifyInclusion(hasher, idx, wrongSize, leaf, hashes, root); err == nil {
			t.Errorf("inclusion proof of %d verifies for tree size %d", idx, wrongSize)
		}
		if err := proof.VerifyInclusion(hasher, idx, 38, hasher.HashLeaf([]byte("forged")), hashes, root); err == nil {
			t.Errorf("inclusion proof of %d verifies for another leaf", idx)
		}
	}

	// Consistency 8 → 38 against the root of the first 8 entries, which
	// the first checkpoint recorded.
	var p struct{ Hashes []string }
	if code := getJSON(t, base+"/v1/ledger/proofs/consistency?from=8&to=38", "", &p); code != 200 {
		t.Fatalf("consistency proof: %d", code)
	}
	hashes := make([][]byte, len(p.Hashes))
	for i, h := range p.Hashes {
		hashes[i] = b64(t, h)
	}
	root8, err := n.ledger.Root(context.Background(), 8)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(hasher, 8, 38, hashes, root8[:], root); err != nil {
		t.Errorf("consistency 8→38 does not verify: %v", err)
	}
	if err := proof.VerifyConsistency(hasher, 9, 38, hashes, root8[:], root); err == nil {
		t.Error("consistency proof verifies for the wrong old size")
	}

	// Bad arguments name the field.
	for _, c := range []struct{ path, field string }{
		{"/v1/ledger/proofs/inclusion?index=38&treeSize=38", "index"},
		{"/v1/ledger/proofs/inclusion?index=1&treeSize=99", "treeSize"},
		{"/v1/ledger/proofs/consistency?from=0&to=5", "from"},
		{"/v1/ledger/proofs/consistency?from=9&to=5", "to"},
	} {
		code, body := httpGet(t, base+c.path, nil)
		if code != http.StatusBadRequest || !strings.Contains(string(body), c.field) {
			t.Errorf("GET %s = %d %s, want 400 naming %s", c.path, code, body, c.field)
		}
	}

	// Entries: the pharmacy sees its own, not others'.
	if code := getJSON(t, base+"/v1/ledger/entries/3", pharmacyToken, nil); code != 200 {
		t.Errorf("pharmacy reading its own entry: %d, want 200", code)
	}
	if code := getJSON(t, base+"/v1/ledger/entries/0", pharmacyToken, nil); code != http.StatusForbidden {
		t.Errorf("pharmacy reading the genesis: %d, want 403", code)
	}
	if code := getJSON(t, base+"/v1/ledger/entries/20", pharmacyToken, nil); code != http.StatusForbidden {
		t.Errorf("pharmacy reading another party's entry: %d, want 403", code)
	}
	if code := getJSON(t, base+"/v1/ledger/entries/20", "", nil); code != http.StatusUnauthorized {
		t.Errorf("anonymous entry read: %d, want 401", code)
	}
}
