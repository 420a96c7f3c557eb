package console

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigree-project/pedigree/ledger"
	"github.com/pedigree-project/pedigree/services/internal/console/browsertest"
)

// proofEntry is an entry as the REST API sends it to proof.js.
type proofEntry struct {
	Index string   `json:"index"`
	Data  string   `json:"data"`
	Proof []string `json:"proof"`
}

// proofCase is one call of verifyEntries and what it must answer.
type proofCase struct {
	Name       string            `json:"name"`
	Checkpoint map[string]string `json:"checkpoint"`
	Entries    []proofEntry      `json:"entries"`
	// Want is each entry's result; nil when the checkpoint must fail.
	Want []bool `json:"want"`
}

// proofTree is a log of n entries built with golang.org/x/mod/sumdb/tlog.
type proofTree struct {
	data   [][]byte
	hashes []tlog.Hash
	root   tlog.Hash
}

func newProofTree(t *testing.T, n int) *proofTree {
	t.Helper()
	pt := &proofTree{}
	for i := range n {
		d := fmt.Appendf(nil, "entry %d of %d", i, n)
		hs, err := tlog.StoredHashes(int64(i), d, pt)
		if err != nil {
			t.Fatal(err)
		}
		pt.data, pt.hashes = append(pt.data, d), append(pt.hashes, hs...)
	}
	root, err := tlog.TreeHash(int64(n), pt)
	if err != nil {
		t.Fatal(err)
	}
	pt.root = root
	return pt
}

func (pt *proofTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = pt.hashes[x]
	}
	return out, nil
}

func (pt *proofTree) entry(t *testing.T, i int) proofEntry {
	t.Helper()
	proof, err := tlog.ProveRecord(int64(len(pt.data)), int64(i), pt)
	if err != nil {
		t.Fatal(err)
	}
	e := proofEntry{Index: fmt.Sprint(i), Data: base64.StdEncoding.EncodeToString(pt.data[i]), Proof: []string{}}
	for _, h := range proof {
		e.Proof = append(e.Proof, base64.StdEncoding.EncodeToString(h[:]))
	}
	return e
}

func (pt *proofTree) all(t *testing.T) []proofEntry {
	var out []proofEntry
	for i := range pt.data {
		out = append(out, pt.entry(t, i))
	}
	return out
}

func signer(t *testing.T, name string) (note.Signer, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s, vkey
}

func signNote(t *testing.T, text string, signers ...note.Signer) string {
	t.Helper()
	msg, err := note.Sign(&note.Note{Text: text}, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return string(msg)
}

func trues(n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = true
	}
	return out
}

// proofCases builds valid proofs and checkpoints in Go, then spoils them one
// way at a time.
func proofCases(t *testing.T) []proofCase {
	const origin = "pedigree.test/ledger"
	log, vkey := signer(t, origin)
	other, _ := signer(t, origin)
	witness, _ := signer(t, "witness.test/w1")
	parts := strings.SplitN(vkey, "+", 3)
	badHash := parts[0] + "+00000000+" + parts[2]
	var cases []proofCase
	for _, n := range []int{1, 2, 7, 8, 13} {
		pt := newProofTree(t, n)
		text := ledger.CheckpointText(origin, uint64(n), pt.root)
		cp := map[string]string{"note": signNote(t, text, log), "verifierKey": vkey}
		cases = append(cases, proofCase{Name: fmt.Sprintf("valid, %d entries", n), Checkpoint: cp, Entries: pt.all(t), Want: trues(n)})
		cosigned := map[string]string{"note": signNote(t, text, witness, log), "verifierKey": vkey}
		cases = append(cases, proofCase{Name: fmt.Sprintf("cosigned, %d entries", n), Checkpoint: cosigned, Entries: pt.all(t), Want: trues(n)})
		if n < 7 {
			continue
		}
		last := n - 1
		flipped := pt.entry(t, last)
		b, _ := base64.StdEncoding.DecodeString(flipped.Proof[0])
		b[5] ^= 0x10
		flipped.Proof[0] = base64.StdEncoding.EncodeToString(b)
		data := pt.entry(t, 3)
		data.Data = base64.StdEncoding.EncodeToString([]byte("entry 3 of 99"))
		moved := pt.entry(t, 2)
		moved.Index = "4"
		short := pt.entry(t, 1)
		short.Proof = short.Proof[:len(short.Proof)-1]
		long := pt.entry(t, 1)
		long.Proof = append(long.Proof, long.Proof[0])
		beyond := pt.entry(t, 1)
		beyond.Index = fmt.Sprint(n)
		cases = append(cases,
			proofCase{Name: "a flipped bit in a proof", Checkpoint: cp, Entries: []proofEntry{pt.entry(t, 0), flipped}, Want: []bool{true, false}},
			proofCase{Name: "other entry bytes", Checkpoint: cp, Entries: []proofEntry{data}, Want: []bool{false}},
			proofCase{Name: "another index", Checkpoint: cp, Entries: []proofEntry{moved}, Want: []bool{false}},
			proofCase{Name: "a proof too short", Checkpoint: cp, Entries: []proofEntry{short}, Want: []bool{false}},
			proofCase{Name: "a proof too long", Checkpoint: cp, Entries: []proofEntry{long}, Want: []bool{false}},
			proofCase{Name: "an index beyond the tree", Checkpoint: cp, Entries: []proofEntry{beyond}, Want: []bool{false}},
			proofCase{Name: "signed by another key", Checkpoint: map[string]string{"note": signNote(t, text, other), "verifierKey": vkey}, Entries: pt.all(t)},
			proofCase{Name: "only a witness signature", Checkpoint: map[string]string{"note": signNote(t, text, witness), "verifierKey": vkey}, Entries: pt.all(t)},
			proofCase{Name: "size changed after signing", Checkpoint: map[string]string{"note": strings.Replace(cp["note"], fmt.Sprintf("\n%d\n", n), fmt.Sprintf("\n%d\n", n+1), 1), "verifierKey": vkey}, Entries: pt.all(t)},
			proofCase{Name: "verifier key hash wrong", Checkpoint: map[string]string{"note": cp["note"], "verifierKey": badHash}, Entries: pt.all(t)},
		)
	}
	return cases
}

// TestProofModuleInBrowser runs assets/proof.js in headless Chromium
// (WebCrypto SHA-256 and Ed25519) against checkpoints signed and proofs
// built by golang.org/x/mod/sumdb, valid and spoiled.
func TestProofModuleInBrowser(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	ctx := browsertest.New(t)
	browsertest.Do(t, ctx, "open the sign-in page", chromedp.Navigate(srv.URL+"/ui/signin"))
	cases := proofCases(t)
	js, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	expr := `(async (cases) => {
	  const m = await import('/ui/assets/proof.js');
	  const out = [];
	  for (const c of cases) {
	    try { out.push({ results: (await m.verifyEntries(c.checkpoint, c.entries)).results }); }
	    catch (e) { out.push({ error: String(e.message || e) }); }
	  }
	  return out;
	})(` + string(js) + `)`
	type answer struct {
		Results []bool `json:"results"`
		Error   string `json:"error"`
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]answer](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cases) {
		t.Fatalf("%d answers for %d cases", len(got), len(cases))
	}
	for i, c := range cases {
		g := got[i]
		switch {
		case c.Want == nil && g.Error == "":
			t.Errorf("%s: verified %v, want the checkpoint refused", c.Name, g.Results)
		case c.Want != nil && g.Error != "":
			t.Errorf("%s: refused (%s), want %v", c.Name, g.Error, c.Want)
		case c.Want != nil && fmt.Sprint(g.Results) != fmt.Sprint(c.Want):
			t.Errorf("%s: %v, want %v", c.Name, g.Results, c.Want)
		}
	}
	browsertest.Screenshot(t, ctx, "proof-module")
}

// TestAccessibilityCheckFindsProblems: the pages pass the browser tests'
// accessibility check, and the check does find an unlabelled control, pale
// text and a page too wide once they are added.
func TestAccessibilityCheckFindsProblems(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	ctx := browsertest.New(t)
	browsertest.Do(t, ctx, "open the sign-in page", chromedp.Navigate(srv.URL+"/ui/signin"))
	browsertest.CheckAccessible(t, ctx, "sign-in page")
	spoil := `(() => {
	  const m = document.querySelector('main');
	  const i = document.createElement('input'); i.id = 'unlabelled'; m.append(i);
	  const p = document.createElement('p'); p.id = 'pale'; p.textContent = 'pale text'; p.style.color = '#bbbbbb'; m.append(p);
	  const w = document.createElement('div'); w.textContent = 'wide'; w.style.width = '3000px'; m.append(w);
	})()`
	browsertest.Do(t, ctx, "spoil the page", chromedp.Evaluate[chromedp.Void](spoil))
	problems, err := browsertest.Accessibility(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(problems, "\n")
	for _, want := range []string{"input#unlabelled has no label", "p#pale", "px wide"} {
		if !strings.Contains(got, want) {
			t.Errorf("the check did not find %q; it found:\n%s", want, got)
		}
	}
}
