package sdk

import (
	"testing"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

func TestEventResultsClassifiesEachEvent(t *testing.T) {
	e := &pb.LedgerEntry{EventIds: []string{"a", "b", "c", "d"}, Outcomes: []*pb.Outcome{
		{Applied: true}, {Duplicate: true, Reason: "recorded at ledger index 3"}, {Reason: "pack is not active"},
	}}
	got := EventResults(e)
	want := []struct {
		id string
		v  Verdict
	}{{"a", Applied}, {"b", Duplicate}, {"c", Refused}, {"d", Refused}}
	if len(got) != len(want) {
		t.Fatalf("%d results, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].EventID != w.id || got[i].Verdict != w.v || got[i].Outcome == nil {
			t.Errorf("event %d: %+v, want %s %s", i, got[i], w.id, w.v)
		}
	}
	if got[3].Outcome.GetApplied() {
		t.Error("an event without an outcome reads as applied")
	}
	if (&Outcome{Entry: e}).Refused() != true || (&Outcome{Entry: &pb.LedgerEntry{EventIds: []string{"a"}, Outcomes: []*pb.Outcome{{Applied: true}}}}).Refused() {
		t.Error("Outcome.Refused disagrees with EventResults")
	}
	if len(EventResults(nil)) != 0 || !(&Outcome{}).Refused() {
		t.Error("no entry: no results, and refused")
	}
}
