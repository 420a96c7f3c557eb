package node

import (
	"context"
	"net/http"

	"github.com/pedigree-project/pedigree/services/internal/epcisapi"
	"github.com/pedigree-project/pedigree/services/internal/writer"
)

// checkedEPCISEnvelopes is how many envelopes of captured events the
// capture interface remembers as checked for the ledger's pipeline (about
// 80 bytes each): several full documents even of one event per envelope.
const checkedEPCISEnvelopes = 1 << 16

// wrapEPCIS mounts the EPCIS 2.0 interface (/epcis/…) in front of next:
// capture, and query for the rest of /epcis, and finishes in the background the capture jobs a previous run
// left running. The jobs stop with the node's background work (Shutdown:
// after HTTP has drained, before Pebble closes).
func (n *Node) wrapEPCIS(next http.Handler, query http.Handler) (http.Handler, error) {
	prep, err := epcisapi.NewPreparer(n.cfg.EPCISCapture)
	if err != nil {
		return nil, err
	}
	w, err := writer.New(n.store, n.submitter, n.logger)
	if err != nil {
		return nil, err
	}
	w.Now = n.now
	h, err := epcisapi.New(epcisapi.Config{
		Preparer:      prep,
		Writer:        w,
		Seal:          n.submitter.Seal,
		Publish:       n.submitter.PublishSealed,
		Checked:       n.checkedEPCIS,
		Log:           n.ledger,
		Checkpoint:    n.cosigner.Covering,
		Lookup:        n.lookupEntry,
		Authenticator: n.authn,
		Limits:        n.limits,
		Logger:        n.logger.With("component", "epcis"),
		Now:           n.now,
		ChunkSize:     n.cfg.EPCISChunkSize,
		JobRetention:  n.cfg.EPCISJobRetention,
	})
	if err != nil {
		return nil, err
	}
	h.Query = query
	n.epcisCapture = h
	ctx, cancel := context.WithCancel(context.Background())
	stopBg := n.stopBg
	n.stopBg = func() { cancel(); stopBg() }
	if err := h.Start(ctx); err != nil {
		return nil, err
	}
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		<-ctx.Done()
		h.Wait()
	}()
	return h.Wrap(next), nil
}
