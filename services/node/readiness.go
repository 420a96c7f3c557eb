package node

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pedigree-project/pedigree/subjects"
)

// startLag is the node's readiness while it applies what the stream held
// when it started: a restarted node, or one restored from a backup, is
// not ready (load balancers and probes send it nothing) until its ledger
// is as current as it was meant to be at the start.
type startLag struct {
	target atomic.Uint64 // the stream's last sequence when the node started
	done   atomic.Bool   // the ledger reached target once
}

// noteCatchUpTarget records the stream's last sequence. A stream that
// does not answer now sets no target: the stall watchdog reports a
// consumer that does not deliver.
func (n *Node) noteCatchUpTarget(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := n.js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		n.logger.Warn("the stream's last sequence at start", "err", err)
		return
	}
	if last := st.CachedInfo().State.LastSeq; last > 0 {
		n.startLag.target.Store(last)
		n.logger.Info("catching up with the stream before reporting ready", "last_seq", last)
	}
}

// catchingUp returns "catching up: applied N of M" until the ledger has
// applied what the stream held when the node started, nil from then on.
func (n *Node) catchingUp() error {
	if n.startLag.done.Load() {
		return nil
	}
	target, applied := n.startLag.target.Load(), n.pipeline.Applied()
	if applied >= target {
		if n.startLag.done.CompareAndSwap(false, true) && target > 0 {
			n.logger.Info("caught up with the stream", "applied", applied)
		}
		return nil
	}
	return fmt.Errorf("catching up: applied %d of %d", applied, target)
}
