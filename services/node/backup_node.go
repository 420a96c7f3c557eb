package node

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
)

// BackupPath is the operator listener's endpoint that streams a backup
// archive of the serving node (POST, with the admin token as Bearer).
const BackupPath = "/backup"

// BackupVerifiedPath is the operator listener's endpoint that records a
// backup whose archive passed its verification (POST, the archive's
// manifest as JSON, with the admin token as Bearer): stream retention
// counts it (retention.go).
const BackupVerifiedPath = "/backup/verified"

// Backup writes to w a backup archive of the serving node: a Pebble
// checkpoint (the ledger, the state and the applied stream sequence, all
// in the one DB, so consistent with each other) and the node's keys
// (DATA/keys: private keys, so the archive must be protected). The
// checkpoint is staged under the data directory, audited (ledger.Verify)
// before a byte is written, and removed afterwards.
func (n *Node) Backup(ctx context.Context, w io.Writer) (BackupManifest, error) {
	stage, err := os.MkdirTemp(n.cfg.DataDir, backupStagePrefix)
	if err != nil {
		return BackupManifest{}, fmt.Errorf("backup: staging directory: %w", err)
	}
	defer os.RemoveAll(stage)
	created := n.now()
	if err := n.store.DB().Checkpoint(filepath.Join(stage, "pebble"), pebble.WithFlushedWAL()); err != nil {
		return BackupManifest{}, fmt.Errorf("backup: pebble checkpoint: %w", err)
	}
	if err := copyKeys(n.cfg.DataDir, stage); err != nil {
		return BackupManifest{}, err
	}
	return writeBackupDir(ctx, stage, n.nodeName, created, w)
}

// backupStagePrefix names the directories a backup stages its checkpoint
// in, under the data directory.
const backupStagePrefix = ".backup-"

// removeBackupStages removes the staging directories of backups a crash
// cut off. The caller holds the Pebble lock of dataDir, which every backup
// holds while it stages. Failures are logged: they cost disk, not data.
func removeBackupStages(dataDir string, logger *slog.Logger) {
	stale, err := filepath.Glob(filepath.Join(dataDir, backupStagePrefix+"*"))
	if err != nil {
		return
	}
	for _, dir := range stale {
		if err := os.RemoveAll(dir); err != nil {
			logger.Warn("could not remove a backup's staging directory", "dir", dir, "err", err)
			continue
		}
		logger.Info("removed the staging directory of a backup that was cut off", "dir", dir)
	}
}

// BackupStopped writes to w a backup archive of the stopped node whose
// data is in dataDir, opening its Pebble data (a serving node holds its
// lock: back it up through its operator listener instead).
// nodeName is recorded in the manifest; "" names it as the node does
// when its configuration gives none (node-<key id>).
func BackupStopped(ctx context.Context, dataDir, nodeName string, w io.Writer, logger *slog.Logger) (m BackupManifest, err error) {
	// Read-write, which a Pebble checkpoint needs; the lock refuses a
	// serving node's data.
	pebbleDir := filepath.Join(dataDir, "pebble")
	if _, err := os.Stat(pebbleDir); err != nil {
		return m, fmt.Errorf("backup: no node data in %s: %w", dataDir, err)
	}
	opts := ledger.PebbleOptions()
	opts.ErrorIfNotExists = true
	opts.Logger = pebbleLogger{logger}
	db, err := pebble.Open(pebbleDir, opts)
	if err != nil {
		return m, fmt.Errorf("backup: open %s (is the node stopped? back a serving node up with its operator listener): %w", dataDir, err)
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("backup: close %s: %w", pebbleDir, cerr)
		}
	}()
	stage, err := os.MkdirTemp(dataDir, backupStagePrefix)
	if err != nil {
		return m, fmt.Errorf("backup: staging directory: %w", err)
	}
	defer os.RemoveAll(stage)
	if err := db.Checkpoint(filepath.Join(stage, "pebble"), pebble.WithFlushedWAL()); err != nil {
		return m, fmt.Errorf("backup: pebble checkpoint: %w", err)
	}
	if err := copyKeys(dataDir, stage); err != nil {
		return m, err
	}
	if nodeName == "" {
		pub, err := ReadPublicKeyFile(filepath.Join(dataDir, KeysDir, NodePublicKeyFile))
		if err != nil {
			return m, fmt.Errorf("backup: node name: %w", err)
		}
		nodeName = "node-" + envelope.KeyID(pub)
	}
	return writeBackupDir(ctx, stage, nodeName, time.Now(), w)
}

// copyKeys copies the secrets of the data directory dataDir into the
// staging directory stage (mode 0600, directories 0700): the regular
// files of DATA/keys and DATA/admin.token, if there is one.
func copyKeys(dataDir, stage string) error {
	entries, err := os.ReadDir(filepath.Join(dataDir, KeysDir))
	if err != nil {
		return fmt.Errorf("backup: keys: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(stage, KeysDir), 0o700); err != nil {
		return fmt.Errorf("backup: keys: %w", err)
	}
	names := []string{AdminTokenFile}
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, filepath.Join(KeysDir, e.Name()))
		}
	}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dataDir, name))
		if name == AdminTokenFile && errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("backup: keys: %w", err)
		}
		if err := os.WriteFile(filepath.Join(stage, name), b, 0o600); err != nil {
			return fmt.Errorf("backup: keys: %w", err)
		}
	}
	return nil
}

// backupHandler serves POST /backup on the operator listener: the admin
// token is required, since the archive holds the node's private keys.
// Errors found before the first byte (the checkpoint, its audit) are
// answered with a status; one later cuts the archive short, which the
// client's verification refuses.
func (n *Node) backupHandler(w http.ResponseWriter, r *http.Request) {
	if err := n.checkAdminBearer(r.Header.Get("Authorization")); err != nil {
		writeOperatorText(w, http.StatusUnauthorized, "backup: "+err.Error()+"\n")
		return
	}
	if n.stopping.Load() {
		writeOperatorText(w, http.StatusServiceUnavailable, "backup: the node is shutting down\n")
		return
	}
	// A backup takes as long as its size needs: no write deadline.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	tw := &trackingWriter{w: w}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", `attachment; filename="pedigree-backup.tar"`)
	m, err := n.Backup(r.Context(), tw)
	if err != nil {
		n.logger.Error("backup failed", "err", err)
		if !tw.wrote {
			w.Header().Del("Content-Disposition")
			writeOperatorText(w, http.StatusInternalServerError, "backup: "+err.Error()+"\n")
		}
		return
	}
	n.logger.Info("backup written", "ledger_size", m.LedgerSize, "root", m.RootHash, "applied_seq", m.AppliedSeq, "members", len(m.Members))
}

// backupVerifiedHandler serves POST /backup/verified on the operator
// listener: the admin token is required, the body is the manifest of an
// archive that passed VerifyBackup.
func (n *Node) backupVerifiedHandler(w http.ResponseWriter, r *http.Request) {
	if err := n.checkAdminBearer(r.Header.Get("Authorization")); err != nil {
		writeOperatorText(w, http.StatusUnauthorized, "backup: "+err.Error()+"\n")
		return
	}
	var m BackupManifest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxManifest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		writeOperatorText(w, http.StatusBadRequest, "backup: the manifest: "+err.Error()+"\n")
		return
	}
	rec, err := n.RecordVerifiedBackup(r.Context(), m)
	if err != nil {
		n.logger.Warn("a verified backup was not recorded", "err", err)
		writeOperatorText(w, http.StatusBadRequest, err.Error()+"\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rec)
}

// checkAdminBearer checks that header is "Bearer <the admin token>".
func (n *Node) checkAdminBearer(header string) error {
	got, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || got == "" {
		return errors.New("the Authorization header must be Bearer and the admin token")
	}
	want, err := readToken(n.adminTokenPath)
	if err != nil {
		return errors.New("the node cannot read its admin token")
	}
	if want == "" {
		return errors.New("the node has no admin token")
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	if subtle.ConstantTimeCompare(g[:], w[:]) != 1 {
		return errors.New("the Authorization header does not hold the admin token")
	}
	return nil
}

// operatorHandler is the operator listener's handler: base (metrics,
// readiness), the backup endpoints and the runtime's profiles.
func (n *Node) operatorHandler(base http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+BackupPath, n.backupHandler)
	mux.HandleFunc("POST "+BackupVerifiedPath, n.backupVerifiedHandler)
	mux.Handle("GET "+ProfilePath, n.adminOnly(http.HandlerFunc(pprof.Index)))
	mux.Handle("GET "+ProfilePath+"cmdline", n.adminOnly(http.HandlerFunc(pprof.Cmdline)))
	mux.Handle("GET "+ProfilePath+"profile", n.adminOnly(http.HandlerFunc(pprof.Profile)))
	mux.Handle("GET "+ProfilePath+"symbol", n.adminOnly(http.HandlerFunc(pprof.Symbol)))
	mux.Handle("GET "+ProfilePath+"trace", n.adminOnly(http.HandlerFunc(pprof.Trace)))
	mux.Handle("/", base)
	return mux
}

// ProfilePath is the root of the runtime's profiles on the operator
// listener (net/http/pprof: profile, trace, heap, goroutine, ...). The
// admin token is required: a goroutine dump shows what the node is
// doing, and a CPU profile or trace costs the node while it runs.
const ProfilePath = "/debug/pprof/"

// adminOnly serves h to a request with the admin token only; a CPU
// profile or trace runs for as long as it asks, without a write
// deadline.
func (n *Node) adminOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := n.checkAdminBearer(r.Header.Get("Authorization")); err != nil {
			writeOperatorText(w, http.StatusUnauthorized, "profile: "+err.Error()+"\n")
			return
		}
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		h.ServeHTTP(w, r)
	})
}

// trackingWriter notes whether anything was written through it.
type trackingWriter struct {
	w     io.Writer
	wrote bool
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		t.wrote = true
	}
	return t.w.Write(p)
}

func writeOperatorText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}
