package node

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/pedigree-project/pedigree/ledger"
)

// AuditOptions tunes Audit.
type AuditOptions struct {
	// Progress, when set, is called as entries are verified.
	Progress func(done, total uint64)
	// Check, when set, is given every entry's bytes in index order
	// (ledger.VerifyEntries): its first error fails the audit.
	Check func(index uint64, data []byte) error
	// Logger receives Pebble's messages; nil drops them.
	Logger pebble.Logger
	// EntriesFrom and EntriesTo, when EntriesTo > EntriesFrom, ask for the
	// disk use of ledger entries [EntriesFrom, EntriesTo).
	EntriesFrom, EntriesTo uint64
}

// AuditReport is what Audit found.
type AuditReport struct {
	ledger.Report
	// LiveBytes is Pebble's live data: tables, blob files and WAL.
	LiveBytes int64
	// EntriesBytes is the estimated disk use of the entries
	// AuditOptions asked for (0 when none were asked for).
	EntriesBytes uint64
}

// Audit verifies the ledger of a stopped node's data directory offline
// (ledger.VerifyEntries: every leaf hash, the hash chain, the tiles, the root and
// every stored checkpoint against the node's verifier key), opening its
// Pebble database read-only. It is `pedigree ledger verify`, and the
// benchmark's audit phase.
func Audit(ctx context.Context, dataDir string, o AuditOptions) (AuditReport, error) {
	vkey, err := ledger.ReadVerifierKey(filepath.Join(dataDir, KeysDir))
	if err != nil {
		return AuditReport{}, fmt.Errorf("verifier key: %w", err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return AuditReport{}, fmt.Errorf("verifier key: %w", err)
	}
	opts := ledger.AuditPebbleOptions()
	opts.ReadOnly = true
	opts.Logger = o.Logger
	if opts.Logger == nil {
		opts.Logger = quietPebble{}
	}
	db, err := pebble.Open(filepath.Join(dataDir, "pebble"), opts)
	if err != nil {
		return AuditReport{}, fmt.Errorf("open %s (is the node stopped?): %w", dataDir, err)
	}
	defer db.Close()
	rep, err := ledger.VerifyEntries(ctx, db, verifier, o.Progress, o.Check)
	if err != nil {
		return AuditReport{}, fmt.Errorf("ledger verify: %w", err)
	}
	m := db.Metrics()
	out := AuditReport{Report: rep, LiveBytes: int64(m.Table.Local.LiveSize + m.BlobFiles.Local.LiveSize + m.WAL.Size)}
	if o.EntriesTo > o.EntriesFrom {
		if out.EntriesBytes, err = ledger.EntriesDiskUsage(db, o.EntriesFrom, o.EntriesTo); err != nil {
			return AuditReport{}, err
		}
	}
	return out, nil
}

// quietPebble drops Pebble's messages except fatal ones, which must not
// return (pebble.Logger's contract).
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}
