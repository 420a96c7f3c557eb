package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigree-project/pedigree/epcis"
	"github.com/pedigree-project/pedigree/ledger"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/epcisapi"
)

// gs1Examples is the GS1 EPCIS example corpus the epcis package keeps
// (with GS1's licence).
const gs1Examples = "../../epcis/testdata/gs1-EPCIS"

// epcisDo sends one request to the node's HTTP port.
func epcisDo(t testing.TB, n *Node, method, path, token, ctype string, body []byte, hdr map[string]string) (*http.Response, []byte) {
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
func finishedJob(t testing.TB, n *Node, token, loc string) epcisapi.JobView {
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

// commissionDoc is a JSON-LD document commissioning apiGTIN packs of lot
// L1, one ObjectEvent each, without event IDs (the node gives each its
// CBV 2.0 hash); bad is the position of an event whose EPC has a wrong
// check digit (-1: none).
func commissionDoc(serials []string, bad int) []byte {
	var b strings.Builder
	b.WriteString(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-30T10:00:00Z","epcisBody":{"eventList":[`)
	for i, s := range serials {
		if i > 0 {
			b.WriteByte(',')
		}
		gtin := apiGTIN
		if i == bad {
			gtin = apiGTIN[:13] + "9"
		}
		b.WriteString(`{"type":"ObjectEvent","eventTime":"2026-11-30T09:00:00.000Z","eventTimeZoneOffset":"+00:00","action":"ADD","bizStep":"commissioning","disposition":"active",` +
			`"epcList":["https://id.gs1.org/01/` + gtin + `/21/` + s + `"],"ilmd":{"cbvmda:lotNumber":"L1"}}`)
	}
	b.WriteString(`]}}`)
	return []byte(b.String())
}

// serials returns n serials prefix-0 … prefix-(n-1).
func serials(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + "-" + strconv.Itoa(i)
	}
	return out
}

// epcisFixture is a node with a manufacturer that registered apiGTIN and
// its lot L1.
type epcisFixture struct {
	n         *Node
	mfr, mfr2 string
}

func newEPCISFixture(t *testing.T, cfg Config) *epcisFixture {
	t.Helper()
	n := startNode(t, cfg)
	t.Cleanup(func() { shutdown(t, n) })
	a := &api{t: t, n: n}
	f := &epcisFixture{n: n, mfr: a.party(apiMfr, pb.Role_ROLE_MANUFACTURER), mfr2: a.party(apiMfr2, pb.Role_ROLE_MANUFACTURER)}
	ctx := context.Background()
	if err := a.as(f.mfr).Post(ctx, "/v1/products", &pb.Product{Gtin: apiGTIN, Name: "Paracetamol"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.as(f.mfr).Post(ctx, "/v1/products/"+apiGTIN+"/batches", &pb.Batch{Lot: "L1", Expiry: "281200"}, nil); err != nil {
		t.Fatal(err)
	}
	return f
}

// outcomes counts a receipt's events by outcome.
func outcomes(rc *epcisapi.Receipt) map[string]int {
	m := map[string]int{}
	for _, e := range rc.Events {
		m[e.Outcome]++
	}
	return m
}

// toXML re-encodes a JSON-LD document as EPCIS 2.0 XML.
func toXML(t testing.TB, doc []byte) []byte {
	t.Helper()
	d, err := epcis.Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	x, err := epcis.EncodeXML(d)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// problemOfLine returns the line of a 400 problem.
func problemOfLine(t *testing.T, resp *http.Response, body []byte) int {
	t.Helper()
	var p struct {
		Status int `json:"status"`
		Line   int `json:"line"`
	}
	if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != http.StatusBadRequest || p.Status != 400 {
		t.Fatalf("XML error: HTTP %d %s", resp.StatusCode, body)
	}
	return p.Line
}

// rawRequest writes req on a new connection, leaves it open (the body,
// if any, unfinished) and reads the answer.
func rawRequest(t *testing.T, n *Node, req string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", n.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
