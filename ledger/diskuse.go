package ledger

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// EntriesDiskUsage estimates the bytes on disk of entries [from, to) in db
// (Pebble's estimate of the tables that hold their keys), so that callers
// measure entry sizes without knowing the key encoding.
func EntriesDiskUsage(db *pebble.DB, from, to uint64) (uint64, error) {
	if to <= from {
		return 0, fmt.Errorf("ledger: disk use of entries [%d, %d): empty range", from, to)
	}
	n, err := db.EstimateDiskUsage(entryKey(from), entryKey(to))
	if err != nil {
		return 0, fmt.Errorf("ledger: disk use of entries [%d, %d): %w", from, to, err)
	}
	return n, nil
}
