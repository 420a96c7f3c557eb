package simulate_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/client"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/simulate"
)

// TestBatchTraceIsExactAfterAMarket runs a market and checks every lot's
// batch trace against the packs one by one: the counts by effective status
// and custodian equal what the regulator's view of each pack says, and add
// up to the serials the market commissioned.
func TestBatchTraceIsExactAfterAMarket(t *testing.T) {
	n, token := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rep, err := simulate.Run(ctx, smallMarket(n.GRPCAddr(), token), logWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := client.New(n.GRPCAddr(), token)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if len(rep.Lots) == 0 {
		t.Fatal("the market made no lots")
	}
	statuses := map[pb.PackStatus]bool{}
	for _, lot := range rep.Lots {
		trace, err := admin.Provenance.TraceBatch(ctx, &pb.TraceBatchRequest{Gtin: lot.GTIN, Lot: lot.Lot, PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		b := trace.GetBatch()
		lb := lifecycle.Batch{GTIN: b.GetGtin(), Lot: b.GetLot(), Expiry: b.GetExpiry(), Recalled: b.GetRecalled(), Withdrawn: b.GetWithdrawn()}
		want := map[string]uint64{}
		at := time.Now().UnixMilli()
		for _, serial := range lot.Serials {
			resp, err := admin.Provenance.GetPack(ctx, &pb.GetPackRequest{Gtin: lot.GTIN, Serial: serial})
			if err != nil {
				t.Fatalf("pack %s: %v", serial, err)
			}
			p := resp.GetPack()
			st := lifecycle.EffectiveStatus(lifecycle.Pack{Status: lifecycle.Status(p.GetStatus()), Lot: p.GetLot(), Expiry: p.GetExpiry()}, lb, at)
			want[fmt.Sprintf("%v@%s", pb.PackStatus(st), p.GetCustodianGln())]++
		}
		got := map[string]uint64{}
		var total uint64
		for _, c := range trace.GetCounts() {
			got[fmt.Sprintf("%v@%s", c.GetStatus(), c.GetCustodianGln())] += c.GetCount()
			statuses[c.GetStatus()] = true
			total += c.GetCount()
		}
		if total != uint64(len(lot.Serials)) || total != b.GetCommissioned() {
			t.Errorf("lot %s: trace counts %d packs, the market commissioned %d, the batch says %d", lot.Lot, total, len(lot.Serials), b.GetCommissioned())
		}
		if len(got) != len(want) {
			t.Errorf("lot %s: trace %v, packs say %v", lot.Lot, got, want)
			continue
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("lot %s: trace %v, packs say %v", lot.Lot, got, want)
				break
			}
		}
	}
	if len(statuses) < 4 {
		t.Errorf("the market left packs in only %d statuses (%v): the check says little", len(statuses), statuses)
	}
}
