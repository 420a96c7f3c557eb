package state

import (
	"slices"
	"testing"
)

// TestEPCISIndexes writes the EPCIS indexes of a few events, one by one
// and in a batch, and reads them back by event ID and by class.
func TestEPCISIndexes(t *testing.T) {
	s := openStore(t)
	if ok, err := s.EPCISIndexComplete(); err != nil || ok {
		t.Fatalf("a new store's EPCIS index complete: %v %v", ok, err)
	}
	b := s.DB().NewBatch()
	if err := PutEPCISEvent(b, 3, "urn:uuid:a", [][2]string{{"09506000134352", "L1"}}); err != nil {
		t.Fatal(err)
	}
	err := PutEPCISEvents(b, []EPCISEvent{
		{Index: 9, ID: "urn:uuid:b", Classes: [][2]string{{"09506000134352", "L1"}, {"09506000134352", "L10"}}},
		{Index: 7, ID: "urn:uuid:a"}, // another party's event with the same ID
		{Index: 12, ID: "ni:///sha-256;00?ver=CBV2.0"},
	})
	if err == nil {
		err = PutIndexFormats(b)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(b); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string][]uint64{"urn:uuid:a": {3, 7}, "urn:uuid:b": {9}, "ni:///sha-256;00?ver=CBV2.0": {12}, "urn:uuid:c": nil} {
		if got, err := s.EventIDLog(id); err != nil || !slices.Equal(got, want) {
			t.Errorf("event %s: %v %v, want %v", id, got, err, want)
		}
	}
	for lot, want := range map[string][]uint64{"L1": {3, 9}, "L10": {9}, "L": nil} {
		if got, err := s.ClassLog("09506000134352", lot); err != nil || !slices.Equal(got, want) {
			t.Errorf("class %s: %v %v, want %v", lot, got, err, want)
		}
	}
	if ok, err := s.EPCISIndexComplete(); err != nil || !ok {
		t.Fatalf("EPCIS index complete after a commit: %v %v", ok, err)
	}
}
