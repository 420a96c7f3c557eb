package ledger_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
	"github.com/pedigree-project/pedigree/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// A node commits its own state and the ledger entries recording it in one
// Pebble batch, then checkpoints and proves.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ledger-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	db, err := pebble.Open(filepath.Join(dir, "db"), ledger.PebbleOptions())
	if err != nil {
		panic(err)
	}
	defer db.Close()
	keys := filepath.Join(dir, "keys")
	signer, verifier, err := ledger.LoadOrCreateKey(keys, "example.org/ledger")
	if err != nil {
		panic(err)
	}
	vkey, err := ledger.ReadVerifierKey(keys)
	if err != nil {
		panic(err)
	}
	log, err := ledger.Open(db, ledger.Options{Origin: "example.org/ledger", Signer: signer, VerifierKey: vkey})
	if err != nil {
		panic(err)
	}

	// One batch: the caller's state (prefix 0x10 and above) and the entries.
	b := db.NewBatch()
	defer b.Close()
	if err := b.Set([]byte("\x10pack/123"), []byte("dispensed"), nil); err != nil {
		panic(err)
	}
	p, err := log.Stage(b, [][]byte{[]byte("event A"), []byte("event B")})
	if err != nil {
		panic(err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		log.Abort(p)
		panic(err)
	}
	if err := log.Commit(p); err != nil {
		panic(err)
	}
	// Only now may index p.First() be reported as durable.

	cp, err := log.Checkpoint(ctx)
	if err != nil {
		panic(err)
	}
	proof, err := log.InclusionProof(ctx, p.First()+1, cp.Size)
	if err != nil {
		panic(err)
	}
	err = tlog.CheckRecord(proof, int64(cp.Size), cp.Root, int64(p.First()+1), tlog.RecordHash([]byte("event B")))
	fmt.Println("first index:", p.First(), "checkpoint size:", cp.Size, "proof error:", err)

	report, err := ledger.Verify(ctx, db, verifier, nil)
	fmt.Println("verified:", report.Entries, "entries,", report.Checkpoints, "checkpoint, error:", err)
	// Output:
	// first index: 0 checkpoint size: 2 proof error: <nil>
	// verified: 2 entries, 1 checkpoint, error: <nil>
}
