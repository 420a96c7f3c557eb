package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/subjects"
)

// retentionConfig is testConfig with retention after-backup, no margin and
// a fast loop.
func retentionConfig(dir string) Config {
	cfg := testConfig(dir)
	cfg.StreamRetention = RetentionConfig{Mode: RetentionAfterBackup, Interval: 20 * time.Millisecond}
	return cfg
}

// waitRetention polls n's retention loop until a round that started after
// the call satisfies ok, and returns it.
func waitRetention(ctx context.Context, t *testing.T, n *Node, ok func(RetentionStatus) bool) RetentionStatus {
	t.Helper()
	after := n.RetentionStatus().Rounds + 1
	var st RetentionStatus
	if err := waitFor(ctx, func() bool {
		st = n.RetentionStatus()
		return st.Rounds > after && ok(st)
	}); err != nil {
		t.Fatalf("retention: last round %+v: %v", st, err)
	}
	return st
}

// streamFirst returns the first sequence of n's stream.
func streamFirst(ctx context.Context, t *testing.T, n *Node) uint64 {
	t.Helper()
	st, err := n.js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.FirstSeq
}

// readyz returns the status and body of the operator listener's /readyz.
func readyz(ctx context.Context, t *testing.T, n *Node) (int, string) {
	t.Helper()
	code, body := bearerDo(ctx, t, http.MethodGet, "http://"+n.MetricsAddr()+"/readyz", "")
	return code, string(body)
}

// restoreWithStream restores archive into a new directory and copies the
// stream of the stopped node whose data is in from alongside.
func restoreWithStream(ctx context.Context, t *testing.T, archive []byte, from string) (string, BackupManifest) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "restored")
	m, err := Restore(ctx, bytes.NewReader(archive), dir)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if err := os.CopyFS(filepath.Join(dir, "nats"), os.DirFS(filepath.Join(from, "nats"))); err != nil {
		t.Fatal(err)
	}
	return dir, m
}

// TestRetentionDropsWhatABackupHolds: with retention after-backup, the
// stream keeps everything until a verified backup is recorded, then drops
// what the backup holds (and every node applied) and nothing after it. A
// node restored from an older backup, behind the purge point, applies
// nothing and says why on /readyz; restored from the recorded backup, it
// catches up from what the stream kept to the same root.
func TestRetentionDropsWhatABackupHolds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dirA := t.TempDir()
	a := startNode(t, retentionConfig(dirA))
	stopped := false
	defer func() {
		if !stopped {
			shutdown(t, a)
		}
	}()
	api := &api{t: t, n: a}
	pharm := api.party(apiPharm, pb.Role_ROLE_PHARMACY)
	write := func(from, to int) {
		for i := from; i < to; i++ {
			if err := api.as(pharm).Post(ctx, "/v1/events", backupEvent(i), &pb.CaptureEventResponse{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(0, 5)
	var old bytes.Buffer
	mOld, err := a.Backup(ctx, &old)
	if err != nil {
		t.Fatal(err)
	}
	write(5, 10)
	streamHead(ctx, t, a)
	st := waitRetention(ctx, t, a, func(st RetentionStatus) bool { return st.Reported == a.pipeline.Applied() })
	if !strings.Contains(st.Waiting, "no verified backup") || streamFirst(ctx, t, a) != 1 {
		t.Fatalf("before any verified backup: %+v, stream starts at %d", st, streamFirst(ctx, t, a))
	}

	operator := "http://" + a.MetricsAddr()
	code, archive := postBackup(ctx, t, operator, api.adminToken())
	if code != http.StatusOK {
		t.Fatalf("backup: status %d: %s", code, archive)
	}
	m, err := VerifyBackup(ctx, bytes.NewReader(archive), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	forged := m
	forged.RootHash = strings.Repeat("00", 32)
	forgedJSON, _ := json.Marshal(forged)
	for _, c := range []struct {
		body  []byte
		token string
		want  int
	}{
		{manifest, pharm, http.StatusUnauthorized},
		{forgedJSON, api.adminToken(), http.StatusBadRequest},
		{manifest, api.adminToken(), http.StatusOK},
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, operator+BackupVerifiedPath, bytes.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Fatalf("record a backup %s: status %d, want %d", c.body, resp.StatusCode, c.want)
		}
	}
	write(10, 15) // after the backup: only the stream holds them
	wantSize, wantRoot := streamHead(ctx, t, a)
	st = waitRetention(ctx, t, a, func(st RetentionStatus) bool { return st.FirstSeq == m.AppliedSeq+1 })
	if got := streamFirst(ctx, t, a); got != m.AppliedSeq+1 || st.Floor != m.AppliedSeq || st.Waiting != "" {
		t.Fatalf("after the backup at %d: stream starts at %d, round %+v", m.AppliedSeq, got, st)
	}
	shutdown(t, a)
	stopped = true

	t.Run("too far behind", func(t *testing.T) {
		dir, _ := restoreWithStream(ctx, t, old.Bytes(), dirA)
		b := startNode(t, retentionConfig(dir))
		defer shutdown(t, b)
		want := fmt.Sprintf("too far behind: the stream %s starts at %d, this node applied %d", subjects.ScanStream, m.AppliedSeq+1, mOld.AppliedSeq)
		var body string
		if err := waitFor(ctx, func() bool {
			var code int
			code, body = readyz(ctx, t, b)
			return code == http.StatusServiceUnavailable && strings.Contains(body, want)
		}); err != nil {
			t.Fatalf("/readyz of a node behind the purge point: %q, want %q", body, want)
		}
		if !strings.Contains(body, "pedigree restore") {
			t.Fatalf("/readyz does not say what to do: %q", body)
		}
		if size, _ := b.ledger.Head(); size != mOld.LedgerSize || b.pipeline.Applied() != mOld.AppliedSeq {
			t.Fatalf("the node behind applied something: size %d applied %d, backup %d/%d", size, b.pipeline.Applied(), mOld.LedgerSize, mOld.AppliedSeq)
		}
	})
	t.Run("restored from the recorded backup", func(t *testing.T) {
		dir, _ := restoreWithStream(ctx, t, archive, dirA)
		c := startNode(t, retentionConfig(dir))
		defer shutdown(t, c)
		if size, root := streamHead(ctx, t, c); size != wantSize || root != wantRoot {
			t.Fatalf("restored node: size %d root %s, want %d %s", size, root, wantSize, wantRoot)
		}
		if err := waitFor(ctx, func() bool { code, _ := readyz(ctx, t, c); return code == http.StatusOK }); err != nil {
			_, body := readyz(ctx, t, c)
			t.Fatalf("restored node not ready: %s", body)
		}
	})
}

// TestRetentionWaitsForEveryNode: in a cluster of three with retention
// after-backup, the stream drops nothing past what a stopped node applied,
// however far the others and the backup are; the node restarts, catches up
// from what the stream kept to the others' root, and retention then drops
// up to the backup. A new node with an empty ledger is then refused: the
// genesis is gone from the stream.
func TestRetentionWaitsForEveryNode(t *testing.T) {
	// A deadline, not the duration: see TestFourthNodeJoinsLaterAndCatchesUp.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := newTestCluster(t, 4)
	cfgs := make([]Config, 4)
	for i := range cfgs {
		cfgs[i] = c.config(i)
		cfgs[i].StreamRetention = RetentionConfig{Mode: RetentionAfterBackup, Interval: 50 * time.Millisecond}
	}
	c.start(ctx, nil, cfgs[:3]...)
	defer func() { c.shutdown() }()
	n1, n3 := c.nodes[0], c.nodes[2]
	a := &api{t: t, n: n1}
	pharm := a.party(apiPharm, pb.Role_ROLE_PHARMACY)
	write := func(from, to int) {
		for i := from; i < to; i++ {
			if err := a.as(pharm).Post(ctx, "/v1/events", backupEvent(i), &pb.CaptureEventResponse{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(0, 5)
	c.synced(ctx)
	behind := n3.pipeline.Applied()
	for _, n := range c.nodes { // every node's report is in the bucket
		waitRetention(ctx, t, n, func(st RetentionStatus) bool { return st.Err == nil && st.Reported == behind })
	}
	shutdown(t, n3)
	c.nodes = c.nodes[:2]

	write(5, 15)
	c.synced(ctx)
	var archive bytes.Buffer
	m, err := n1.Backup(ctx, &archive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n1.RecordVerifiedBackup(ctx, m); err != nil {
		t.Fatal(err)
	}
	if m.AppliedSeq <= behind {
		t.Fatalf("the backup holds up to %d, the stopped node applied %d", m.AppliedSeq, behind)
	}
	// Two rounds on each live node after the backup's record: the stream
	// starts right after what the stopped node applied, not after the backup.
	for range 2 {
		for _, n := range c.nodes {
			st := waitRetention(ctx, t, n, func(st RetentionStatus) bool { return st.Err == nil && st.Waiting == "" })
			if st.Floor != behind || streamFirst(ctx, t, n) != behind+1 {
				t.Fatalf("%s: round %+v, stream starts at %d; the stopped node applied %d", n.nodeName, st, streamFirst(ctx, t, n), behind)
			}
		}
	}

	restarted, err := Start(ctx, cfgs[2], slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("restart %s: %v", cfgs[2].NodeName, err)
	}
	c.nodes = append(c.nodes, restarted)
	c.synced(ctx)
	waitRetention(ctx, t, n1, func(st RetentionStatus) bool { return st.FirstSeq == m.AppliedSeq+1 })

	_, err = Start(ctx, cfgs[3], slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "too far behind") || !strings.Contains(err.Error(), "pedigree restore") {
		t.Fatalf("a node with an empty ledger after the stream's head was dropped: %v", err)
	}
}
