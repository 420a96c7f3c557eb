package state

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pedigree-project/pedigree/lifecycle"
)

// batchSerials reads the serials of batch (gtin, lot) in pages of size.
func batchSerials(t *testing.T, s *Store, gtin, lot string, size int) []string {
	t.Helper()
	var out []string
	after := ""
	for {
		var page []string
		err := s.BatchPacksAfter(gtin, lot, after, func(p lifecycle.Pack) (bool, error) {
			if p.GTIN != gtin || p.Lot != lot {
				return false, fmt.Errorf("batch %s/%s listed pack %s/%s of lot %s", gtin, lot, p.GTIN, p.Serial, p.Lot)
			}
			page = append(page, p.Serial)
			return len(page) < size, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if len(page) < size {
			return out
		}
		after = page[len(page)-1]
	}
}

// TestLotIndex stores packs of two products in interleaved lots of
// different lengths without the index, as a store from before it, builds
// the index, and reads each batch back, paged: exactly its packs, in the
// pack table's order (shorter serials first), none of another lot or
// product. Packs indexed as they are commissioned read back alike.
func TestLotIndex(t *testing.T) {
	s := openStore(t)
	const other = "09506000134369"
	lots := []string{"A", "LOT-2", "LOT-10", "B"}
	want := map[[2]string][]string{}
	apply(t, s, func(b *pebble.Batch) error {
		var buf []byte
		var err error
		for i := range 1000 {
			gtin := testGTIN
			if i%3 == 0 {
				gtin = other
			}
			lot := lots[i%len(lots)]
			p := &lifecycle.Pack{GTIN: gtin, Serial: fmt.Sprintf("S%d", i*7919%1000), Lot: lot, Expiry: "281231", Status: lifecycle.StatusActive}
			if buf, err = PutPack(b, p, buf); err != nil {
				return err
			}
			want[[2]string{gtin, lot}] = append(want[[2]string{gtin, lot}], p.Serial)
		}
		return nil
	})
	if ok, err := s.indexComplete(metaLotIndex, LotIndexFormat); err != nil || ok {
		t.Fatalf("a store without the index reports it complete=%v (%v)", ok, err)
	}
	built, err := s.BuildMissingIndexes(context.Background())
	if err != nil || !slices.Contains(built, IndexBuild{Name: "lot", Records: 1000}) {
		t.Fatalf("BuildMissingIndexes built %+v (%v), want the lot index of 1000 packs", built, err)
	}
	if ok, err := s.indexComplete(metaLotIndex, LotIndexFormat); err != nil || !ok {
		t.Fatalf("after the build: complete=%v (%v)", ok, err)
	}
	if again, err := s.BuildMissingIndexes(context.Background()); err != nil || len(again) != 0 {
		t.Fatalf("a second build built %+v (%v), want nothing", again, err)
	}
	check := func() {
		t.Helper()
		for ref, serials := range want {
			slices.SortFunc(serials, func(a, b string) int { return ComparePacks(ref[0], a, ref[0], b) })
			for _, size := range []int{1, 7, 1000} {
				if got := batchSerials(t, s, ref[0], ref[1], size); !slices.Equal(got, serials) {
					t.Fatalf("batch %s/%s in pages of %d: %d serials %v…, want %d %v…", ref[0], ref[1], size, len(got), got[:min(3, len(got))], len(serials), serials[:3])
				}
			}
		}
		if got := batchSerials(t, s, testGTIN, "LOT", 10); len(got) != 0 {
			t.Fatalf("lot LOT (a prefix of others) lists %v", got)
		}
	}
	check()

	// Commissioned with the index, as ingest writes it.
	apply(t, s, func(b *pebble.Batch) error {
		var buf, kbuf []byte
		var err error
		for i := range 50 {
			p := &lifecycle.Pack{GTIN: testGTIN, Serial: fmt.Sprintf("N%03d", i), Lot: "LOT-2", Expiry: "281231", Status: lifecycle.StatusActive}
			if buf, err = PutPack(b, p, buf); err != nil {
				return err
			}
			if kbuf, err = PutLotPack(b, p.GTIN, p.Lot, p.Serial, kbuf); err != nil {
				return err
			}
			want[[2]string{p.GTIN, p.Lot}] = append(want[[2]string{p.GTIN, p.Lot}], p.Serial)
		}
		return nil
	})
	check()
}

// TestLotIndexNamesAMissingPack: an index entry without its pack is a
// damaged store, said so rather than skipped.
func TestLotIndexNamesAMissingPack(t *testing.T) {
	s := openStore(t)
	apply(t, s, func(b *pebble.Batch) error {
		_, err := PutLotPack(b, testGTIN, testLot, "GONE", nil)
		return err
	})
	err := s.BatchPacksAfter(testGTIN, testLot, "", func(lifecycle.Pack) (bool, error) { return true, nil })
	if err == nil {
		t.Fatal("an index entry without its pack read as nothing")
	}
}
