package ingest

import (
	"context"
	"strings"
	"testing"
	"time"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestCompanyPrefixesInOneBatch publishes, without waiting, prefixes that
// depend on each other and products that depend on them: a prefix taken
// earlier in the same batch is taken, and a product of the manufacturer
// must lie inside the prefix added just before. Replayed one message per
// batch and all in one batch, the state is the same byte for byte.
func TestCompanyPrefixesInOneBatch(t *testing.T) {
	w := newWorld(t)
	w.market()
	base := w.n.log.Size()
	addPrefix := func(gln, prefix string) {
		w.postAdmin(&pb.Envelope{Body: &pb.Envelope_Prefix{Prefix: &pb.PartyPrefix{PartyGln: gln, CompanyPrefix: prefix}}})
	}
	addPrefix(mfrGLN, "7000001")                                                                                             // base: applied
	addPrefix(wsGLN, "70000012")                                                                                             // +1: inside the prefix just added
	addPrefix(wsGLN, "700000")                                                                                               // +2: around it
	addPrefix(wsGLN, "8000001")                                                                                              // +3: applied
	w.postAs(mfrGLN, &pb.Envelope{Body: &pb.Envelope_Product{Product: &pb.Product{Gtin: gtinB, Name: "Outside"}}})           // +4: refused
	w.postAs(mfrGLN, &pb.Envelope{Body: &pb.Envelope_Product{Product: &pb.Product{Gtin: "07000001000019", Name: "Inside"}}}) // +5: applied
	addPrefix(mfrGLN, "12a4")                                                                                                // dead letter

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	last := w.drain(ctx)
	want := map[uint64]string{
		base:     "",
		base + 1: "70000012 extends 7000001",
		base + 2: "700000 starts 7000001",
		base + 3: "",
		base + 4: "not inside the company prefixes of manufacturer " + mfrGLN,
		base + 5: "",
	}
	for i, reason := range want {
		o := w.entryAt(w.n, i).GetOutcomes()[0]
		if reason == "" && !o.GetApplied() || reason != "" && (o.GetApplied() || !strings.Contains(o.GetReason(), reason)) {
			t.Errorf("entry %d: %v, want %q", i, o, reason)
		}
	}
	if w.n.log.Size() != base+6 {
		t.Fatalf("ledger size %d, want %d (the malformed prefix a dead letter)", w.n.log.Size(), base+6)
	}
	if r := w.lastDeadReason(); !strings.Contains(r, "prefix.companyPrefix:") {
		t.Errorf("dead letter %q, want it to name prefix.companyPrefix", r)
	}
	for digits, wantLen := range map[string]int{"7000001000019": 7, "8000001999999": 7} {
		if l, _, err := w.n.store.CompanyPrefixLength(digits); err != nil || l != wantLen {
			t.Errorf("CompanyPrefixLength(%s) = %d, %v", digits, l, err)
		}
	}
	if _, _, err := w.n.store.CompanyPrefixLength("7000002000019"); err == nil {
		t.Error("an unregistered prefix was found")
	}
	if r, err := w.n.store.CompanyPrefix("70000"); err != nil || r.Exact || r.Prefix != "7000001" || r.Party != mfrGLN {
		t.Errorf("the record under 70000: %+v, %v", r, err)
	}
	if p, err := w.n.store.Party(mfrGLN); err != nil || strings.Join(p.GetCompanyPrefixes(), ",") != "7000001" {
		t.Errorf("party record: %v, %v", p, err)
	}
	w.replayMatches(ctx, last)
}
