package epcisapi

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/ingest"
	"github.com/pedigree-project/pedigree/services/internal/submit"
)

// publish publishes envs, sealed by sealed, in order, each acknowledged
// by JetStream before the next is sent, and records each acknowledged one
// in j.Chunks until the first that failed, whose error it returns. One at
// a time keeps a capture's envelopes in document order on the stream even
// when one is refused: with envelopes in flight behind a refused one, the
// later would land first, and the pack rules would meet them out of order.
func (h *Handler) publish(ctx context.Context, j *pb.EpcisCaptureJob, envs []*pb.Envelope, sealed *sealing) error {
	for i, env := range envs {
		m, err := sealed.get(i)
		if err != nil {
			return err
		}
		res, err := h.cfg.Publish(ctx, m)
		if err != nil {
			return publishError(err)
		}
		c := &pb.EpcisCaptureChunk{MsgId: res.MsgID, StreamSequence: res.Sequence, StreamDuplicate: res.Duplicate}
		j.Chunks = append(j.Chunks, c)
		if res.Duplicate {
			// A one-event envelope's message ID is its event ID: the
			// stream also takes another event under a used ID for a retry.
			if c.Conflict, err = ingest.ConflictingRetry(h.store, env); err != nil {
				return err
			}
		}
	}
	return nil
}

// sealing seals a capture's envelopes ahead of the publisher, on all
// cores, each remembered as checked (Config.Checked) before the publisher
// may take it.
type sealing struct {
	sealed  []submit.Sealed
	errs    []error
	ready   []chan struct{}
	next    atomic.Int64
	stopped atomic.Bool
}

// sealAhead starts sealing envs in order, on GOMAXPROCS goroutines.
func (h *Handler) sealAhead(envs []*pb.Envelope) *sealing {
	s := &sealing{sealed: make([]submit.Sealed, len(envs)), errs: make([]error, len(envs)), ready: make([]chan struct{}, len(envs))}
	for i := range s.ready {
		s.ready[i] = make(chan struct{})
	}
	for range min(runtime.GOMAXPROCS(0), len(envs)) {
		go func() {
			for {
				i := int(s.next.Add(1)) - 1
				if i >= len(envs) {
					return
				}
				if !s.stopped.Load() {
					s.errs[i] = h.seal(envs[i], &s.sealed[i])
				}
				close(s.ready[i])
			}
		}()
	}
	return s
}

// seal seals env into m and remembers it as checked.
func (h *Handler) seal(env *pb.Envelope, m *submit.Sealed) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("epcisapi: sealing an envelope: %v", r)
		}
	}()
	if *m, err = h.cfg.Seal(env); err != nil {
		return err
	}
	h.cfg.Checked.Remember(m.Digest)
	return nil
}

// get waits for envelope i and returns it sealed.
func (s *sealing) get(i int) (submit.Sealed, error) {
	<-s.ready[i]
	return s.sealed[i], s.errs[i]
}

// stop has the goroutines seal nothing more (the publisher is done); they
// end once they have passed the remaining envelopes.
func (s *sealing) stop() { s.stopped.Store(true) }
