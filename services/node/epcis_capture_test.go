package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigree-project/pedigree/ledger"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/epcisapi"
)

// gs1Examples is the GS1 EPCIS example corpus the epcis package keeps
// (with GS1's licence).
const gs1Examples = "../../epcis/testdata/gs1-EPCIS"

// epcisDo sends one request to the node's HTTP port.
func epcisDo(t *testing.T, n *Node, method, path, token, ctype string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+n.HTTPAddr()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// postCapture posts a document and returns the job's Location.
func postCapture(t *testing.T, n *Node, token, ctype string, doc []byte, behaviour string) string {
	t.Helper()
	resp, body := epcisDo(t, n, http.MethodPost, "/epcis/capture", token, ctype, doc, map[string]string{"GS1-Capture-Error-Behaviour": behaviour})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("capture: HTTP %d %s", resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/epcis/capture/") || resp.Header.Get("GS1-EPCIS-Version") != "2.0.0" {
		t.Fatalf("capture: Location %q, headers %v", loc, resp.Header)
	}
	return loc
}

// finishedJob polls the job at loc until it has finished.
func finishedJob(t *testing.T, n *Node, token, loc string) epcisapi.JobView {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, body := epcisDo(t, n, http.MethodGet, loc, token, "", nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: HTTP %d %s", loc, resp.StatusCode, body)
		}
		var v epcisapi.JobView
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		if !v.Running {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still running", loc)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
	}
}

// verifyReceipt checks a receipt offline: the checkpoint's signature with
// the ledger's verifier key, and every entry's inclusion proof against it
// with golang.org/x/mod/sumdb/tlog; and that each entry's leaf hash is
// that of the ledger's bytes.
func verifyReceipt(t *testing.T, n *Node, rc *epcisapi.Receipt) {
	t.Helper()
	v, err := note.NewVerifier(n.ledgerVerifierKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(rc.Entries) == 0 {
		return
	}
	cp, err := ledger.ParseCheckpoint([]byte(rc.Checkpoint.Note), v)
	if err != nil {
		t.Fatalf("checkpoint: %v\n%q", err, rc.Checkpoint.Note)
	}
	if cp.Size != rc.Checkpoint.Size || !bytes.Equal(cp.Root[:], rc.Checkpoint.RootHash) {
		t.Fatalf("checkpoint note %d %x, receipt says %d %x", cp.Size, cp.Root, rc.Checkpoint.Size, rc.Checkpoint.RootHash)
	}
	proven := map[uint64]bool{}
	for _, e := range rc.Entries {
		var leaf tlog.Hash
		copy(leaf[:], e.LeafHash)
		proof := make(tlog.RecordProof, len(e.InclusionProof))
		for i, h := range e.InclusionProof {
			copy(proof[i][:], h)
		}
		if err := tlog.CheckRecord(proof, int64(cp.Size), cp.Root, int64(e.LedgerIndex), leaf); err != nil {
			t.Fatalf("entry %d: %v", e.LedgerIndex, err)
		}
		// One flipped bit fails.
		if len(proof) > 0 {
			proof[0][0] ^= 1
			if tlog.CheckRecord(proof, int64(cp.Size), cp.Root, int64(e.LedgerIndex), leaf) == nil {
				t.Fatalf("entry %d: a corrupted proof checks", e.LedgerIndex)
			}
		}
		stored, err := n.ledger.Entry(context.Background(), e.LedgerIndex)
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(append([]byte{0}, stored.Data...)) != [32]byte(leaf) {
			t.Fatalf("entry %d: leaf hash is not that of the ledger's bytes", e.LedgerIndex)
		}
		proven[e.LedgerIndex] = true
	}
	for _, ev := range rc.Events {
		for _, i := range []*uint64{ev.LedgerIndex, ev.DuplicateOf} {
			if i != nil && !proven[*i] {
				t.Fatalf("event %s names entry %d, which the receipt does not prove", ev.EventID, *i)
			}
		}
	}
}

// ledgerVerifierKey is the note verifier key of the node's checkpoints.
func (n *Node) ledgerVerifierKey(t *testing.T) string {
	t.Helper()
	vkey, err := ledger.ReadVerifierKey(filepath.Join(n.cfg.DataDir, KeysDir))
	if err != nil {
		t.Fatal(err)
	}
	return vkey
}

// fullyPrepared returns the example documents under dir of which every
// event prepares today for actor.
func fullyPrepared(t *testing.T, dir, ext string, f epcisapi.Format, actor string) map[string][]byte {
	t.Helper()
	p, err := epcisapi.NewPreparer(epcisapi.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ext) {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if prep, err := p.Prepare(b, f, actor, epcisapi.Rollback); err == nil && len(prep.Errors) == 0 {
			out[filepath.Base(path)] = b
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEPCISCaptureProbe(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	mfr := a.party(apiMfr, pb.Role_ROLE_MANUFACTURER)
	for _, set := range []struct {
		dir, ext, ctype string
		f               epcisapi.Format
	}{{"JSON", ".jsonld", "application/ld+json", epcisapi.JSON}, {"XML", ".xml", "application/xml", epcisapi.XML}} {
		docs := fullyPrepared(t, filepath.Join(gs1Examples, set.dir), set.ext, set.f, apiMfr)
		for name, doc := range docs {
			loc := postCapture(t, n, mfr, set.ctype, doc, "")
			v := finishedJob(t, n, mfr, loc)
			t.Logf("%s: success %v, %d events, errors %v", name, v.Success, len(v.Receipt.Events), v.Errors)
			verifyReceipt(t, n, v.Receipt)
		}
	}
}
