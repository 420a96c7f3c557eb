package node

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/services/internal/natsbus"
	"github.com/pedigree-project/pedigree/subjects"
)

// Stream retention. The stream SCANS is the source of every ledger, so by
// default it keeps every message for ever, and the disk holds each
// envelope twice (in the stream and in each ledger). With retention
// after-backup, the stream drops a message once every node the ledger
// trusts has applied it and a verified backup holds it:
//
//   - each node reports the last stream sequence it applied in the
//     replicated key-value bucket RetentionBucket, key "applied.<key ID>";
//   - `pedigree backup --operator`, once the archive it wrote passed its
//     verification, has the node record the backup's applied sequence
//     (key "backup"; only ever raised, and only for a backup of this
//     ledger: its root at its size must be the ledger's);
//   - every node, every RetentionConfig.Interval, purges SCANS up to
//     min(applied of every trusted node, the backup's) − Margin.
//
// The reports are not the durable consumers' acknowledgement floors: a
// node deletes and re-creates its consumer at every (re)start of
// consumption (ingest), and a consumer briefly gone would let a purge
// through.
//
// A node that never reported (down since before retention was turned on,
// added but never started, or configured keep-all) blocks every purge: the
// purge point only waits, it never guesses. Purging is idempotent (a purge
// below the stream's first sequence does nothing), so every node runs the
// loop. A node that needs a message the stream dropped (restored from an
// older backup) is refused by the stream check (ingest.ErrTooFarBehind):
// it applies nothing and is not ready until it is restored from a newer
// backup.

// RetentionMode says when SCANS may drop messages.
type RetentionMode string

// Retention modes.
const (
	// RetentionKeepAll keeps every message (the default).
	RetentionKeepAll RetentionMode = "keep-all"
	// RetentionAfterBackup drops a message once every trusted node
	// applied it and a verified backup holds it. SCANS must have been
	// created with it (JetStream cannot lift a stream's deny-purge).
	RetentionAfterBackup RetentionMode = "after-backup"
)

// RetentionConfig configures stream retention.
type RetentionConfig struct {
	// Mode is RetentionKeepAll (empty means it) or RetentionAfterBackup.
	Mode RetentionMode
	// Margin is how many messages below the purge point the stream keeps
	// anyway.
	Margin uint64
	// Interval is how often the node reports its applied sequence and
	// purges; 0 means DefaultRetentionInterval.
	Interval time.Duration
}

// Defaults of RetentionConfig.
const (
	DefaultRetentionInterval = 30 * time.Second
	DefaultRetentionMargin   = 10_000
)

// RetentionBucket is the key-value bucket of the nodes' applied sequences
// and of the newest verified backup.
const RetentionBucket = "PEDIGREE_RETENTION"

const retentionBackupKey = "backup"

func retentionAppliedKey(keyID string) string { return "applied." + keyID }

func (c RetentionConfig) validate() error {
	switch c.Mode {
	case "", RetentionKeepAll, RetentionAfterBackup:
	default:
		return fmt.Errorf("stream-retention: %q: want %s or %s", c.Mode, RetentionKeepAll, RetentionAfterBackup)
	}
	if c.Interval < 0 {
		return errors.New("stream-retention-interval: must not be negative")
	}
	return nil
}

func (c RetentionConfig) enabled() bool { return c.Mode == RetentionAfterBackup }

// streamLimits are the limits the node declares its streams with.
func (n *Node) streamLimits() natsbus.StreamLimits {
	return natsbus.StreamLimits{Replicas: n.cfg.StreamReplicas, AllowPurge: n.cfg.StreamRetention.enabled()}
}

// VerifiedBackup is the record of the newest verified backup, in
// RetentionBucket.
type VerifiedBackup struct {
	// AppliedSeq is the last stream sequence the backup's ledger applied.
	AppliedSeq uint64 `json:"applied_seq"`
	// LedgerSize and RootHash are the backup's ledger head.
	LedgerSize uint64 `json:"ledger_size"`
	RootHash   string `json:"root_hash"`
	// Node is the node backed up; Created when.
	Node    string    `json:"node"`
	Created time.Time `json:"created"`
}

// RetentionStatus is what the last round of the retention loop found.
type RetentionStatus struct {
	// Rounds counts the rounds run.
	Rounds uint64
	// Reported is the applied sequence this node reported.
	Reported uint64
	// Floor is min(applied of every trusted node, the backup's) −
	// Margin: the stream may drop every sequence up to it (0: none).
	Floor uint64
	// FirstSeq is the stream's first sequence after the round.
	FirstSeq uint64
	// Waiting says why nothing could be dropped, "" when Floor is set.
	Waiting string
	// Err is the round's failure, nil when it ran.
	Err error
}

// retention is the node's retention loop.
type retention struct {
	n  *Node
	mu sync.Mutex
	kv jetstream.KeyValue // made on first use
	st RetentionStatus
}

// bucket returns the retention bucket, creating it on first use.
func (r *retention) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kv != nil {
		return r.kv, nil
	}
	kv, err := r.n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      RetentionBucket,
		Description: "Pedigree stream retention: each node's applied sequence and the newest verified backup",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    r.n.cfg.StreamReplicas,
	})
	if err != nil {
		return nil, fmt.Errorf("node: retention bucket %s: %w", RetentionBucket, err)
	}
	r.kv = kv
	return kv, nil
}

// run reports and purges every interval until ctx ends.
func (r *retention) run(ctx context.Context) {
	every := r.n.cfg.StreamRetention.Interval
	if every == 0 {
		every = DefaultRetentionInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		st := r.round(ctx)
		if st.Err != nil && ctx.Err() == nil {
			r.n.logger.Warn("stream retention", "err", st.Err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// round reports this node's applied sequence and purges what may go.
func (r *retention) round(ctx context.Context) (st RetentionStatus) {
	defer func() {
		r.mu.Lock()
		st.Rounds = r.st.Rounds + 1
		r.st = st
		r.mu.Unlock()
	}()
	kv, err := r.bucket(ctx)
	if err != nil {
		st.Err = err
		return st
	}
	st.Reported = r.n.pipeline.Applied()
	if _, err := kv.Put(ctx, retentionAppliedKey(r.n.nodeKeyID), []byte(strconv.FormatUint(st.Reported, 10))); err != nil {
		st.Err = fmt.Errorf("node: retention: report the applied sequence: %w", err)
		return st
	}
	floor, waiting, err := r.floor(ctx, kv)
	if err != nil || waiting != "" {
		st.Waiting, st.Err = waiting, err
		return st
	}
	stream, err := r.n.js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		st.Err = fmt.Errorf("node: retention: stream %s: %w", subjects.ScanStream, err)
		return st
	}
	info := stream.CachedInfo()
	st.FirstSeq = info.State.FirstSeq
	if !natsbus.Purgeable(info.Config) {
		st.Waiting = "the stream denies purges: it was created without --stream-retention after-backup"
		return st
	}
	st.Floor = floor
	if st.FirstSeq > floor {
		return st // dropped already
	}
	if err := stream.Purge(ctx, jetstream.WithPurgeSequence(floor+1)); err != nil {
		st.Err = fmt.Errorf("node: retention: purge %s below %d: %w", subjects.ScanStream, floor+1, err)
		return st
	}
	st.FirstSeq = floor + 1
	r.n.logger.Info("stream retention dropped the messages every node applied and a verified backup holds",
		"stream", subjects.ScanStream, "up_to", floor, "margin", r.n.cfg.StreamRetention.Margin)
	return st
}

// floor returns min(applied of every trusted node, the newest verified
// backup's) − Margin, or why there is none yet.
func (r *retention) floor(ctx context.Context, kv jetstream.KeyValue) (uint64, string, error) {
	ids, err := r.n.store.NodeKeyIDs()
	if err != nil {
		return 0, "", err
	}
	if len(ids) == 0 {
		return 0, "the ledger trusts no node key yet", nil
	}
	floor := uint64(math.MaxUint64)
	for _, id := range ids {
		keyID := hex.EncodeToString(id[:])
		e, err := kv.Get(ctx, retentionAppliedKey(keyID))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			name, _, _ := r.n.store.NodeKey(id)
			return 0, fmt.Sprintf("node %s (key %s) has not reported its applied sequence (is it running, with --stream-retention after-backup?)", name, keyID), nil
		}
		if err != nil {
			return 0, "", fmt.Errorf("node: retention: applied sequence of node key %s: %w", keyID, err)
		}
		seq, err := strconv.ParseUint(string(e.Value()), 10, 64)
		if err != nil {
			return 0, "", fmt.Errorf("node: retention: applied sequence of node key %s: %w", keyID, err)
		}
		floor = min(floor, seq)
	}
	b, _, err := verifiedBackup(ctx, kv)
	if err != nil {
		return 0, "", err
	}
	if b == nil {
		return 0, "no verified backup yet (pedigree backup --operator records one)", nil
	}
	floor = min(floor, b.AppliedSeq)
	margin := r.n.cfg.StreamRetention.Margin
	if floor <= margin {
		return 0, fmt.Sprintf("every node and the backup hold up to sequence %d, within the margin of %d", floor, margin), nil
	}
	return floor - margin, "", nil
}

// verifiedBackup reads the newest verified backup's record, nil when
// there is none, with its revision.
func verifiedBackup(ctx context.Context, kv jetstream.KeyValue) (*VerifiedBackup, uint64, error) {
	e, err := kv.Get(ctx, retentionBackupKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("node: retention: the verified backup's record: %w", err)
	}
	var b VerifiedBackup
	if err := json.Unmarshal(e.Value(), &b); err != nil {
		return nil, 0, fmt.Errorf("node: retention: the verified backup's record: %w", err)
	}
	return &b, e.Revision(), nil
}

// RetentionStatus returns what the last round of the retention loop
// found (the zero value before the first, or with keep-all).
func (n *Node) RetentionStatus() RetentionStatus {
	if n.retention == nil {
		return RetentionStatus{}
	}
	n.retention.mu.Lock()
	defer n.retention.mu.Unlock()
	return n.retention.st
}

// RecordVerifiedBackup records m, the manifest of a backup archive that
// passed its verification, as the newest verified backup, unless a newer
// one is recorded already. The backup must be of this ledger: its root at
// its size must be this ledger's root at that size. It returns the record
// in force.
func (n *Node) RecordVerifiedBackup(ctx context.Context, m BackupManifest) (VerifiedBackup, error) {
	if err := m.validate(); err != nil {
		return VerifiedBackup{}, err
	}
	if m.LedgerSize == 0 || m.LedgerSize > n.ledger.Size() {
		return VerifiedBackup{}, fmt.Errorf("backup: ledger_size %d: this node's ledger has %d entries", m.LedgerSize, n.ledger.Size())
	}
	root, err := n.ledger.Root(ctx, m.LedgerSize)
	if err != nil {
		return VerifiedBackup{}, fmt.Errorf("backup: root at %d: %w", m.LedgerSize, err)
	}
	if hex.EncodeToString(root[:]) != m.RootHash {
		return VerifiedBackup{}, fmt.Errorf("backup: root_hash %s is not this ledger's root at size %d: a backup of another ledger", m.RootHash, m.LedgerSize)
	}
	if applied := n.pipeline.Applied(); m.AppliedSeq > applied {
		return VerifiedBackup{}, fmt.Errorf("backup: applied_seq %d: this node applied %d", m.AppliedSeq, applied)
	}
	kv, err := n.retention.bucket(ctx)
	if err != nil {
		return VerifiedBackup{}, err
	}
	rec := VerifiedBackup{AppliedSeq: m.AppliedSeq, LedgerSize: m.LedgerSize, RootHash: m.RootHash, Node: m.Node, Created: m.Created.UTC()}
	val, err := json.Marshal(rec)
	if err != nil {
		return VerifiedBackup{}, err
	}
	for range 10 { // another node may record at the same time
		cur, rev, err := verifiedBackup(ctx, kv)
		if err != nil {
			return VerifiedBackup{}, err
		}
		if cur != nil && cur.AppliedSeq >= rec.AppliedSeq {
			return *cur, nil
		}
		if cur == nil {
			_, err = kv.Create(ctx, retentionBackupKey, val)
		} else {
			_, err = kv.Update(ctx, retentionBackupKey, val, rev)
		}
		if err == nil {
			n.logger.Info("recorded a verified backup", "applied_seq", rec.AppliedSeq, "ledger_size", rec.LedgerSize, "node", rec.Node)
			return rec, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongLastSequence(err) {
			return VerifiedBackup{}, fmt.Errorf("backup: record: %w", err)
		}
	}
	return VerifiedBackup{}, errors.New("backup: record: the record kept changing; try again")
}

// isWrongLastSequence reports a KV update refused because the key changed
// since it was read.
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// startRetention makes the retention loop, and runs it with after-backup.
func (n *Node) startRetention() {
	n.retention = &retention{n: n}
	if !n.cfg.StreamRetention.enabled() {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.stopRetain = cancel
	n.bg.Go(func() { n.retention.run(ctx) })
}

// checkLedgerStart refuses to start an empty ledger from a stream whose
// retention dropped its beginning (the genesis among it): such a node can
// only start from a backup. A stream that does not answer yet is left to
// the checks that follow.
func (n *Node) checkLedgerStart(ctx context.Context) error {
	if n.ledger.Size() > 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := n.js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		return nil
	}
	if info := st.CachedInfo(); natsbus.Purgeable(info.Config) && info.State.FirstSeq > 1 {
		return fmt.Errorf("node: too far behind: the stream %s starts at %d and this node's ledger is empty: stream retention"+
			" dropped the ledger's beginning, and a new node needs all of it. A node whose data was lost starts from its own"+
			" backup (`pedigree restore --from BACKUP --data DATA`); a new node joins a cluster whose stream still starts at"+
			" sequence 1 (docs/scale-out.md)", subjects.ScanStream, info.State.FirstSeq)
	}
	return nil
}
