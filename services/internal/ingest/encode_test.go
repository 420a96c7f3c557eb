package ingest

import (
	"bytes"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger/entry"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestEntrySplice checks that an entry encoded without its envelope, with
// the envelope spliced back in, is byte for byte the ledger encoding of
// the whole entry (docs/ledger-format.md).
func TestEntrySplice(t *testing.T) {
	alert := &pb.Alert{AlertId: "7-0", Code: pb.AlertCode_ALERT_CODE_ALREADY_INACTIVE,
		Evidence: []*pb.EvidenceItem{{Key: "b", Value: "2"}, {Key: "a", Value: "1"}}}
	for _, e := range []*pb.LedgerEntry{
		{},
		{Index: 0, Envelope: []byte("env")},
		{Index: 1, Envelope: []byte("e")},
		{Index: 1 << 40, Envelope: bytes.Repeat([]byte{0xff}, 300), EventIds: []string{"a", "b"}, PartyGln: "4000005000001",
			AuthMethod: pb.AuthMethod_AUTH_METHOD_PARTY_SIGNATURE, CredentialId: "0123456789abcdef", StreamSequence: 99,
			RecordTime: timestamp(time.Unix(1700000000, 5)), Outcomes: []*pb.Outcome{{Applied: true, Affected: 1}, {Alerts: []*pb.Alert{alert}}}},
		{Index: 127, EventIds: []string{"x"}},
	} {
		want, err := entry.Append(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := entry.AppendBare(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := envelope.AppendSpliced([]byte("prefix"), pub, e.Envelope); err != nil || !bytes.Equal(got[len("prefix"):], want) {
			t.Errorf("index %d: spliced\n%x (%v)\nwant\n%x", e.Index, got, err, want)
		}
	}
}
