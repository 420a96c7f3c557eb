package ingest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/subjects"
)

// post seals env as signer and publishes it under msgID (its own message
// ID when empty) without waiting for the ledger.
func (w *world) post(signer string, key ed25519.PrivateKey, env *pb.Envelope, msgID string) {
	w.t.Helper()
	wire, err := envelope.Seal(env, signer, key)
	if err != nil {
		w.t.Fatal(err)
	}
	if msgID == "" {
		body, _ := envelope.Marshal(env)
		msgID = envelope.MsgID(env, body)
	}
	m := nats.NewMsg(subjects.ScanSubject(env.GetPartyGln()))
	m.Data = wire
	m.Header.Set(jetstream.MsgIDHeader, msgID)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := w.js.PublishMsg(ctx, m); err != nil {
		w.t.Fatal(err)
	}
}

// postAs posts env signed by party gln.
func (w *world) postAs(gln string, env *pb.Envelope) {
	env.PartyGln = gln
	w.post(gln, w.keys[gln], env, "")
}

// postAdmin posts env as the admin, through the node's key.
func (w *world) postAdmin(env *pb.Envelope) {
	env.PartyGln, env.ApiTokenId = adminGLN, "0000000000000001"
	w.post(NodeSignerPrefix+"test-node", w.nodeKey, env, "")
}

// TestPipelinedBatchesMatchOneBatch publishes, without waiting, messages
// that each depend on the one before (master data then its use, a key
// registered then used, a token issued, used, revoked and used again, an
// alert raised then reviewed, a pack dispensed twice, events repeated),
// and replays the stream into a node that commits one message per batch
// (so that every message is built while the one before it commits) and
// into one that takes the whole stream in one batch. The ledgers and the
// state are identical, byte for byte, to the first node's.
func TestPipelinedBatchesMatchOneBatch(t *testing.T) {
	w := newWorld(t)
	w.market()
	base := w.n.log.Size()
	expB := "291231"
	w.postAs(mfrGLN, &pb.Envelope{Body: &pb.Envelope_Product{Product: &pb.Product{Gtin: gtinB, Name: "Ibuprofen 400 mg"}}}) // base
	w.postAs(mfrGLN, &pb.Envelope{Body: &pb.Envelope_Batch{Batch: &pb.Batch{Gtin: gtinB, Lot: "LB", Expiry: expB}}})        // +1
	var epcs []*pb.Epc
	for i := range 8 {
		epcs = append(epcs, &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: gtinB, Serial: fmt.Sprintf("Q%d", i)}}})
	}
	com := w.event(pb.BizStep_BIZ_STEP_COMMISSIONING, pb.Action_ACTION_ADD, epcs...)
	com.Ilmd = &pb.Ilmd{Lot: "LB", Expiry: expB}
	w.postAs(mfrGLN, capture(com)) // +2
	dispense := func(i int) *pb.ScanEvent {
		return w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, epcs[i])
	}
	first := dispense(1)
	w.postAs(pharmGLN, capture(first))              // +3
	w.postAs(pharmGLN, capture(first, dispense(2))) // +4: a duplicate, then applied
	w.postAs(pharm2, capture(dispense(1)))          // +5: ALREADY_INACTIVE
	newPub, newKey, _ := envelope.GenerateKey()
	w.postAs(pharmGLN, &pb.Envelope{Body: &pb.Envelope_Key{Key: &pb.PartyKey{PartyGln: pharmGLN, PublicKey: newPub}}}) // +6
	env := capture(dispense(3))
	env.PartyGln = pharmGLN
	w.post(pharmGLN, newKey, env, "")                                                                                                                       // +7: signed with the key registered just before
	w.postAdmin(&pb.Envelope{Body: &pb.Envelope_Token{Token: &pb.TokenChange{PartyGln: pharm2, TokenId: "00000000000000aa", TokenHash: make([]byte, 32)}}}) // +8
	viaToken := func(ev *pb.ScanEvent) {
		env := capture(ev)
		env.PartyGln, env.ApiTokenId = pharm2, "00000000000000aa"
		w.post(NodeSignerPrefix+"test-node", w.nodeKey, env, "")
	}
	viaToken(dispense(4))                                                                                                                    // +9
	w.postAdmin(&pb.Envelope{Body: &pb.Envelope_Token{Token: &pb.TokenChange{PartyGln: pharm2, TokenId: "00000000000000aa", Revoke: true}}}) // +10
	viaToken(dispense(5))                                                                                                                    // dead letter: the token was revoked just before
	ship := w.event(pb.BizStep_BIZ_STEP_SHIPPING, pb.Action_ACTION_OBSERVE, epcs[6])
	ship.Destinations = []*pb.SourceDest{{Type: pb.SourceDestType_SOURCE_DEST_TYPE_OWNING_PARTY, Gln: wsGLN}}
	w.postAs(mfrGLN, capture(ship))                                                                      // +11
	w.postAs(ws2GLN, capture(w.event(pb.BizStep_BIZ_STEP_RECEIVING, pb.Action_ACTION_OBSERVE, epcs[6]))) // +12: CUSTODY_MISMATCH
	alertID := fmt.Sprintf("%d-0", base+12)
	w.postAs(regGLN, &pb.Envelope{Body: &pb.Envelope_AlertReview{AlertReview: &pb.AlertReview{AlertId: alertID,
		Status: pb.AlertStatus_ALERT_STATUS_INVESTIGATING}}}) // +13
	hold := w.event(pb.BizStep_BIZ_STEP_HOLDING, pb.Action_ACTION_OBSERVE)
	hold.Disposition = pb.Disposition_DISPOSITION_RECALLED
	hold.Batches = []*pb.BatchRef{{Gtin: gtinB, Lot: "LB"}}
	w.postAs(mfrGLN, capture(hold))          // +14
	w.postAs(pharmGLN, capture(dispense(7))) // +15: refused, recalled
	again := &pb.Envelope{PartyGln: mfrGLN, Body: &pb.Envelope_Product{Product: &pb.Product{Gtin: gtinB, Name: "Ibuprofen 400 mg"}}}
	w.post(mfrGLN, w.keys[mfrGLN], again, "past the stream's duplicate window") // +16: recorded as a duplicate

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	last := w.drain(ctx)
	want := map[uint64]func(*pb.Outcome) bool{
		base + 5:  func(o *pb.Outcome) bool { return slices0(alertCodes(o)) == "ALREADY_INACTIVE" },
		base + 7:  func(o *pb.Outcome) bool { return o.GetApplied() },
		base + 9:  func(o *pb.Outcome) bool { return o.GetApplied() },
		base + 13: func(o *pb.Outcome) bool { return o.GetApplied() },
		base + 15: func(o *pb.Outcome) bool {
			return !o.GetApplied() && o.GetStatus() == pb.PackStatus_PACK_STATUS_RECALLED
		},
		base + 16: func(o *pb.Outcome) bool { return o.GetDuplicate() },
	}
	for i, ok := range want {
		if e := w.entryAt(w.n, i); !ok(e.GetOutcomes()[0]) {
			t.Errorf("entry %d: unexpected outcome %v", i, e.GetOutcomes())
		}
	}
	if outs := w.entryAt(w.n, base+4).GetOutcomes(); !outs[0].GetDuplicate() || !outs[1].GetApplied() {
		t.Errorf("entry %d: outcomes %v, want [duplicate, applied]", base+4, outs)
	}
	if w.n.log.Size() != base+17 {
		t.Fatalf("ledger size %d, want %d (one message a dead letter)", w.n.log.Size(), base+17)
	}

	w.replayMatches(ctx, last)
}

// replayMatches replays the stream up to sequence last into a node that
// commits one message per batch and into one that takes it all in one
// batch: both stores must be the world's node's, byte for byte.
func (w *world) replayMatches(ctx context.Context, last uint64) {
	w.t.Helper()
	one := w.startNodeWith("one-per-batch", w.t.TempDir(), 1)
	all := w.startNodeWith("one-batch", w.t.TempDir(), 10000)
	for _, n := range []*node{one, all} {
		if err := n.p.WaitApplied(ctx, last); err != nil {
			w.t.Fatal(err)
		}
		if d := diffDB(w.n.store.DB(), n.store.DB()); d != "" {
			w.t.Errorf("node %s: %s", n.p.cfg.Consumer, d)
		}
	}
}

func slices0(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func (w *world) entryAt(n *node, index uint64) *pb.LedgerEntry {
	w.t.Helper()
	e, err := n.log.Entry(context.Background(), index)
	if err != nil {
		w.t.Fatal(err)
	}
	entry := &pb.LedgerEntry{}
	if err := proto.Unmarshal(e.Data, entry); err != nil {
		w.t.Fatal(err)
	}
	return entry
}

// diffDB describes the first difference between two DBs' contents, or
// returns "".
func diffDB(a, b *pebble.DB) string {
	ia, err := a.NewIter(nil)
	if err != nil {
		return err.Error()
	}
	defer ia.Close()
	ib, err := b.NewIter(nil)
	if err != nil {
		return err.Error()
	}
	defer ib.Close()
	okA, okB := ia.First(), ib.First()
	for ; okA && okB; okA, okB = ia.Next(), ib.Next() {
		if !bytes.Equal(ia.Key(), ib.Key()) {
			return fmt.Sprintf("key %x where the reference has %x", ib.Key(), ia.Key())
		}
		if !bytes.Equal(ia.Value(), ib.Value()) {
			return fmt.Sprintf("key %x holds %x, the reference %x", ia.Key(), ib.Value(), ia.Value())
		}
	}
	if okA != okB {
		return fmt.Sprintf("one DB has more keys (reference: %v)", okA)
	}
	return ""
}
