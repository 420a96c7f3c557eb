package epcisapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/ingest"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/services/internal/submit"
	"github.com/pedigree-project/pedigree/services/internal/writer"
)

// A capture job's life:
//
//  1. the document is prepared; with rollback and any refused event the
//     job is stored finished, failed, and nothing is published;
//  2. otherwise the events are put in envelopes of ChunkSize events (fewer
//     when the document's head is large: envelope.MaxEventsSharingHead), all
//     checked with the ledger's field checks before any is published (a
//     refusal publishes nothing and answers 400 with the event's
//     location), then published, in order, each acknowledged before the
//     next is sent, each under the message ID
//     envelope.MsgID gives it: a retried
//     document publishes the same messages, which the stream or the
//     ledger recognise, so nothing is recorded twice;
//  3. once JetStream acknowledged every envelope, the job is stored
//     (fsync) as running, with each envelope's message ID and stream
//     sequence, and only then is the capture answered (202). Publishing
//     goes on when the client goes away; when it stops half-way (a full
//     stream: 429), the job is stored with what the stream took, which
//     reaches the ledger, and names the first event not published;
//  4. in the background, the job waits until this node's ledger applied
//     the last sequence, finds the entry of each envelope, reads the
//     outcomes, and is stored finished. A node that stops first resumes
//     it at its next start (Start): what JetStream acknowledged reaches
//     the ledger.

// startJob publishes a prepared capture and stores its job; the job
// finishes in the background.
func (h *Handler) startJob(ctx context.Context, p *auth.Principal, prep *Prepared, b Behaviour) (*pb.EpcisCaptureJob, error) {
	now := h.cfg.Now()
	id, err := state.NewCaptureID(now)
	if err != nil {
		return nil, err
	}
	j := &pb.EpcisCaptureJob{
		CaptureId: id, PartyGln: p.Party.GetGln(), CreatedAt: timestamppb.New(now),
		CaptureErrorBehaviour: b.String(), Total: uint32(prep.Total), ChunkSize: uint32(h.chunkSize(prep.EPCISHead)),
	}
	for _, e := range prep.Errors {
		j.Errors = append(j.Errors, &pb.EpcisCaptureError{Position: uint32(e.Index), EventId: e.EventID, Field: e.Field, Message: e.Msg})
	}
	if len(prep.Events) == 0 {
		// Rollback with refusals: nothing is published.
		j.FinishedAt, j.Failed = timestamppb.New(now), true
		return j, h.store.PutCaptureJob(j)
	}
	for i, se := range prep.Events {
		j.Events = append(j.Events, &pb.EpcisCaptureEvent{EventId: se.GetEventId(), Position: uint32(prep.Positions[i])})
	}
	chunk := int(j.ChunkSize)
	envs := h.envelopes(p, prep.Events, prep.EPCISHead, chunk)
	if err := validate(envs, prep.Positions, chunk); err != nil {
		return nil, err
	}
	// A client that goes away does not stop the publishing half-way.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishWait)
	defer cancel()
	sealed := h.sealAhead(envs)
	defer sealed.stop()
	perr := h.publish(pctx, j, envs, sealed)
	if perr != nil {
		if len(j.Chunks) == 0 {
			return nil, perr
		}
		// What the stream took reaches the ledger: the job keeps it, and
		// names the events that were not published.
		if sent := min(len(j.Chunks)*int(j.ChunkSize), len(j.Events)); sent < len(j.Events) {
			j.Errors = append(j.Errors, &pb.EpcisCaptureError{Position: j.Events[sent].GetPosition(), EventId: j.Events[sent].GetEventId(),
				Message: fmt.Sprintf("this event and the %d after it were not published, or not acknowledged (%v): capture the document again; what was published is recognised", len(j.Events)-sent-1, perr)})
			j.Events = j.Events[:sent]
		}
	}
	if err := h.store.PutCaptureJob(j); err != nil {
		return nil, err
	}
	h.finishLater(proto.Clone(j).(*pb.EpcisCaptureJob))
	if perr != nil {
		return nil, perr
	}
	return j, nil
}

// publishWait bounds the publishing of one capture.
const publishWait = 2 * time.Minute

// chunkSize is the number of events per envelope of a capture whose
// epcis_head is head: ChunkSize, fewer when a large head allows fewer
// (envelope.MaxEventsSharingHead).
func (h *Handler) chunkSize(head []byte) int {
	return min(h.cfg.ChunkSize, envelope.MaxEventsSharingHead(len(head)))
}

// envelopes puts events in envelopes of chunk events from p, each with
// head as its epcis_head.
func (h *Handler) envelopes(p *auth.Principal, events []*pb.ScanEvent, head []byte, chunk int) []*pb.Envelope {
	var envs []*pb.Envelope
	for from := 0; from < len(events); from += chunk {
		env := writer.Envelope(p)
		env.Body = &pb.Envelope_Capture{Capture: &pb.Capture{Events: events[from:min(from+chunk, len(events))], EpcisHead: head}}
		envs = append(envs, env)
	}
	return envs
}

// validate runs the ledger's checks of a capture as a whole
// (ingest.CheckCapture) on every envelope before any is published:
// Prepare already ran the ledger's check of each event (convert.Event,
// the captured EPCIS bytes included), and a capture is published whole or
// not at all. A refusal names the event by its position in the document.
func validate(envs []*pb.Envelope, positions []int, chunk int) error {
	for i, env := range envs {
		err := ingest.CheckCapture(env.GetCapture())
		var ve *ingest.ValidationError
		switch {
		case errors.As(err, &ve):
			k, field := eventOf(ve.Field)
			at := i*chunk + max(k, 0)
			pos := at
			if at < len(positions) {
				pos = positions[at]
			}
			return &DocError{Status: http.StatusBadRequest, Field: eventPointer(uint32(pos)) + field, Msg: ve.Msg}
		case err != nil:
			return err
		}
	}
	return nil
}

// eventOf splits a field of a capture envelope, "capture.events[k].rest",
// into k and "/rest"; k is -1 for another field.
func eventOf(field string) (int, string) {
	rest, ok := strings.CutPrefix(field, "capture.events[")
	if !ok {
		return -1, ""
	}
	n, tail, ok := strings.Cut(rest, "]")
	k, err := strconv.Atoi(n)
	if !ok || err != nil {
		return -1, ""
	}
	return k, strings.ReplaceAll(tail, ".", "/")
}

// publishError answers a publish that failed: a full stream is 429.
func publishError(err error) error {
	if errors.Is(err, submit.ErrOverloaded) {
		return &apierr.Error{Code: codes.ResourceExhausted, Msg: "the ledger is busy: retry in a few seconds; the same document is recognised"}
	}
	return err
}

// finishLater finishes j in the background, under the context of Start.
func (h *Handler) finishLater(j *pb.EpcisCaptureJob) {
	h.mu.Lock()
	ctx := h.ctx
	rj := &runningJob{view: summary(j), party: j.GetPartyGln(), done: make(chan struct{})}
	if ctx != nil {
		h.running[j.GetCaptureId()] = rj
	}
	h.mu.Unlock()
	if ctx == nil {
		// Not started: the job stays running in the store, and the next
		// Start finishes it.
		return
	}
	h.jobs.Add(1)
	go func() {
		defer h.jobs.Done()
		err := h.finish(ctx, j)
		if err != nil && ctx.Err() == nil {
			h.cfg.Logger.Error("epcis capture job", "captureID", j.GetCaptureId(), "err", err)
		}
		if err == nil {
			h.mu.Lock()
			delete(h.running, j.GetCaptureId())
			h.mu.Unlock()
			close(rj.done)
		}
	}()
}

// finishRetry is the pause between two waits for the ledger.
const finishRetry = 200 * time.Millisecond

// finish waits until the ledger applied every envelope of j, records which
// entry did, and stores j finished. It gives up only when ctx ends.
func (h *Handler) finish(ctx context.Context, j *pb.EpcisCaptureJob) error {
	var last uint64
	for _, c := range j.GetChunks() {
		last = max(last, c.GetStreamSequence())
	}
	for {
		err := h.cfg.Writer.Durable(ctx, last)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		h.cfg.Logger.Warn("epcis capture job: the ledger has not applied its envelopes yet", "captureID", j.GetCaptureId(), "sequence", last, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(finishRetry):
		}
	}
	// Each envelope's entry, found by its message ID, gives the outcomes.
	entries := make([]*pb.LedgerEntry, len(j.GetChunks()))
	if err := inParallel(len(entries), func(k int) error {
		c := j.GetChunks()[k]
		entry, ok, err := h.cfg.Lookup(ctx, c.GetMsgId())
		if err != nil {
			return fmt.Errorf("epcisapi: entry of %s: %w", c.GetMsgId(), err)
		}
		c.Recorded, c.LedgerIndex = ok, entry.GetIndex()
		if ok {
			entries[k] = entry
		}
		return nil
	}); err != nil {
		return err
	}
	outs, err := h.outcomesOf(j, entries)
	if err != nil {
		return err
	}
	j.Failed = len(j.GetErrors()) > 0
	for _, o := range outs {
		if o.Outcome == outcomeRefused {
			j.Failed = true
		}
	}
	j.FinishedAt = timestamppb.New(h.cfg.Now())
	// The client waiting for the job reads its receipt next: it is made
	// now, from the outcomes just read, while the job is stored, and kept
	// once the job is. Without it, a read makes it.
	var view []byte
	var verr error
	made := make(chan struct{})
	go func() {
		defer close(made)
		defer func() {
			if r := recover(); r != nil {
				verr = fmt.Errorf("epcisapi: making the receipt: %v", r)
			}
		}()
		var v JobView
		if v, verr = h.viewWith(ctx, j, outs, false); verr == nil {
			view, verr = encodeJSON(v)
		}
	}()
	err = h.store.PutCaptureJob(j)
	<-made
	if err != nil {
		return err
	}
	if verr != nil {
		h.cfg.Logger.Warn("epcis capture job: its receipt is made when read", "captureID", j.GetCaptureId(), "err", verr)
		return nil
	}
	h.finished.put(j, view)
	return nil
}

// runningView is the summary of party gln's job id while this node
// finishes it, and a channel closed once it has; ok is false otherwise.
func (h *Handler) runningView(gln, id string) (JobView, <-chan struct{}, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rj, ok := h.running[id]
	if !ok || rj.party != gln {
		return JobView{}, nil, false
	}
	return rj.view, rj.done, true
}

// awaitJob waits, at most d, until party gln's job id has finished, and
// returns it; nil when it has not.
func (h *Handler) awaitJob(ctx context.Context, gln, id string, d time.Duration) (*pb.EpcisCaptureJob, error) {
	if _, done, ok := h.runningView(gln, id); ok {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	j, err := h.store.CaptureJob(gln, id)
	if err != nil || j.GetFinishedAt() == nil {
		return nil, err
	}
	return j, nil
}

// errNoJob is the answer for a capture ID the caller has no job under.
var errNoJob = errors.New("no such capture job")
