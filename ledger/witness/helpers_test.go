package witness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/pedigree-project/pedigree/ledger"
)

const testOrigin = "test.example/ledger"

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testLog is a real ledger on a temporary Pebble DB.
type testLog struct {
	*ledger.Log
	vkey     string
	verifier note.Verifier
}

// newLog opens a ledger signed with the key in keyDir (so that two ledgers
// can share a key, as a forking log would).
func newLog(t *testing.T, keyDir string) *testLog {
	t.Helper()
	signer, verifier, err := ledger.LoadOrCreateKey(keyDir, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := ledger.ReadVerifierKey(keyDir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := pebble.Open(t.TempDir(), &pebble.Options{Logger: pebbleLogger{discard()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l, err := ledger.Open(db, ledger.Options{Origin: testOrigin, Signer: signer, VerifierKey: vkey})
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{Log: l, vkey: vkey, verifier: verifier}
}

// grow appends n entries named prefix-i and returns a new checkpoint.
func (l *testLog) grow(t *testing.T, prefix string, n int) ledger.Checkpoint {
	t.Helper()
	ctx := context.Background()
	entries := make([][]byte, n)
	for i := range entries {
		entries[i] = fmt.Appendf(nil, "%s-%d", prefix, int(l.Size())+i)
	}
	if _, err := l.Append(ctx, entries); err != nil {
		t.Fatal(err)
	}
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// testWitness is a witness served over HTTP on loopback.
type testWitness struct {
	dir    string
	url    string
	vkey   string
	w      *Witness
	store  *Store
	srv    *httptest.Server
	client *Client
}

// startWitness starts (or restarts, on the same dir) a witness of logs.
func startWitness(t *testing.T, dir string, logs ...Log) *testWitness {
	t.Helper()
	signer, vkey, err := LoadOrCreateKey(filepath.Join(dir, "keys"), "witness.test/w")
	if err != nil {
		t.Fatal(err)
	}
	store, err := OpenStore(filepath.Join(dir, "state"), discard())
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(Config{Signer: signer, Logs: logs, Store: store, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	tw := &testWitness{dir: dir, vkey: vkey, w: w, store: store, srv: httptest.NewServer(Handler(w))}
	tw.url = tw.srv.URL
	if tw.client, err = NewClient(tw.srv.URL, vkey, tw.srv.Client()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tw.stop)
	return tw
}

func (tw *testWitness) stop() {
	if tw.srv != nil {
		tw.srv.Close()
		tw.store.Close()
		tw.srv = nil
	}
}

// post sends a raw body and returns the status and body of the answer.
func (tw *testWitness) post(t *testing.T, body []byte) (int, string, string) {
	t.Helper()
	resp, err := tw.srv.Client().Post(tw.srv.URL+"/add-checkpoint", "text/plain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func logOf(l *testLog) Log { return Log{Origin: testOrigin, Verifiers: []note.Verifier{l.verifier}} }
