package ingest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// TestEventIDsPerParty: the ledger deduplicates by (party, event ID).
// Two pharmacies dispense their own packs under one event ID: both apply.
// The same party resends the same event past the stream's duplicate
// window: a duplicate. The same party sends the ID again for other packs:
// refused, naming the ID and the entry that has it, and the packs are
// untouched, in a capture of one event and in one of two (whose other
// event applies). Published without waiting, then replayed into a node
// that commits one message per batch and into one that takes them all in
// one: the three stores are identical, byte for byte.
func TestEventIDsPerParty(t *testing.T) {
	w := newWorld(t)
	w.market()
	w.commission("SC1", "SC2", "SC3", "SC4", "SC5")
	const id = "urn:uuid:shared"
	dispense := func(serial string) *pb.ScanEvent {
		ev := w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack(serial))
		ev.EventId = id
		return ev
	}
	// as posts the events signed by the pharmacy under msgID (their own
	// when empty).
	as := func(msgID string, evs ...*pb.ScanEvent) {
		env := capture(evs...)
		env.PartyGln = pharmGLN
		w.post(pharmGLN, w.keys[pharmGLN], env, msgID)
	}
	base := w.n.log.Size()
	first := dispense("SC1")
	as("", first)                                                                                           // base
	w.postAs(pharm2, capture(dispense("SC2")))                                                              // +1: the other pharmacy's own event
	as("late", first)                                                                                       // +2: the same event, past the duplicate window
	as("other", dispense("SC3"))                                                                            // +3: the ID reused for another pack
	as("", dispense("SC4"), w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack("SC5"))) // +4: reused, then a new event

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	last := w.drain(ctx)
	if w.n.log.Size() != base+5 {
		t.Fatalf("ledger size %d, want %d: %s", w.n.log.Size(), base+5, w.lastDeadReason())
	}
	conflict := IDConflictReason(id, base)
	outs := func(i uint64) []*pb.Outcome { return w.entryAt(w.n, base+i).GetOutcomes() }
	if o := outs(0)[0]; !o.GetApplied() {
		t.Errorf("first pharmacy: %v", o)
	}
	if o := outs(1)[0]; !o.GetApplied() || o.GetDuplicate() {
		t.Errorf("second pharmacy, same event ID, its own pack: %v, want applied", o)
	}
	if o := outs(2)[0]; !o.GetDuplicate() || o.GetApplied() {
		t.Errorf("the same event again: %v, want a duplicate", o)
	}
	for _, o := range []*pb.Outcome{outs(3)[0], outs(4)[0]} {
		if o.GetApplied() || o.GetDuplicate() || o.GetReason() != conflict || !IsIDConflict(o) || len(o.GetAlerts()) != 0 {
			t.Errorf("the ID reused for another pack: %v, want refused with %q", o, conflict)
		}
	}
	if o := outs(4)[1]; !o.GetApplied() {
		t.Errorf("the new event next to the reused ID: %v", o)
	}
	for serial, want := range map[string]lifecycle.Status{"SC1": lifecycle.StatusSupplied, "SC2": lifecycle.StatusSupplied,
		"SC3": lifecycle.StatusActive, "SC4": lifecycle.StatusActive, "SC5": lifecycle.StatusSupplied} {
		if p, _, _ := w.n.store.Pack(gtinA, serial); p.Status != want {
			t.Errorf("pack %s is %v, want %v", serial, p.Status, want)
		}
	}
	// Each party's message ID finds its own entry.
	for gln, want := range map[string]uint64{pharmGLN: base, pharm2: base + 1} {
		if i, ok, err := w.n.store.EventIndex(envelope.ScopedEventID(gln, id)); err != nil || !ok || i != want {
			t.Errorf("event ID of %s: entry %d %v %v, want %d", gln, i, ok, err, want)
		}
	}

	w.replayMatches(ctx, last)
}

// TestEventDigestIgnoresTheEventID: an event sent without an ID and the
// same event with an ID have one digest, and so have two sends of the
// event at two times; any other field changes it.
func TestEventDigestIgnoresTheEventID(t *testing.T) {
	w := &world{clock: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	ev := w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack("D1"))
	d1, err := EventDigest(ev)
	if err != nil {
		t.Fatal(err)
	}
	ev.EventId = "urn:uuid:x"
	if d2, _ := EventDigest(ev); d2 != d1 {
		t.Error("the event ID changes the digest")
	}
	ev.EventTime = w.tick()
	if d2, _ := EventDigest(ev); d2 != d1 {
		t.Error("the event time changes the digest")
	}
	ev.ReadPoint = pharmGLN
	if d3, _ := EventDigest(ev); d3 == d1 {
		t.Error("the read point does not change the digest")
	}
}

// TestRefusesAnOldEventTable: a store whose commits did not record the
// event table format (one written before event IDs were scoped to
// parties) is refused, rather than read with keys it does not have.
func TestRefusesAnOldEventTable(t *testing.T) {
	w := newWorld(t)
	dir := w.n.dir
	w.n.stop(t)
	opts := ledger.PebbleOptions()
	opts.Logger = quietPebble{}
	store, err := state.Open(filepath.Join(dir, "pebble"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// The meta key of the format (services/internal/state/keys.go), as a store of
	// format 1 lacks it.
	if err := store.DB().Delete([]byte{0x1F, 0x02}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(store.DB(), ledger.Options{Origin: "test/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{JS: w.js, NC: w.nc, Store: store, Ledger: l, Logger: quiet, NodeKey: w.nodeKey, GenesisKey: w.nodeKey.Public().(ed25519.PublicKey)})
	if !errors.Is(err, ErrEventTableOutdated) || !strings.Contains(err.Error(), "replay the stream into a new data directory") {
		t.Fatalf("New over an old event table: %v, want ErrEventTableOutdated", err)
	}
}
