// Package sdktest helps test software built on the scanner SDK, and the SDK
// itself: it makes the node-signed notices a ledger node publishes on NATS,
// signed with a key of the test's choosing (the node key of a test node, or
// another one to forge a notice the SDK must refuse).
package sdktest

import (
	"crypto/ed25519"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigree-project/pedigree/envelope"
	ledgerentry "github.com/pedigree-project/pedigree/ledger/entry"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// ResultNotice returns the ResultNotice a node publishes for a batch of
// one entry: entry, recorded with the signed envelope wire (entry's own
// envelope field is ignored), its batch receipt signed with key, and the
// entry's inclusion proof. It is what envelope.OpenResult accepts for wire
// when key is a trusted node key. It fails t if it cannot make one.
func ResultNotice(t testing.TB, key ed25519.PrivateKey, entry *pb.LedgerEntry, wire []byte) []byte {
	t.Helper()
	n, err := resultNotice(key, entry, wire)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func resultNotice(key ed25519.PrivateKey, entry *pb.LedgerEntry, wire []byte) ([]byte, error) {
	b, err := ledgerentry.AppendBare(nil, entry)
	if err != nil {
		return nil, fmt.Errorf("sdktest: entry: %w", err)
	}
	full, err := envelope.SpliceEntry(b, wire)
	if err != nil {
		return nil, err
	}
	n, err := envelope.ResultNotices("sdktest", entry.GetIndex(), [][]byte{b}, []tlog.Hash{tlog.RecordHash(full)}, key)
	if err != nil {
		return nil, err
	}
	return n[0], nil
}
