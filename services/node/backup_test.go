package node

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/subjects"
)

// backupEvent is an observation of an unknown pack, which the ledger
// records (with an alert): enough to grow it.
func backupEvent(i int) *pb.CaptureEventRequest {
	return &pb.CaptureEventRequest{Event: &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE,
		BizStep: pb.BizStep_BIZ_STEP_INSPECTING, EventId: fmt.Sprintf("urn:uuid:00000000-0000-4000-9000-%012d", i),
		EventTime: timestamppb.New(time.Now().Add(-time.Minute)),
		Epcs:      []*pb.Epc{{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: apiGTIN, Serial: fmt.Sprintf("BACKUP%d", i)}}}}}}
}

// bearerDo sends a request without a body to url, with token as Bearer
// unless it is empty, and returns the status and body.
func bearerDo(ctx context.Context, t *testing.T, method, url, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode, b
}

// postBackup asks the operator listener at addr for a backup.
func postBackup(ctx context.Context, t *testing.T, addr, token string) (int, []byte) {
	t.Helper()
	return bearerDo(ctx, t, http.MethodPost, addr+BackupPath, token)
}

// streamHead waits until n applied its whole stream and returns its
// ledger head.
func streamHead(ctx context.Context, t testing.TB, n *Node) (uint64, string) {
	t.Helper()
	st, err := n.js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.pipeline.WaitApplied(ctx, info.State.LastSeq); err != nil {
		t.Fatal(err)
	}
	size, root := n.ledger.Head()
	return size, hex.EncodeToString(root[:])
}

// TestBackupOfAServingNodeRestoresAndCatchesUp backs up a node through
// its operator listener while it takes writes, restores the archive into
// a new directory and starts a node there on the first node's stream: it
// must catch up to the same ledger size and root. The backup of the
// stopped node restores too; a tampered archive and a non-empty target
// are refused.
func TestBackupOfAServingNodeRestoresAndCatchesUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dirA := t.TempDir()
	a := startNode(t, testConfig(dirA))
	stopped := false
	defer func() {
		if !stopped {
			shutdown(t, a)
		}
	}()
	api := &api{t: t, n: a}
	pharm := api.party(apiPharm, pb.Role_ROLE_PHARMACY)
	for i := range 5 {
		if err := api.as(pharm).Post(ctx, "/v1/events", backupEvent(i), &pb.CaptureEventResponse{}); err != nil {
			t.Fatal(err)
		}
	}
	operator := "http://" + a.MetricsAddr()
	if code, _ := postBackup(ctx, t, operator, pharm); code != http.StatusUnauthorized {
		t.Fatalf("backup with a party's token: status %d, want 401", code)
	}
	if code, _ := postBackup(ctx, t, "http://"+a.HTTPAddr(), api.adminToken()); code == http.StatusOK {
		t.Fatal("the public HTTP port answered a backup")
	}
	// Writes go on while the backup is taken.
	var wg sync.WaitGroup
	writeErr := make(chan error, 1)
	wg.Go(func() {
		for i := 5; i < 25; i++ {
			if err := api.as(pharm).Post(ctx, "/v1/events", backupEvent(i), &pb.CaptureEventResponse{}); err != nil {
				writeErr <- err
				return
			}
		}
	})
	code, archive := postBackup(ctx, t, operator, api.adminToken())
	wg.Wait()
	close(writeErr)
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	if code != http.StatusOK {
		t.Fatalf("backup: status %d: %s", code, archive)
	}
	for i := 25; i < 30; i++ { // after the backup: only the stream has them
		if err := api.as(pharm).Post(ctx, "/v1/events", backupEvent(i), &pb.CaptureEventResponse{}); err != nil {
			t.Fatal(err)
		}
	}
	wantSize, wantRoot := streamHead(ctx, t, a)
	shutdown(t, a)
	stopped = true

	dirB := filepath.Join(t.TempDir(), "restored")
	m, err := Restore(ctx, bytes.NewReader(archive), dirB)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if m.LedgerSize == 0 || m.LedgerSize >= wantSize || m.AppliedSeq == 0 {
		t.Fatalf("manifest: ledger size %d applied %d; the node ended at %d", m.LedgerSize, m.AppliedSeq, wantSize)
	}
	if fi, err := os.Stat(filepath.Join(dirB, KeysDir, NodeKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("restored node key: %v %v, want mode 0600", fi, err)
	}
	// The restored node consumes the first node's stream from the
	// manifest's applied sequence on.
	if err := os.CopyFS(filepath.Join(dirB, "nats"), os.DirFS(filepath.Join(dirA, "nats"))); err != nil {
		t.Fatal(err)
	}
	b := startNode(t, testConfig(dirB))
	gotSize, gotRoot := streamHead(ctx, t, b)
	shutdown(t, b)
	if gotSize != wantSize || gotRoot != wantRoot {
		t.Fatalf("restored node: size %d root %s, want size %d root %s", gotSize, gotRoot, wantSize, wantRoot)
	}

	t.Run("stopped", func(t *testing.T) {
		var buf bytes.Buffer
		m, err := BackupStopped(ctx, dirA, "", &buf, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatalf("BackupStopped: %v", err)
		}
		if m.LedgerSize != wantSize || m.RootHash != wantRoot || !strings.HasPrefix(m.Node, "node-") {
			t.Fatalf("manifest of the stopped node: %+v, want size %d root %s", m, wantSize, wantRoot)
		}
		if _, err := Restore(ctx, &buf, filepath.Join(t.TempDir(), "r")); err != nil {
			t.Fatalf("Restore: %v", err)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		off, name := memberDataOffset(t, archive, m, filepath.ToSlash(filepath.Join(KeysDir, "checkpoint.vkey")))
		bad := bytes.Clone(archive)
		bad[off] ^= 1
		dir := filepath.Join(t.TempDir(), "r")
		_, err := Restore(ctx, bytes.NewReader(bad), dir)
		if !errors.Is(err, ErrBackupInvalid) || !strings.Contains(err.Error(), name) {
			t.Fatalf("Restore of a tampered archive: %v, want ErrBackupInvalid naming %s", err, name)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the refused restore left %s: %v", dir, err)
		}
	})
	t.Run("non-empty", func(t *testing.T) {
		_, err := Restore(ctx, bytes.NewReader(archive), dirB)
		if err == nil || !strings.Contains(err.Error(), "must be empty") {
			t.Fatalf("Restore into a non-empty directory: %v", err)
		}
	})
}

// memberDataOffset returns the offset in archive of the first byte of the
// member name, laid out as writeBackupDir does (512-byte headers, data
// padded to 512).
func memberDataOffset(t *testing.T, archive []byte, m BackupManifest, name string) (int, string) {
	t.Helper()
	pad := func(n int64) int { return int((n + 511) / 512 * 512) }
	manifestSize := bytes.Index(archive[512:], []byte{0}) // the manifest's JSON has no NUL
	off := 512 + pad(int64(manifestSize))
	for _, mem := range m.Members {
		if mem.Name == name {
			if mem.Size == 0 {
				t.Fatalf("member %s is empty", name)
			}
			return off + 512, name
		}
		off += 512 + pad(mem.Size)
	}
	t.Fatalf("no member %s in the manifest", name)
	return 0, ""
}

// TestStartRemovesACutOffBackupStage: a backup's staging directory left
// by a crash is removed when the node next starts (it then holds the
// data's lock, so no backup is staging), and nothing else is.
func TestStartRemovesACutOffBackupStage(t *testing.T) {
	dir := t.TempDir()
	stage := filepath.Join(dir, backupStagePrefix+"123456")
	if err := os.MkdirAll(filepath.Join(stage, "pebble"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stage, "pebble", "000001.sst"), []byte("half a checkpoint"), 0o600); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(dir, "backup-notes.txt")
	if err := os.WriteFile(keep, []byte("the operator's"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, testConfig(dir))
	defer shutdown(t, n)
	if _, err := os.Stat(stage); !os.IsNotExist(err) {
		t.Fatalf("the cut-off backup's stage is still there: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("a file that is no backup stage went: %v", err)
	}
}
