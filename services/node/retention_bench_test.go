package node

import (
	"bytes"
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/subjects"
)

// BenchmarkRetentionDiskPerEvent reports the disk each event costs, Pebble
// and the SCANS stream separately, before and after stream retention
// dropped what a verified backup holds: a node with --stream-retention
// after-backup (margin 0) takes 5,000 observations (one pack each, one
// REST call each, 16 at a time), then a backup is recorded. Pebble is
// flushed and compacted before it is measured (its tables, and its whole
// directory: tables, WAL, manifest);
// the stream is measured as JetStream's own byte count and as its
// directory. b.N is ignored: run with -benchtime=1x.
func BenchmarkRetentionDiskPerEvent(b *testing.B) {
	const events, writers = 5000, 16
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := b.TempDir()
	cfg := retentionConfig(dir)
	cfg.Edge.WriteRate = 0
	n := startNode(b, cfg)
	defer shutdown(b, n)
	api := &api{t: b, n: n}
	pharm := api.party(apiPharm, pb.Role_ROLE_PHARMACY)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < events; i += writers {
				if err := api.as(pharm).Post(ctx, "/v1/events", backupEvent(i), &pb.CaptureEventResponse{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	streamHead(ctx, b, n)
	measure := func(when string) {
		db := n.store.DB()
		if err := db.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := db.Compact(ctx, []byte{0x00}, []byte{0xff}, true); err != nil {
			b.Fatal(err)
		}
		st, err := n.js.Stream(ctx, subjects.ScanStream)
		if err != nil {
			b.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			b.Fatal(err)
		}
		pebbleBytes := treeBytes(b, filepath.Join(dir, "pebble"), "")
		tables := treeBytes(b, filepath.Join(dir, "pebble"), ".sst")
		streamDir := treeBytes(b, filepath.Join(dir, "nats", "jetstream", "$G", "streams", subjects.ScanStream), "")
		b.ReportMetric(float64(pebbleBytes)/events, "pebble-B/event-"+when)
		b.ReportMetric(float64(tables)/events, "pebble-tables-B/event-"+when)
		b.ReportMetric(float64(info.State.Bytes)/events, "stream-B/event-"+when)
		b.ReportMetric(float64(streamDir)/events, "stream-dir-B/event-"+when)
		b.Logf("%s retention: pebble %d B (tables %d B), stream %d messages, %d B (directory %d B), first sequence %d",
			when, pebbleBytes, tables, info.State.Msgs, info.State.Bytes, streamDir, info.State.FirstSeq)
	}
	measure("before")
	var archive bytes.Buffer
	m, err := n.Backup(ctx, &archive)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := n.RecordVerifiedBackup(ctx, m); err != nil {
		b.Fatal(err)
	}
	waitRetentionB(ctx, b, n, m.AppliedSeq+1)
	measure("after")
}

// waitRetentionB waits until n's stream starts at first.
func waitRetentionB(ctx context.Context, b *testing.B, n *Node, first uint64) {
	b.Helper()
	if err := waitFor(ctx, func() bool { return n.RetentionStatus().FirstSeq == first }); err != nil {
		b.Fatalf("retention: %+v: %v", n.RetentionStatus(), err)
	}
}

// treeBytes returns the bytes of the regular files under dir whose names
// end in suffix.
func treeBytes(b *testing.B, dir, suffix string) int64 {
	b.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || !strings.HasSuffix(path, suffix) {
			return err
		}
		info, err := d.Info()
		if err == nil {
			total += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return total
}
