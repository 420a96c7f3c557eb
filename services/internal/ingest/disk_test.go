package ingest

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/subjects"
)

// BenchmarkDiskPerEvent reports the bytes on disk that single-pack
// dispense events add, all indexes included: b.N packs are commissioned
// (10,000 per event, as a packaging line does), then each is dispensed by
// its own signed envelope through the rules-and-append path, and the DB is
// flushed and fully compacted before and after the dispenses. Reported:
// live table bytes per dispense (the marginal cost), the whole directory
// per dispense after Close (which adds the WAL files Pebble keeps for
// reuse, a constant), and, logged, each table's share. Run with
// -benchtime=1000000x.
func BenchmarkDiskPerEvent(b *testing.B) {
	n := b.N
	w := benchWorld(b, n)
	w.n.cancel()
	if err := <-w.n.done; err != nil {
		b.Fatal(err)
	}
	w.n.cancel = nil
	db := w.n.store.DB()
	settleDB(b, db)
	before := tableBytes(db)
	wr := &writer{p: w.n.p}
	ctx := context.Background()
	seq := w.n.p.Applied()
	b.ResetTimer()
	for i := 0; i < n; i += DefaultBatchSize {
		items := w.dispenseItems(i, min(DefaultBatchSize, n-i), &seq)
		if _, err := wr.submit(ctx, items, nil); err != nil {
			b.Fatal(err)
		}
	}
	if err := wr.wait(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	settleDB(b, db)
	after := tableBytes(db)
	loadStart := time.Now()
	if err := newIDFilter().load(ctx, w.n.store); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(loadStart).Milliseconds()), "id-filter-load-ms")
	var total, added int64
	for p := range after {
		total += after[p].disk
		added += after[p].disk - before[p].disk
	}
	for i := range 0xff {
		p, t, t0 := byte(i), after[byte(i)], before[byte(i)]
		if n == 1 || t.keys == t0.keys && t.logical == t0.logical {
			continue // an unchanged table, or the framework's first, one-event run
		}
		b.Logf("table 0x%02x: %6.1f B/event on disk, %6.1f B/event of keys and values, %d keys added",
			p, float64(t.disk-t0.disk)/float64(n), float64(t.logical-t0.logical)/float64(n), t.keys-t0.keys)
	}
	if err := w.n.store.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(added)/float64(n), "table-B/event")
	b.ReportMetric(float64(total)/float64(n), "all-tables-B/event")
	b.ReportMetric(float64(dirSize(b, filepath.Join(w.n.dir, "pebble")))/float64(n), "dir-B/event")
	b.ReportMetric(0, "ns/op")
}

// dispenseItems returns n decoded single-pack dispenses of packs
// B<from>… (alternately at two pharmacies) with their signature checked,
// numbered from *seq+1.
func (w *world) dispenseItems(from, n int, seq *uint64) []item {
	items := make([]item, n)
	for i := range items {
		who := []string{pharmGLN, pharm2}[(from+i)%2]
		ev := w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack(fmt.Sprintf("B%07d", from+i)))
		ev.EventId = fmt.Sprintf("urn:uuid:bench-%d-0", from+i)
		env := capture(ev)
		env.PartyGln = who
		wire, err := envelope.Seal(env, who, w.keys[who])
		if err != nil {
			w.t.Fatal(err)
		}
		op, err := envelope.Open(wire)
		if err != nil {
			w.t.Fatal(err)
		}
		*seq++
		items[i] = item{subject: subjects.ScanSubject(who), data: wire, seq: *seq, record: w.clock, op: op,
			early: &sigCheck{pub: w.keys[who].Public().(ed25519.PublicKey), ok: true}}
	}
	return items
}

func settleDB(b *testing.B, db *pebble.DB) {
	b.Helper()
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := db.Compact(context.Background(), []byte{0x00}, []byte{0xff}, true); err != nil {
		b.Fatal(err)
	}
}

// tableSize is what one table (key prefix byte) holds.
type tableSize struct {
	disk    int64 // estimated bytes in sstables
	logical int64 // bytes of keys and values
	keys    int64
}

func tableBytes(db *pebble.DB) map[byte]tableSize {
	out := map[byte]tableSize{}
	it, err := db.NewIter(nil)
	if err != nil {
		return out
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		t := out[it.Key()[0]]
		t.logical += int64(len(it.Key()) + len(it.Value()))
		t.keys++
		out[it.Key()[0]] = t
	}
	for p, t := range out {
		if p == 0xff {
			continue
		}
		if d, err := db.EstimateDiskUsage([]byte{p}, []byte{p + 1}); err == nil {
			t.disk = int64(d)
			out[p] = t
		}
	}
	return out
}

func dirSize(b *testing.B, dir string) int64 {
	var all int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		all += fi.Size()
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return all
}
