package state

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pedigree-project/pedigree/lifecycle"
)

// TestPackReaderAgreesWithStorePack reads present and absent packs, in
// key order and at random, some of them after the reader was opened, and
// compares each answer with Store.Pack's as of the reader's opening.
func TestPackReaderAgreesWithStorePack(t *testing.T) {
	s := openStore(t)
	b := s.DB().NewBatch()
	var buf []byte
	var ids [][2]string
	for i := range 500 {
		gtin := []string{"09506000134352", "09506000134369"}[i%2]
		serial := fmt.Sprintf("S%d", i*7) // serials of several lengths
		ids = append(ids, [2]string{gtin, serial})
		if i%5 == 4 {
			continue // never written: absent
		}
		p := lifecycle.Pack{GTIN: gtin, Serial: serial, Lot: "L" + serial, Expiry: "281200", Status: lifecycle.Status(1 + i%3), LastEvent: int64(i)}
		var err error
		if buf, err = PutPack(b, &p, buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Apply(b); err != nil {
		t.Fatal(err)
	}
	want := map[[2]string]lifecycle.Pack{}
	found := map[[2]string]bool{}
	for _, id := range ids {
		p, ok, err := s.Pack(id[0], id[1])
		if err != nil {
			t.Fatal(err)
		}
		want[id], found[id] = p, ok
	}
	r, err := s.NewPackReader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// A write after the reader opened is not seen: it reads a snapshot.
	late := s.DB().NewBatch()
	lp := lifecycle.Pack{GTIN: ids[4][0], Serial: ids[4][1], Lot: "LATE"}
	if _, err := PutPack(late, &lp, nil); err != nil {
		t.Fatal(err)
	}
	if err := late.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}

	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, func(a, b [2]string) int { return ComparePacks(a[0], a[1], b[0], b[1]) })
	shuffled := slices.Clone(ids)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	absent := 0
	for _, order := range [][][2]string{sorted, shuffled} {
		for _, id := range order {
			p, ok, err := r.Pack(id[0], id[1])
			if err != nil {
				t.Fatal(err)
			}
			if ok != found[id] || p != want[id] {
				t.Fatalf("pack %s/%s: reader says %v %+v, Store.Pack said %v %+v", id[0], id[1], ok, p, found[id], want[id])
			}
			if !ok {
				absent++
			}
		}
	}
	if absent != 2*100 {
		t.Fatalf("%d absent answers, want 200", absent)
	}
}

// TestComparePacksIsKeyOrder: sorting by ComparePacks sorts the pack
// table's keys, which the ingest pipeline relies on to write and read in
// key order.
func TestComparePacksIsKeyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var ids [][2]string
	for range 2000 {
		gtin := fmt.Sprintf("0950600013%04d", rng.IntN(3))
		serial := fmt.Sprintf("%x", rng.Uint64()>>rng.IntN(60))
		ids = append(ids, [2]string{gtin, serial})
	}
	slices.SortFunc(ids, func(a, b [2]string) int { return ComparePacks(a[0], a[1], b[0], b[1]) })
	for i := 1; i < len(ids); i++ {
		if bytes.Compare(packKey(ids[i-1][0], ids[i-1][1]), packKey(ids[i][0], ids[i][1])) > 0 {
			t.Fatalf("%v sorts before %v, but its key sorts after", ids[i-1], ids[i])
		}
	}
}
