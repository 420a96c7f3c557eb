package ingest

import (
	"slices"
	"strings"
	"testing"

	"github.com/pedigree-project/pedigree/gs1"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

func ssccOf(n string) string {
	base := "0400000" + strings.Repeat("0", 10-len(n)) + n
	return base + string(gs1.CheckDigit(base))
}

func scanned(serial, lot, expiry string) *pb.Epc {
	return &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: gtinA, Serial: serial, Lot: lot, Expiry: expiry}}}
}

func (w *world) aggregate(gln string, action pb.Action, parent string, children ...*pb.Epc) *pb.Outcome {
	step := pb.BizStep_BIZ_STEP_PACKING
	if action == pb.Action_ACTION_DELETE {
		step = pb.BizStep_BIZ_STEP_UNPACKING
	}
	ev := &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_AGGREGATION, Action: action, BizStep: step,
		EventTime: w.tick(), Parent: sscc(parent), Epcs: children}
	return w.as(gln, capture(ev)).GetOutcomes()[0]
}

func (w *world) hold(gln string, disp pb.Disposition, lot string) *pb.Outcome {
	ev := w.event(pb.BizStep_BIZ_STEP_HOLDING, pb.Action_ACTION_OBSERVE)
	ev.Disposition = disp
	ev.Batches = []*pb.BatchRef{{Gtin: gtinA, Lot: lot}}
	return w.as(gln, capture(ev)).GetOutcomes()[0]
}

// TestEveryAlertCodeThroughTheStream drives one case per alert code through
// the real stream and checks the ledger outcome and the alert published on
// pedigree.alert.<CODE>.
func TestEveryAlertCodeThroughTheStream(t *testing.T) {
	w := newWorld(t)
	w.market()
	feed := w.watchAlerts()
	dispense := pb.BizStep_BIZ_STEP_DISPENSING

	cases := []struct {
		code    string
		applied bool
		run     func() *pb.Outcome
	}{
		{"UNKNOWN_PRODUCT", false, func() *pb.Outcome {
			return w.step(pharmGLN, dispense, &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: gtinB, Serial: "X1"}}})
		}},
		{"UNKNOWN_SERIAL", false, func() *pb.Outcome { return w.step(pharmGLN, dispense, pack("NEVER1")) }},
		{"UNKNOWN_BATCH", false, func() *pb.Outcome { return w.step(pharmGLN, dispense, scanned("NEVER2", "NOLOT", "")) }},
		{"BATCH_MISMATCH", false, func() *pb.Outcome {
			w.commission("S1")
			return w.step(pharmGLN, dispense, scanned("S1", "OTHER", ""))
		}},
		{"EXPIRY_MISMATCH", false, func() *pb.Outcome {
			w.commission("S2")
			return w.step(pharmGLN, dispense, scanned("S2", lotA, "281130"))
		}},
		{"ALREADY_INACTIVE", false, func() *pb.Outcome {
			w.commission("S3")
			if o := w.step(pharmGLN, dispense, pack("S3")); !o.GetApplied() {
				t.Fatalf("first dispense refused: %s", o.GetReason())
			}
			return w.step(pharm2, dispense, pack("S3"))
		}},
		{"CLONE_SUSPECTED", false, func() *pb.Outcome {
			w.commission("S4")
			w.ship(mfrGLN, wsGLN, pack("S4"))
			if o := w.step(wsGLN, pb.BizStep_BIZ_STEP_RECEIVING, pack("S4")); !o.GetApplied() {
				t.Fatalf("receive refused: %s", o.GetReason())
			}
			return w.step(pharmGLN, dispense, pack("S4"))
		}},
		{"CUSTODY_MISMATCH", false, func() *pb.Outcome {
			w.commission("S5")
			w.ship(mfrGLN, wsGLN, pack("S5"))
			return w.step(ws2GLN, pb.BizStep_BIZ_STEP_RECEIVING, pack("S5"))
		}},
		{"INVALID_TRANSITION", false, func() *pb.Outcome {
			w.commission("S6")
			w.step(pharmGLN, dispense, pack("S6"))
			return w.ship(pharmGLN, wsGLN, pack("S6"))
		}},
		{"AGGREGATION_CONFLICT", false, func() *pb.Outcome {
			w.commission("S7")
			if o := w.aggregate(mfrGLN, pb.Action_ACTION_ADD, ssccOf("1"), pack("S7")); !o.GetApplied() {
				t.Fatalf("packing refused: %s", o.GetReason())
			}
			return w.aggregate(mfrGLN, pb.Action_ACTION_ADD, ssccOf("2"), pack("S7"))
		}},
		{"UNDO_NOT_ALLOWED", false, func() *pb.Outcome {
			w.commission("S8")
			w.step(pharmGLN, dispense, pack("S8"))
			return w.step(pharm2, pb.BizStep_BIZ_STEP_UNDO_DECOMMISSION, pack("S8"))
		}},
		{"UNAUTHORIZED_STEP", false, func() *pb.Outcome {
			ev := w.event(pb.BizStep_BIZ_STEP_COMMISSIONING, pb.Action_ACTION_ADD, pack("S9"))
			ev.Ilmd = &pb.Ilmd{Lot: lotA, Expiry: expA}
			return w.as(pharmGLN, capture(ev)).GetOutcomes()[0]
		}},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			before := w.count(feed, c.code)
			o := c.run()
			if o.GetApplied() != c.applied {
				t.Errorf("applied = %v, want %v (reason %q)", o.GetApplied(), c.applied, o.GetReason())
			}
			if codes := alertCodes(o); !slices.Contains(codes, c.code) {
				t.Errorf("alerts %v, want %s (reason %q)", codes, c.code, o.GetReason())
			}
			for _, a := range o.GetAlerts() {
				if a.GetAlertId() == "" || a.GetMessage() == "" || a.GetStatus() != pb.AlertStatus_ALERT_STATUS_OPEN {
					t.Errorf("alert lacks its ID, message or status: %v", a)
				}
			}
			if got := w.count(feed, c.code) - before; got < 1 {
				t.Errorf("no alert published on pedigree.alert.%s", c.code)
			}
		})
	}
}

// TestRefusedWithoutFalsificationAlert checks the EU rule: expired,
// recalled and withdrawn packs are refused with that status and no alert.
func TestRefusedWithoutFalsificationAlert(t *testing.T) {
	w := newWorld(t)
	w.market()
	w.mustApply(mfrGLN, &pb.Envelope{Body: &pb.Envelope_Batch{Batch: &pb.Batch{Gtin: gtinA, Lot: "OLD", Expiry: "240100"}}})
	w.mustApply(mfrGLN, &pb.Envelope{Body: &pb.Envelope_Batch{Batch: &pb.Batch{Gtin: gtinA, Lot: "WD", Expiry: expA}}})
	ev := w.event(pb.BizStep_BIZ_STEP_COMMISSIONING, pb.Action_ACTION_ADD, pack("OLD1"))
	ev.EventTime = nil
	ev.EventTime = w.tick()
	ev.Ilmd = &pb.Ilmd{Lot: "OLD", Expiry: "240100"}
	// Commissioning into an expired batch is itself refused; backdate it.
	saved := w.clock
	w.clock = w.clock.AddDate(-3, 0, 0)
	ev.EventTime = w.tick()
	w.mustApply(mfrGLN, capture(ev))
	w.clock = saved
	w.commission("R1")
	ev = w.event(pb.BizStep_BIZ_STEP_COMMISSIONING, pb.Action_ACTION_ADD, pack("W1"))
	ev.Ilmd = &pb.Ilmd{Lot: "WD", Expiry: expA}
	w.mustApply(mfrGLN, capture(ev))
	if o := w.hold(mfrGLN, pb.Disposition_DISPOSITION_RECALLED, lotA); !o.GetApplied() {
		t.Fatalf("recall refused: %s", o.GetReason())
	}
	if o := w.hold(regGLN, pb.Disposition_DISPOSITION_WITHDRAWN, "WD"); !o.GetApplied() {
		t.Fatalf("withdrawal by a regulator refused: %s", o.GetReason())
	}
	for _, c := range []struct {
		serial string
		status pb.PackStatus
	}{{"OLD1", pb.PackStatus_PACK_STATUS_EXPIRED}, {"R1", pb.PackStatus_PACK_STATUS_RECALLED}, {"W1", pb.PackStatus_PACK_STATUS_WITHDRAWN}} {
		o := w.step(pharmGLN, pb.BizStep_BIZ_STEP_DISPENSING, pack(c.serial))
		if o.GetApplied() || len(o.GetAlerts()) != 0 || o.GetStatus() != c.status {
			t.Errorf("dispense of %s: applied=%v alerts=%v status=%v, want refused, no alert, %v",
				c.serial, o.GetApplied(), alertCodes(o), o.GetStatus(), c.status)
		}
	}
	if o := w.hold(wsGLN, pb.Disposition_DISPOSITION_RECALLED, lotA); o.GetApplied() || !slices.Contains(alertCodes(o), "UNAUTHORIZED_STEP") {
		t.Errorf("recall by a wholesaler: applied=%v alerts=%v, want refused with UNAUTHORIZED_STEP", o.GetApplied(), alertCodes(o))
	}
}

// TestMasterDataRules checks ownership rules applied in stream order.
func TestMasterDataRules(t *testing.T) {
	w := newWorld(t)
	w.market()
	e := w.as(mfr2GLN, &pb.Envelope{Body: &pb.Envelope_Batch{Batch: &pb.Batch{Gtin: gtinA, Lot: "NOTMINE", Expiry: expA}}})
	if o := e.GetOutcomes()[0]; o.GetApplied() || !strings.Contains(o.GetReason(), "manufacturer") {
		t.Errorf("batch of another manufacturer's product: %v", o)
	}
	e = w.as(pharmGLN, &pb.Envelope{Body: &pb.Envelope_Product{Product: &pb.Product{Gtin: gtinB, Name: "x"}}})
	if o := e.GetOutcomes()[0]; o.GetApplied() {
		t.Errorf("a pharmacy registered a product: %v", o)
	}
	e = w.as(mfrGLN, &pb.Envelope{Body: &pb.Envelope_Product{Product: &pb.Product{Gtin: gtinA, Name: "again"}}})
	if o := e.GetOutcomes()[0]; o.GetApplied() || !strings.Contains(o.GetReason(), "already registered") {
		t.Errorf("second registration of a product: %v", o)
	}
}
