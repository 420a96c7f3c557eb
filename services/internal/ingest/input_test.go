package ingest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/subjects"
)

// TestBadInputGoesToDeadLetters sends each kind of bad message and checks
// that it lands in the dead-letter stream with a reason naming the problem,
// and that the pipeline keeps going.
func TestBadInputGoesToDeadLetters(t *testing.T) {
	w := newWorld(t)
	w.market()
	w.commission("OK1")
	_, strangerKey, _ := envelope.GenerateKey()

	sealed := func(signer string, key []byte, env *pb.Envelope) []byte {
		env.PartyGln = signer
		wire, err := envelope.Seal(env, signer, key)
		if err != nil {
			t.Fatal(err)
		}
		return wire
	}
	dispenseOf := func(epc *pb.Epc) *pb.Envelope {
		return capture(w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, epc))
	}
	huge := make([]*pb.Epc, 100000)
	for i := range huge {
		huge[i] = pack(fmt.Sprintf("H%06d", i))
	}
	wrongSig := sealed(pharmGLN, w.keys[pharmGLN], dispenseOf(pack("OK1")))
	wrongSig[len(wrongSig)-5] ^= 0x01

	cases := []struct {
		name, subject string
		data          []byte
		reason        string
	}{
		{"malformed protobuf", subjects.ScanSubject(pharmGLN), []byte{0x0a, 0xff, 0xff, 0x01}, "decode"},
		{"wrong signature", subjects.ScanSubject(pharmGLN), wrongSig, "signature"},
		{"unknown party", subjects.ScanSubject("4099999000006"), sealed("4099999000006", strangerKey, dispenseOf(pack("OK1"))), "unknown party"},
		{"GTIN check digit", subjects.ScanSubject(pharmGLN), sealed(pharmGLN, w.keys[pharmGLN],
			dispenseOf(&pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: "09506000134353", Serial: "A"}}})), "pack.gtin"},
		{"21-character serial", subjects.ScanSubject(pharmGLN), sealed(pharmGLN, w.keys[pharmGLN],
			dispenseOf(pack(strings.Repeat("A", 21)))), "pack.serial"},
		{"date 261332", subjects.ScanSubject(pharmGLN), sealed(pharmGLN, w.keys[pharmGLN],
			dispenseOf(scanned("OK1", lotA, "261332"))), "pack.expiry"},
		{"100,000-EPC event", subjects.ScanSubject(mfrGLN), sealed(mfrGLN, w.keys[mfrGLN],
			capture(w.event(pb.BizStep_BIZ_STEP_COMMISSIONING, pb.Action_ACTION_ADD, huge...))), "at most 10000 objects"},
		{"subject of another party", subjects.ScanSubject(pharm2), sealed(pharmGLN, w.keys[pharmGLN], dispenseOf(pack("OK1"))), "subject"},
	}
	sizeBefore := w.n.log.Size()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w.publish(c.subject, fmt.Sprintf("bad-%d", i), c.data)
			dead := w.deadLetters()
			if len(dead) != i+1 {
				t.Fatalf("dead-letter stream holds %d messages, want %d", len(dead), i+1)
			}
			d := dead[i]
			if reason := d.Header.Get(HeaderReason); !strings.Contains(reason, c.reason) {
				t.Errorf("reason %q does not name %q", reason, c.reason)
			}
			if d.Header.Get(HeaderSubject) != c.subject || string(d.Data) != string(c.data) {
				t.Errorf("dead letter does not keep the original subject and bytes")
			}
		})
	}
	if got := w.n.log.Size(); got != sizeBefore {
		t.Errorf("bad input appended %d ledger entries", got-sizeBefore)
	}
	// The pipeline goes on.
	if o := w.step(pharmGLN, pb.BizStep_BIZ_STEP_DISPENSING, pack("OK1")); !o.GetApplied() {
		t.Fatalf("a good dispense after bad input was refused: %s", o.GetReason())
	}
}

// TestEventsRecordedOnce sends the same event twice in different envelopes
// and the same envelope twice: the ledger records the event once.
func TestEventsRecordedOnce(t *testing.T) {
	w := newWorld(t)
	w.market()
	w.commission("D1")
	ev := w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack("D1"))
	first := w.as(pharmGLN, capture(ev))
	if !first.GetOutcomes()[0].GetApplied() {
		t.Fatalf("dispense refused: %s", first.GetOutcomes()[0].GetReason())
	}
	size := w.n.log.Size()
	// The same envelope again: the stream's duplicate window drops it.
	again := w.as(pharmGLN, capture(ev))
	if again.GetIndex() != first.GetIndex() || w.n.log.Size() != size {
		t.Fatalf("a resent envelope made a new entry")
	}
	// The same event inside another envelope (with a second event): the
	// first is a duplicate, the second applies.
	w.commission("D2")
	other := w.as(pharmGLN, capture(ev, w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack("D2"))))
	outs := other.GetOutcomes()
	if len(outs) != 2 || !outs[0].GetDuplicate() || outs[0].GetApplied() || !outs[1].GetApplied() {
		t.Fatalf("outcomes %v, want [duplicate, applied]", outs)
	}
	if len(outs[0].GetAlerts()) != 0 {
		t.Errorf("a duplicate raised alerts: %v", outs[0].GetAlerts())
	}
}

// TestTwoNodesReachTheSameRoot replays the stream into a second node from
// scratch: the ledgers are identical.
func TestTwoNodesReachTheSameRoot(t *testing.T) {
	w := newWorld(t)
	w.market()
	w.commission("T1", "T2", "T3", "T4")
	w.ship(mfrGLN, wsGLN, pack("T1"), pack("T2"))
	w.step(wsGLN, pb.BizStep_BIZ_STEP_RECEIVING, pack("T1"))
	w.step(pharmGLN, pb.BizStep_BIZ_STEP_DISPENSING, pack("T2"))
	w.step(pharmGLN, pb.BizStep_BIZ_STEP_DISPENSING, pack("T3"))
	w.step(pharm2, pb.BizStep_BIZ_STEP_DISPENSING, pack("T3"))
	w.publish(subjects.ScanSubject(pharmGLN), "junk", []byte("junk"))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	last := w.n.p.Applied()
	b := w.startNode("ledger-b", t.TempDir())
	if err := b.p.WaitApplied(ctx, last); err != nil {
		t.Fatal(err)
	}
	sa, ra := w.n.log.Head()
	sb, rb := b.log.Head()
	if sa != sb || ra != rb || sa < 10 {
		t.Fatalf("node A: size %d root %x; node B: size %d root %x", sa, ra, sb, rb)
	}
	for i := range sa {
		ea, _ := w.n.log.Entry(ctx, i)
		eb, _ := b.log.Entry(ctx, i)
		if string(ea.Data) != string(eb.Data) {
			t.Fatalf("entry %d differs between the nodes", i)
		}
	}
}
