package ledger

import (
	"context"
	"crypto/sha256"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Benchmarks report domain figures with b.ReportMetric. See BENCHMARKS.md
// for the commands and the figures measured.

func benchDB(b *testing.B, dir string) *pebble.DB {
	b.Helper()
	opts := PebbleOptions()
	opts.Logger = quietLogger{}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func benchLog(b *testing.B, db *pebble.DB, h int) *Log {
	b.Helper()
	l, err := Open(db, Options{Origin: "bench.example/ledger", TileHeight: h})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// randomBatches returns k batches of n entries of size bytes of random
// (incompressible, so worst-case for disk) content.
func randomBatches(k, n, size int) [][][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([][][]byte, k)
	for i := range out {
		buf := make([]byte, n*size)
		for j := range buf {
			buf[j] = byte(rng.Uint32())
		}
		out[i] = make([][]byte, n)
		for j := range out[i] {
			out[i][j] = buf[j*size : (j+1)*size : (j+1)*size]
		}
	}
	return out
}

// fill appends total entries of the given size in batches of batch.
func fill(b *testing.B, l *Log, total, batch, size int) {
	b.Helper()
	batches := randomBatches(8, batch, size)
	for i := 0; int(l.Size()) < total; i++ {
		if _, err := l.Append(context.Background(), batches[i%len(batches)][:min(batch, total-int(l.Size()))]); err != nil {
			b.Fatal(err)
		}
	}
}

// settle flushes the memtable and compacts everything, so that background
// work does not disturb what is measured next.
func settle(b *testing.B, db *pebble.DB) {
	b.Helper()
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := db.Compact(context.Background(), []byte{0x00}, []byte{0xff}, true); err != nil {
		b.Fatal(err)
	}
}

// cpuTime returns the CPU time (user and system) used by the process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAppend appends batches of 1,000 entries of 300 bytes, each
// batch one Pebble batch committed with Sync.
func BenchmarkAppend(b *testing.B) {
	for _, h := range []int{DefaultTileHeight} {
		b.Run("h="+strconv.Itoa(h), func(b *testing.B) {
			const batch, size = 1000, 300
			l := benchLog(b, benchDB(b, b.TempDir()), h)
			batches := randomBatches(16, batch, size)
			ctx := context.Background()
			i := 0
			cpu0 := cpuTime()
			for b.Loop() {
				if _, err := l.Append(ctx, batches[i%len(batches)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(i*batch)/b.Elapsed().Seconds(), "entries/s")
			b.ReportMetric(float64(i*batch)/(cpuTime()-cpu0).Seconds(), "entries/cpu-s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkVerify audits a log of 1,000,000 entries of 300 bytes (single
// events), and one of 40,000 entries of 14,000 bytes (the size of the
// 100-event captures a node's ledger mostly holds), beside SHA-256 alone on
// every core: hashed-MB/s counts the leaf, chain and tree hash inputs.
func BenchmarkVerify(b *testing.B) {
	if testing.Short() {
		b.Skip("builds logs of 300 MB and 560 MB")
	}
	for _, tc := range []struct {
		name        string
		total, size int
	}{{"entries=300B", 1_000_000, 300}, {"entries=14KB", 40_000, 14_000}} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			opts := PebbleOptions()
			opts.Logger = quietLogger{}
			build, err := pebble.Open(dir, opts)
			if err != nil {
				b.Fatal(err)
			}
			fill(b, benchLog(b, build, DefaultTileHeight), tc.total, max(1, 3_000_000/tc.size), tc.size)
			settle(b, build)
			if err := build.Close(); err != nil {
				b.Fatal(err)
			}
			// Reopen as an offline audit would: with a small block cache.
			opts = AuditPebbleOptions()
			opts.Logger = quietLogger{}
			db, err := pebble.Open(dir, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			e := newEnv(b) // only for a verifier key; the log has no checkpoints
			cpu0 := cpuTime()
			n := 0
			for b.Loop() {
				if _, err := Verify(context.Background(), db, e.verifier, nil); err != nil {
					b.Fatal(err)
				}
				n++
			}
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(n*tc.total)/secs, "entries/s")
			b.ReportMetric(float64(n*tc.total)/(cpuTime()-cpu0).Seconds(), "entries/cpu-s")
			b.ReportMetric(float64(n*tc.total*(tc.size+1+2*65+64))/secs/1e6, "hashed-MB/s")
			b.ReportMetric(sha256AllCores(b)/1e6, "sha256-MB/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// sha256AllCores hashes 1 KiB blocks on every core for half a second and
// returns the bytes hashed per second.
func sha256AllCores(b *testing.B) float64 {
	b.Helper()
	var total atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(500 * time.Millisecond)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			buf := make([]byte, 1024)
			n := int64(0)
			for time.Now().Before(stop) {
				for range 64 {
					sum := sha256.Sum256(buf)
					buf[0] = sum[0]
				}
				n += 64 * 1024
			}
			total.Add(n)
		})
	}
	wg.Wait()
	return float64(total.Load()) / 0.5
}

// BenchmarkProof measures proofs of random indexes and sizes against the
// latest tree of a log of 10,000,000 small entries at rest (flushed and
// compacted) once 20,000 proofs have warmed the block cache, for several
// tile heights.
func BenchmarkProof(b *testing.B) {
	const total = 10_000_000
	if testing.Short() {
		b.Skip("builds a 10M-entry log")
	}
	for _, h := range []int{4, 5, 6, 8} {
		b.Run("h="+strconv.Itoa(h), func(b *testing.B) {
			db := benchDB(b, b.TempDir())
			l := benchLog(b, db, h)
			fill(b, l, total, 20_000, 16)
			settle(b, db)
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(3, 4))
			// Warm the block cache's index and filter blocks, as on a
			// serving node; the tiles themselves stay mostly cold.
			for range 20_000 {
				if _, err := l.InclusionProof(ctx, rng.Uint64N(total), total); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("inclusion", func(b *testing.B) {
				for b.Loop() {
					if _, err := l.InclusionProof(ctx, rng.Uint64N(total), total); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("consistency", func(b *testing.B) {
				for b.Loop() {
					if _, err := l.ConsistencyProof(ctx, 1+rng.Uint64N(total-1), total); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkDiskPerEntry reports bytes on disk per entry (tree and chain
// included) for 1,000,000 entries of 300 random bytes, after a flush and a
// full compaction: the live tables per Pebble's metrics, and the whole
// directory once the DB is closed (which adds the WAL files Pebble keeps
// for reuse).
func BenchmarkDiskPerEntry(b *testing.B) {
	const total, size = 1_000_000, 300
	if testing.Short() {
		b.Skip("builds a 1M-entry log")
	}
	for b.Loop() {
		dir := b.TempDir()
		opts := PebbleOptions()
		opts.Logger = quietLogger{}
		db, err := pebble.Open(dir, opts)
		if err != nil {
			b.Fatal(err)
		}
		fill(b, benchLog(b, db, DefaultTileHeight), total, 10_000, size)
		settle(b, db)
		live := db.Metrics().Total().TablesSize
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		var all int64
		err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
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
		b.ReportMetric(float64(live)/total, "table-B/entry")
		b.ReportMetric(float64(live)/total-size, "overhead-B/entry")
		b.ReportMetric(float64(all)/total, "dir-B/entry")
		b.ReportMetric(0, "ns/op")
	}
}
