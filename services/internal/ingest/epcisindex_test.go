package ingest

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
	ledgerentry "github.com/pedigree-project/pedigree/ledger/entry"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// eventIDLogs returns, for each event ID the ledger records, the entries
// the EPCIS event index names under it.
func eventIDLogs(t *testing.T, n *node) map[string][]uint64 {
	t.Helper()
	out := map[string][]uint64{}
	err := n.log.Entries(context.Background(), 0, n.log.Size(), func(e ledger.Entry) error {
		entry, err := ledgerentry.Decode(e.Data)
		if err != nil {
			return err
		}
		op, err := envelope.Open(entry.GetEnvelope())
		if err != nil || op.Envelope.GetCapture() == nil {
			return err
		}
		for _, id := range entry.GetEventIds() {
			l, err := n.store.EventIDLog(id)
			if err != nil {
				return err
			}
			out[id] = l
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEPCISIndexBuiltForAnOlderStore checks that the commit writes the
// EPCIS event index, and that a store without it (written by an earlier
// version) gets the same index when the pipeline starts on it.
func TestEPCISIndexBuiltForAnOlderStore(t *testing.T) {
	w := newWorld(t)
	w.market()
	w.commission("E1", "E2")
	w.ship(mfrGLN, wsGLN, pack("E1"))
	dup := w.event(pb.BizStep_BIZ_STEP_INSPECTING, pb.Action_ACTION_OBSERVE, pack("E2"))
	dup.EventId = "urn:uuid:0b3c8b7e-1111-4000-8000-000000000001"
	w.mustApply(mfrGLN, capture(dup))
	w.as(mfrGLN, capture(dup)) // a duplicate: not indexed again
	want := eventIDLogs(t, w.n)
	if len(want) < 3 {
		t.Fatalf("%d event IDs on the ledger", len(want))
	}
	for id, l := range want {
		if len(l) == 0 {
			t.Errorf("event %s is not indexed at commit", id)
		}
	}
	if l := want[dup.EventId]; len(l) != 1 {
		t.Errorf("the event recorded once and sent twice is indexed at %v", l)
	}

	dir := w.n.dir
	w.n.stop(t)
	opts := ledger.PebbleOptions()
	opts.Logger = quietPebble{}
	db, err := pebble.Open(filepath.Join(dir, "pebble"), opts)
	if err != nil {
		t.Fatal(err)
	}
	// What an earlier version left: no EPCIS index, no format.
	if err := db.DeleteRange([]byte{0x2A}, []byte{0x2C}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete([]byte{0x1F, 0x05}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	w.n = w.startNode("ledger-a", dir)
	if ok, err := w.n.store.EPCISIndexComplete(); err != nil || !ok {
		t.Fatalf("index complete after the start: %v %v", ok, err)
	}
	got := eventIDLogs(t, w.n)
	for id, l := range want {
		if !slices.Equal(got[id], l) {
			t.Errorf("event %s: built index %v, committed %v", id, got[id], l)
		}
	}
}
