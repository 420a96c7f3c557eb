package witness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigree-project/pedigree/ledger"
)

// A Tree is a replica's own copy of the log; a *ledger.Log is one.
type Tree interface {
	// Origin is the log's origin line.
	Origin() string
	// Size is the number of entries the copy holds.
	Size() uint64
	// Root is the root hash of its first n entries, n ≤ Size().
	Root(ctx context.Context, n uint64) (tlog.Hash, error)
}

// ReplicaConfig configures a Replica.
type ReplicaConfig struct {
	// Tree is the replica's own copy of the log.
	Tree Tree
	// Signer makes its cosignatures: a cosignature/v1 signer.
	Signer note.Signer
	// VerifierKey is Signer's cosignature/v1 verifier key, served at
	// GET /vkey for the other nodes to learn which key to check.
	VerifierKey string
	// Grown blocks until the tree may have grown, or ctx ends; nil: a
	// request for a size the tree has not reached is answered at once.
	Grown func(ctx context.Context) error
	// MaxWait bounds how long a request waits for the tree to reach the
	// checkpoint's size; 0: DefaultReplicaWait.
	MaxWait time.Duration
	// Logger receives the fork alarms.
	Logger *slog.Logger
	// Registerer, when not nil, gets the replica's metrics.
	Registerer prometheus.Registerer
}

// DefaultReplicaWait is how long a replica waits, by default, for its
// tree to reach the size of a checkpoint it is asked to cosign.
const DefaultReplicaWait = time.Second

// A Replica cosigns the checkpoints of a log it builds itself, as every
// node of a Pedigree cluster does: it cosigns a checkpoint only when its
// own tree, at the checkpoint's size, has the checkpoint's root. It needs
// neither the log's signature nor a consistency proof to know that, so it
// checks neither (the old size and proof of a request are only parsed):
// its cosignature states its own tree, whoever asks.
//
// It answers 409 with its own size (text/x.tlog.size) while its tree is
// smaller than the checkpoint, after waiting up to MaxWait for it to grow;
// and 409 with the checkpoint's size when its tree of that size has
// another root: a fork, which it logs as an error and counts in
// pedigree_cosign_fork_alarms_total. Its methods are safe for concurrent
// use.
type Replica struct {
	tree    Tree
	signer  note.Signer
	vkey    string
	grown   func(context.Context) error
	maxWait time.Duration
	logger  *slog.Logger
	forks   prometheus.Counter
	answers *prometheus.CounterVec
}

// NewReplica returns a replica over cfg.
func NewReplica(cfg ReplicaConfig) (*Replica, error) {
	if cfg.Tree == nil || cfg.Signer == nil || cfg.VerifierKey == "" || cfg.Logger == nil {
		return nil, errors.New("witness replica: tree, signer, verifier key and logger are required")
	}
	r := &Replica{tree: cfg.Tree, signer: cfg.Signer, vkey: cfg.VerifierKey, grown: cfg.Grown, maxWait: cfg.MaxWait, logger: cfg.Logger}
	if r.maxWait <= 0 {
		r.maxWait = DefaultReplicaWait
	}
	r.forks = prometheus.NewCounter(prometheus.CounterOpts{Name: "pedigree_cosign_fork_alarms_total",
		Help: "Checkpoints of this node's log whose root differs from this node's tree of the same size (a fork): refused."})
	r.answers = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pedigree_cosign_requests_total",
		Help: "add-checkpoint requests this node answered as a replica, by result (cosigned, behind, fork, refused)."}, []string{"result"})
	if cfg.Registerer != nil {
		for _, m := range []prometheus.Collector{r.forks, r.answers} {
			if err := cfg.Registerer.Register(m); err != nil {
				return nil, fmt.Errorf("witness replica: metrics: %w", err)
			}
		}
	}
	return r, nil
}

// AddCheckpoint runs the add-checkpoint call against the replica's own
// tree and returns its cosignature as note signature lines. A refusal is
// an *Error.
func (r *Replica) AddCheckpoint(ctx context.Context, req Request) ([]byte, error) {
	sigs, result, err := r.addCheckpoint(ctx, req)
	r.answers.WithLabelValues(result).Inc()
	return sigs, err
}

func (r *Replica) addCheckpoint(ctx context.Context, req Request) ([]byte, string, error) {
	_, err := note.Open(req.Checkpoint, nil)
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return nil, "refused", refuse(http.StatusBadRequest, "checkpoint: not a signed note: %v", err)
	}
	text := unverified.Note.Text
	cp, err := ledger.ParseUnverifiedCheckpoint(req.Checkpoint)
	if err != nil {
		return nil, "refused", refuse(http.StatusBadRequest, "checkpoint: %w", err)
	}
	if cp.Origin != r.tree.Origin() {
		return nil, "refused", refuse(http.StatusNotFound, "unknown log %q", cp.Origin)
	}
	if text != ledger.CheckpointText(cp.Origin, cp.Size, cp.Root) {
		return nil, "refused", refuse(http.StatusBadRequest, "checkpoint: only origin, size and root lines are cosigned")
	}
	if req.OldSize > cp.Size {
		return nil, "refused", refuse(http.StatusBadRequest, "old size %d is above the checkpoint's size %d", req.OldSize, cp.Size)
	}
	if size := r.waitFor(ctx, cp.Size); size < cp.Size {
		return nil, "behind", &Error{Status: http.StatusConflict, Size: size,
			Err: fmt.Errorf("this node's ledger has %d entries, not yet the checkpoint's %d", size, cp.Size)}
	}
	root, err := r.tree.Root(ctx, cp.Size)
	if err != nil {
		return nil, "refused", fmt.Errorf("witness replica: root at %d: %w", cp.Size, err)
	}
	if root != cp.Root {
		r.forks.Inc()
		r.logger.Error("fork alarm: a checkpoint of this node's ledger has another root than this node's tree of the same size; not cosigned",
			"origin", cp.Origin, "size", cp.Size, "checkpoint_root", cp.Root.String(), "own_root", root.String())
		return nil, "fork", &Error{Status: http.StatusConflict, Size: cp.Size,
			Err: fmt.Errorf("this node's ledger of size %d has root %s, not %s", cp.Size, root, cp.Root)}
	}
	signed, err := note.Sign(&note.Note{Text: text}, r.signer)
	if err != nil {
		return nil, "refused", fmt.Errorf("witness replica: cosign: %w", err)
	}
	return signed[len(text)+1:], "cosigned", nil
}

// waitFor waits, up to the replica's bound, until the tree holds size
// entries, and returns the size it holds.
func (r *Replica) waitFor(ctx context.Context, size uint64) uint64 {
	have := r.tree.Size()
	if have >= size || r.grown == nil {
		return have
	}
	wctx, cancel := context.WithTimeout(ctx, r.maxWait)
	defer cancel()
	for have < size {
		if r.grown(wctx) != nil {
			return r.tree.Size()
		}
		have = r.tree.Size()
	}
	return have
}
