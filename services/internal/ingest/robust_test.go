package ingest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestOutOfRangeEnumsGoToDeadLetters publishes scans signed by a party
// whose enums are outside their enums: each becomes a dead letter naming
// the field, before anything computes its event ID or applies a rule, and
// the pipeline goes on.
func TestOutOfRangeEnumsGoToDeadLetters(t *testing.T) {
	w := newWorld(t)
	w.market()
	w.commission("EN1")
	size := w.n.log.Size()
	cases := []struct {
		field string
		bad   func(*pb.ScanEvent)
	}{
		{".disposition", func(e *pb.ScanEvent) { e.Disposition = 99 }},
		{".bizStep", func(e *pb.ScanEvent) { e.BizStep = 12345 }},
		{".action", func(e *pb.ScanEvent) { e.Action = -3 }},
		{".type", func(e *pb.ScanEvent) { e.Type = 7 }},
		{".sources[0].type", func(e *pb.ScanEvent) {
			e.Sources = []*pb.SourceDest{{Type: 42, Gln: wsGLN}}
		}},
		{".destinations[0].type", func(e *pb.ScanEvent) {
			e.Destinations = []*pb.SourceDest{{Type: -1, Gln: wsGLN}}
		}},
	}
	for i, c := range cases {
		ev := w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack("EN1"))
		c.bad(ev)
		if e := w.as(pharmGLN, capture(ev)); e != nil {
			t.Fatalf("%s out of range: recorded at %d", c.field, e.GetIndex())
		}
		dead := w.deadLetters()
		if len(dead) != i+1 {
			t.Fatalf("%s: %d dead letters, want %d", c.field, len(dead), i+1)
		}
		if r := dead[i].Header.Get(HeaderReason); !strings.Contains(r, "capture.events[0]"+c.field) || !strings.HasPrefix(r, "validate: ") {
			t.Errorf("%s: reason %q, want a validation error naming the field", c.field, r)
		}
	}
	if w.n.log.Size() != size {
		t.Fatalf("out-of-range enums made %d ledger entries", w.n.log.Size()-size)
	}
	if o := w.step(pharmGLN, pb.BizStep_BIZ_STEP_DISPENSING, pack("EN1")); !o.GetApplied() {
		t.Fatalf("a good dispense afterwards: %s", o.GetReason())
	}
}

// TestPanicBecomesDeadLetter replays a stream into a node whose rules
// panic on one event (a test hook): the message holding it becomes a dead
// letter with the reason "internal error: …", nothing it did before the
// panic survives (its first event's dispense), the other messages of the
// same batch get the outcomes they get on a node without the panic, and
// the node goes on.
func TestPanicBecomesDeadLetter(t *testing.T) {
	w := newWorld(t)
	w.market()
	w.commission("PB1", "PB2", "PB3")
	w.postAs(pharmGLN, capture(w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack("PB1"))))
	w.postAs(pharmGLN, capture(
		w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack("PB2")),
		w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack("BOOM"))))
	w.postAs(pharmGLN, capture(w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack("PB3"))))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	last := w.drain(ctx)
	if len(w.deadLetters()) != 0 {
		t.Fatalf("dead letters before the replay: %s", w.lastDeadReason())
	}

	// The whole stream in one batch: the poisoned message is in the
	// middle of it.
	b := w.startNodeConfigured("panicky", t.TempDir(), 10000, func(p *Pipeline) {
		p.afterEvent = func(ev *lifecycle.Event) {
			if len(ev.Epcs) > 0 && ev.Epcs[0].Pack.Serial == "BOOM" {
				panic("boom")
			}
		}
	})
	if err := b.p.WaitApplied(ctx, last); err != nil {
		t.Fatal(err)
	}
	dead := w.deadLetters()
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	if r := dead[0].Header.Get(HeaderReason); r != "internal error: boom" {
		t.Errorf("reason %q, want %q", r, "internal error: boom")
	}
	if seq := dead[0].Header.Get(HeaderStreamSeq); seq != strconv.FormatUint(last-1, 10) {
		t.Errorf("dead letter of stream sequence %s, want %d", seq, last-1)
	}
	if got, want := b.log.Size(), w.n.log.Size()-1; got != want {
		t.Fatalf("replayed ledger has %d entries, want %d (all but the poisoned message)", got, want)
	}
	for serial, want := range map[string]lifecycle.Status{"PB1": lifecycle.StatusSupplied, "PB2": lifecycle.StatusActive, "PB3": lifecycle.StatusSupplied} {
		p, ok, err := b.store.Pack(gtinA, serial)
		if err != nil || !ok || p.Status != want {
			t.Errorf("pack %s on the replaying node: %v %v %v, want %v", serial, p.Status, ok, err, want)
		}
	}
	// The entries after the poisoned message are those of the first node,
	// one index earlier.
	ea, eb := w.entryAt(w.n, w.n.log.Size()-1), w.entryAt(b, b.log.Size()-1)
	if ea.GetEventIds()[0] != eb.GetEventIds()[0] || !eb.GetOutcomes()[0].GetApplied() {
		t.Errorf("last entry: %v on the first node, %v on the replaying one", ea, eb)
	}
	// It goes on.
	w.as(pharmGLN, capture(w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack("PB2"))))
	if err := b.p.WaitApplied(ctx, w.n.p.Applied()); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := b.store.Pack(gtinA, "PB2"); p.Status != lifecycle.StatusSupplied {
		t.Errorf("PB2 after a later dispense: %v", p.Status)
	}
}
