package state

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pedigree-project/pedigree/ledger"
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

// BenchmarkPackReads reads 1,000 random packs of 1,000,000 with a Get
// each, through one PackReader, and through one PackReader in key order,
// as the ingest pipeline does for a consumed batch. ns/read is per pack.
func BenchmarkPackReads(b *testing.B) {
	s, err := Open(b.TempDir(), ledger.PebbleOptions()) // the node's options
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 1_000_000
	for i := 0; i < n; i += 10_000 {
		batch := s.DB().NewBatch()
		var buf []byte
		for j := i; j < i+10_000; j++ {
			p := lifecycle.Pack{GTIN: "09506000134352", Serial: fmt.Sprintf("S%09d", j), Lot: "LOT1", Expiry: "281200", Status: 1, LastEvent: int64(j)}
			if buf, err = PutPack(batch, &p, buf); err != nil {
				b.Fatal(err)
			}
		}
		if err := batch.Commit(pebble.NoSync); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	serials := make([]string, 1000)
	for _, mode := range []string{"get", "reader", "reader-sorted"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				for i := range serials {
					serials[i] = fmt.Sprintf("S%09d", rng.IntN(n))
				}
				if mode == "reader-sorted" {
					slices.Sort(serials) // one length: string order is key order
				}
				b.StartTimer()
				var r *PackReader
				if mode != "get" {
					if r, err = s.NewPackReader(); err != nil {
						b.Fatal(err)
					}
				}
				for _, serial := range serials {
					var ok bool
					if r != nil {
						_, ok, err = r.Pack("09506000134352", serial)
					} else {
						_, ok, err = s.Pack("09506000134352", serial)
					}
					if err != nil || !ok {
						b.Fatalf("pack %s: found %v, %v", serial, ok, err)
					}
				}
				if r != nil {
					_ = r.Close()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(serials)), "ns/read")
		})
	}
}
