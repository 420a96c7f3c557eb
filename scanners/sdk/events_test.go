package sdk_test

import (
	"strings"
	"testing"
	"time"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/sdk"
)

const (
	wholesaler = "4023456000000"
	pallet     = "340123450000000000"
)

func newBuilder(t *testing.T) *sdk.Builder {
	t.Helper()
	b, err := sdk.NewBuilder(party, "", testClock())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBuilderShapesEachStep(t *testing.T) {
	b := newBuilder(t)
	pack := sdk.PackOf(gtin, "S1", "LOT1", "281200")
	const (
		object, aggregation = pb.EventType_EVENT_TYPE_OBJECT, pb.EventType_EVENT_TYPE_AGGREGATION
		add, observe, del   = pb.Action_ACTION_ADD, pb.Action_ACTION_OBSERVE, pb.Action_ACTION_DELETE
	)
	for _, tc := range []struct {
		name   string
		build  func() (*pb.ScanEvent, error)
		step   pb.BizStep
		typ    pb.EventType
		action pb.Action
		disp   pb.Disposition
	}{
		{"commission", func() (*pb.ScanEvent, error) { return b.Commission(pack) }, pb.BizStep_BIZ_STEP_COMMISSIONING, object, add, pb.Disposition_DISPOSITION_ACTIVE},
		{"pack", func() (*pb.ScanEvent, error) { return b.Pack(pallet, pack) }, pb.BizStep_BIZ_STEP_PACKING, aggregation, add, 0},
		{"unpack", func() (*pb.ScanEvent, error) { return b.Unpack(pallet, pack) }, pb.BizStep_BIZ_STEP_UNPACKING, aggregation, del, 0},
		{"ship", func() (*pb.ScanEvent, error) { return b.Ship(wholesaler, sdk.ContainerOf(pallet)) }, pb.BizStep_BIZ_STEP_SHIPPING, object, observe, pb.Disposition_DISPOSITION_IN_TRANSIT},
		{"receive", func() (*pb.ScanEvent, error) { return b.Receive(sdk.ContainerOf(pallet)) }, pb.BizStep_BIZ_STEP_RECEIVING, object, observe, pb.Disposition_DISPOSITION_SELLABLE_NOT_ACCESSIBLE},
		{"return", func() (*pb.ScanEvent, error) { return b.Return(pack) }, pb.BizStep_BIZ_STEP_RETURNING, object, observe, 0},
		{"dispense", func() (*pb.ScanEvent, error) { return b.Dispense(pack) }, pb.BizStep_BIZ_STEP_DISPENSING, object, observe, pb.Disposition_DISPOSITION_DISPENSED},
		{"decommission", func() (*pb.ScanEvent, error) { return b.Decommission(pb.Disposition_DISPOSITION_STOLEN, pack) }, pb.BizStep_BIZ_STEP_DECOMMISSIONING, object, del, pb.Disposition_DISPOSITION_STOLEN},
		{"destroy", func() (*pb.ScanEvent, error) { return b.Destroy(pack) }, pb.BizStep_BIZ_STEP_DESTROYING, object, del, pb.Disposition_DISPOSITION_DESTROYED},
		{"verify", func() (*pb.ScanEvent, error) { return b.Verify(pack) }, pb.BizStep_BIZ_STEP_INSPECTING, object, observe, 0},
		{"undo", func() (*pb.ScanEvent, error) { return b.Undo(pack) }, pb.BizStep_BIZ_STEP_UNDO_DECOMMISSION, object, observe, pb.Disposition_DISPOSITION_ACTIVE},
	} {
		ev, err := tc.build()
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if ev.GetBizStep() != tc.step || ev.GetType() != tc.typ || ev.GetAction() != tc.action || ev.GetDisposition() != tc.disp {
			t.Errorf("%s: step %v type %v action %v disposition %v", tc.name, ev.GetBizStep(), ev.GetType(), ev.GetAction(), ev.GetDisposition())
		}
		if ev.GetReadPoint() != party || ev.GetEventTime() == nil || ev.GetEventTimeZoneOffset() != "+00:00" || ev.GetEventId() != "" {
			t.Errorf("%s: readPoint %q time %v offset %q id %q", tc.name, ev.GetReadPoint(), ev.GetEventTime(), ev.GetEventTimeZoneOffset(), ev.GetEventId())
		}
	}
}

func TestBuilderFillsStepFields(t *testing.T) {
	b := newBuilder(t)
	ev, err := b.Commission(sdk.PackOf(gtin, "S1", "LOT1", "281200"), sdk.PackOf(gtin, "S2", "LOT1", "281200"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.GetIlmd().GetLot() != "LOT1" || ev.GetIlmd().GetExpiry() != "281200" {
		t.Errorf("commissioning ILMD %v, want the packs' lot and expiry as encoded", ev.GetIlmd())
	}
	ev, err = b.Ship(wholesaler, sdk.ContainerOf(pallet))
	if err != nil {
		t.Fatal(err)
	}
	if d := ev.GetDestinations(); len(d) != 1 || d[0].GetGln() != wholesaler || d[0].GetType() != pb.SourceDestType_SOURCE_DEST_TYPE_OWNING_PARTY {
		t.Errorf("shipping destinations %v", d)
	}
	if s := ev.GetSources(); len(s) != 1 || s[0].GetGln() != party {
		t.Errorf("shipping sources %v", s)
	}
	ev, err = b.Pack(pallet, sdk.PackOf(gtin, "S1", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if ev.GetParent().GetSscc() != pallet {
		t.Errorf("packing parent %v", ev.GetParent())
	}
}

func TestBuilderRefusesIncompleteEvents(t *testing.T) {
	b := newBuilder(t)
	pack := sdk.PackOf(gtin, "S1", "LOT1", "281200")
	for _, tc := range []struct {
		name, want string
		build      func() (*pb.ScanEvent, error)
	}{
		{"ship without destination", "destination", func() (*pb.ScanEvent, error) { return b.Ship("", pack) }},
		{"ship to a bad GLN", "destination GLN", func() (*pb.ScanEvent, error) { return b.Ship("4023456000001", pack) }},
		{"pack without parent", "parent", func() (*pb.ScanEvent, error) {
			return b.Event(pb.BizStep_BIZ_STEP_PACKING, sdk.Details{}, pack)
		}},
		{"parent on dispensing", "parent", func() (*pb.ScanEvent, error) {
			return b.Event(pb.BizStep_BIZ_STEP_DISPENSING, sdk.Details{Parent: pallet}, pack)
		}},
		{"pack into a bad SSCC", "SSCC", func() (*pb.ScanEvent, error) { return b.Pack("340123450000000001", pack) }},
		{"decommission without reason", "reason", func() (*pb.ScanEvent, error) { return b.Decommission(0, pack) }},
		{"decommission as dispensed", "reason", func() (*pb.ScanEvent, error) { return b.Decommission(pb.Disposition_DISPOSITION_DISPENSED, pack) }},
		{"commission two lots", "one event per batch", func() (*pb.ScanEvent, error) {
			return b.Commission(pack, sdk.PackOf(gtin, "S2", "LOT2", "281200"))
		}},
		{"commission without lot", "lot", func() (*pb.ScanEvent, error) { return b.Commission(sdk.PackOf(gtin, "S1", "", "")) }},
		{"commission a pallet", "containers", func() (*pb.ScanEvent, error) { return b.Commission(sdk.ContainerOf(pallet)) }},
		{"bad GTIN", "GTIN", func() (*pb.ScanEvent, error) { return b.Dispense(sdk.PackOf("09506000134353", "S1", "", "")) }},
		{"bad serial", "serial", func() (*pb.ScanEvent, error) { return b.Dispense(sdk.PackOf(gtin, "S 1", "", "")) }},
		{"expiry month 13", "invalid month", func() (*pb.ScanEvent, error) { return b.Dispense(sdk.PackOf(gtin, "S1", "LOT1", "281300")) }},
		{"expiry 30 February", "invalid day", func() (*pb.ScanEvent, error) { return b.Dispense(sdk.PackOf(gtin, "S1", "LOT1", "280230")) }},
		{"no objects", "at least one", func() (*pb.ScanEvent, error) { return b.Dispense() }},
		{"holding", "not a scan step", func() (*pb.ScanEvent, error) {
			return b.Event(pb.BizStep_BIZ_STEP_HOLDING, sdk.Details{}, pack)
		}},
	} {
		if _, err := tc.build(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestParseStepReadsEveryCLIWord(t *testing.T) {
	for _, w := range []string{"commissioning", "packing", "unpacking", "shipping", "receiving", "dispensing",
		"decommissioning", "destroying", "inspecting", "returning", "undo"} {
		s, err := sdk.ParseStep(w)
		if err != nil {
			t.Errorf("%s: %v", w, err)
			continue
		}
		if sdk.StepName(s) != w {
			t.Errorf("StepName(ParseStep(%q)) = %q", w, sdk.StepName(s))
		}
	}
	if s, err := sdk.ParseStep("Undo-Decommission"); err != nil || s != pb.BizStep_BIZ_STEP_UNDO_DECOMMISSION {
		t.Errorf("undo-decommission: %v %v", s, err)
	}
	for _, bad := range []string{"", "holding", "selling"} {
		if _, err := sdk.ParseStep(bad); err == nil {
			t.Errorf("ParseStep(%q) accepted", bad)
		}
	}
	if d, err := sdk.ParseDisposition("free-sample"); err != nil || d != pb.Disposition_DISPOSITION_FREE_SAMPLE {
		t.Errorf("free-sample: %v %v", d, err)
	}
	if _, err := sdk.ParseDisposition("unspecified"); err == nil {
		t.Error("ParseDisposition accepted unspecified")
	}
}

func TestParseObjectFromEachForm(t *testing.T) {
	for _, scan := range []string{
		"]d2010950600013435217281231" + "10LOT1\x1d21S1",
		"(01)09506000134352(17)281231(10)LOT1(21)S1",
		"https://id.example.com/01/09506000134352/10/LOT1/21/S1?17=281231",
	} {
		o, err := sdk.ParseObject(scan)
		if err != nil {
			t.Errorf("%q: %v", scan, err)
			continue
		}
		if p := o.GetPack(); p.GetGtin() != gtin || p.GetSerial() != "S1" || p.GetLot() != "LOT1" || p.GetExpiry() != "281231" {
			t.Errorf("%q: %v", scan, p)
		}
	}
	if o, err := sdk.ParseObject("(00)" + pallet); err != nil || o.GetSscc() != pallet {
		t.Errorf("SSCC: %v %v", o, err)
	}
	if _, err := sdk.ParseObject("(01)09506000134352(10)LOT1"); err == nil || !strings.Contains(err.Error(), "serial") {
		t.Errorf("GTIN without serial: %v", err)
	}
}

func TestEventIDDependsOnlyOnTheInjectedClock(t *testing.T) {
	id := func() string {
		b, err := sdk.NewBuilder(party, "", func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600)) })
		if err != nil {
			t.Fatal(err)
		}
		ev, err := b.Dispense(sdk.PackOf(gtin, "S1", "", ""))
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventTimeZoneOffset() != "+01:00" {
			t.Errorf("offset %q, want +01:00", ev.GetEventTimeZoneOffset())
		}
		return ev.String()
	}
	if a, b := id(), id(); a != b {
		t.Fatalf("two builds with the same clock differ:\n%s\n%s", a, b)
	}
}
