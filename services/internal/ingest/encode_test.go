package ingest

import (
	"bytes"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestEntrySplice checks that an entry encoded without its envelope, with
// the envelope spliced back in, is byte for byte the deterministic
// encoding of the whole entry (what the ledger has always stored).
func TestEntrySplice(t *testing.T) {
	alert := &pb.Alert{AlertId: "7-0", Code: pb.AlertCode_ALERT_CODE_ALREADY_INACTIVE, Evidence: map[string]string{"b": "2", "a": "1"}}
	for _, e := range []*pb.LedgerEntry{
		{},
		{Index: 0, Envelope: []byte("env")},
		{Index: 1, Envelope: []byte("e")},
		{Index: 1 << 40, Envelope: bytes.Repeat([]byte{0xff}, 300), EventIds: []string{"a", "b"}, PartyGln: "4000005000001",
			AuthMethod: pb.AuthMethod_AUTH_METHOD_PARTY_SIGNATURE, CredentialId: "0123456789abcdef", StreamSequence: 99,
			RecordTime: timestamp(time.Unix(1700000000, 5)), Outcomes: []*pb.Outcome{{Applied: true, Affected: 1}, {Alerts: []*pb.Alert{alert}}}},
		{Index: 127, EventIds: []string{"x"}},
	} {
		want, err := deterministic.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		noEnv := &pb.LedgerEntry{Index: e.Index, EventIds: e.EventIds, AuthMethod: e.AuthMethod, PartyGln: e.PartyGln,
			CredentialId: e.CredentialId, StreamSequence: e.StreamSequence, RecordTime: e.RecordTime, Outcomes: e.Outcomes}
		pub, err := deterministic.Marshal(noEnv)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := envelope.AppendSpliced([]byte("prefix"), pub, e.Envelope); err != nil || !bytes.Equal(got[len("prefix"):], want) {
			t.Errorf("index %d: spliced\n%x (%v)\nwant\n%x", e.Index, got, err, want)
		}
	}
}
