package bench

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/services/node"
)

// embedded is a node run by the benchmark on a temporary directory.
type embedded struct {
	dir     string
	node    *node.Node
	stopped bool
}

// startEmbedded starts a node with the defaults of `pedigree serve` on a
// new temporary directory, listening on free loopback ports (NATS
// included: the benchmark publishes over TCP, as scanners do), except
// that its rate limits are off: one pharmacy verifies at the rate the
// whole node is measured at, far past a party's budget.
func startEmbedded(ctx context.Context, logger *slog.Logger) (*embedded, Target, error) {
	dir, err := os.MkdirTemp("", "pedigree-bench-")
	if err != nil {
		return nil, Target{}, fmt.Errorf("bench: data directory: %w", err)
	}
	cfg := node.DefaultConfig()
	cfg.DataDir = dir
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.NATSListen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Edge = cfg.Edge.Unlimited()
	cfg.NATSLimits.PublishRate = math.MaxFloat64 // and so is a pharmacy's NATS publish rate
	cfg.MetricsAddr = "127.0.0.1:0"              // the soak reads Pebble's health on /metrics
	n, err := node.Start(ctx, cfg, logger)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, Target{}, err
	}
	e := &embedded{dir: dir, node: n}
	token, err := os.ReadFile(n.AdminTokenPath())
	if err != nil {
		e.remove()
		return nil, Target{}, fmt.Errorf("bench: admin token: %w", err)
	}
	keys, err := envelope.NewNodeKeys(n.NodeKey())
	if err != nil {
		e.remove()
		return nil, Target{}, err
	}
	return e, Target{HTTPAddr: n.HTTPAddr(), GRPCAddr: n.GRPCAddr(), NATSURL: n.NATSURL(), Token: strings.TrimSpace(string(token)),
		MetricsAddr: n.MetricsAddr(), NodeKeys: keys, NATSAdminKeyFile: filepath.Join(dir, node.KeysDir, node.NATSKeyFile)}, nil
}

// stop shuts the node down.
func (e *embedded) stop() error {
	if e.stopped {
		return nil
	}
	e.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return e.node.Shutdown(ctx)
}

// remove stops the node if it runs and deletes its directory.
func (e *embedded) remove() {
	_ = e.stop()
	_ = os.RemoveAll(e.dir)
}

// audit runs `ledger verify` on the stopped node's data, as the CLI does
// (read-only, ledger.AuditPebbleOptions), and measures its disk use.
// events is the number of pack events the run recorded; singles is the
// single-pack ingest phase.
func (e *embedded) audit(ctx context.Context, logger *slog.Logger, events int64, singles Throughput) (*Audit, *Disk, error) {
	// Sizes first: opening the DB, even read-only, adds nothing, but the
	// figures should be those of the directory the node left.
	d := &Disk{Events: events}
	var err error
	if d.DataDirBytes, err = dirSize(e.dir); err != nil {
		return nil, nil, fmt.Errorf("bench: data directory size: %w", err)
	}
	if d.PebbleDirBytes, err = dirSize(filepath.Join(e.dir, "pebble")); err != nil {
		return nil, nil, fmt.Errorf("bench: data directory size: %w", err)
	}
	if d.StreamBytes, err = dirSize(filepath.Join(e.dir, "nats")); err != nil {
		return nil, nil, fmt.Errorf("bench: data directory size: %w", err)
	}
	o := node.AuditOptions{Logger: pebbleLog{logger}}
	if singles.LastIndex > 0 && singles.LastIndex >= singles.FirstIndex {
		o.EntriesFrom, o.EntriesTo = singles.FirstIndex, singles.LastIndex+1
	}
	rep, err := node.Audit(ctx, e.dir, o)
	if err != nil {
		return nil, nil, fmt.Errorf("bench: %w", err)
	}
	d.PebbleLiveBytes = rep.LiveBytes
	d.LedgerEntries = rep.Entries
	if events > 0 {
		d.BytesPerEvent = float64(d.PebbleLiveBytes+d.StreamBytes) / float64(events)
		d.PebbleBytesPerEvent = float64(d.PebbleLiveBytes) / float64(events)
		d.StreamBytesPerEvent = float64(d.StreamBytes) / float64(events)
	}
	d.SingleStreamBytes = singles.StreamBytesPerMessage
	if n := o.EntriesTo - o.EntriesFrom; n > 0 {
		d.SingleEntryBytes = float64(rep.EntriesBytes) / float64(n)
	}
	a := &Audit{Entries: rep.Entries, Checkpoints: rep.Checkpoints, Seconds: rep.Duration.Seconds(), EntriesPerS: rep.Rate()}
	return a, d, nil
}

// pebbleLog sends Pebble's errors to the logger and drops its chatter.
type pebbleLog struct{ l *slog.Logger }

func (p pebbleLog) Infof(string, ...any) {}
func (p pebbleLog) Errorf(format string, args ...any) {
	p.l.Error("pebble: " + fmt.Sprintf(format, args...))
}

// Fatalf must not return (pebble.Logger's contract): Pebble calls it on
// corruption it cannot go on from.
func (p pebbleLog) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}
