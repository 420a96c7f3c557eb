// Package capture implements CaptureService: scan events from API callers,
// attributed to the caller, put on the stream one by one or as a stream.
//
// Invariants: an event without an ID gets its CBV 2.0 event hash before it
// is published, so a retried call is recognised; nothing is acknowledged to
// the caller before JetStream has stored it.
package capture

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/submit"
	"github.com/pedigree-project/pedigree/services/internal/writer"
)

// Service implements pb.CaptureServiceServer.
type Service struct {
	pb.UnimplementedCaptureServiceServer
	w *writer.Writer
}

var _ pb.CaptureServiceServer = (*Service)(nil)

// New returns the service.
func New(w *writer.Writer) (*Service, error) {
	if w == nil {
		return nil, errors.New("capture: nil writer")
	}
	return &Service{w: w}, nil
}

func (s *Service) submit(ctx context.Context, p *auth.Principal, ev *pb.ScanEvent, wait bool) (submit.Result, error) {
	env, err := s.envelope(p, ev)
	if err != nil {
		return submit.Result{}, err
	}
	res, err := s.w.Submit(ctx, env, wait)
	return res, eventField(err)
}

// publish puts one event on the stream without waiting for the ledger.
func (s *Service) publish(ctx context.Context, p *auth.Principal, ev *pb.ScanEvent) (submit.Result, error) {
	env, err := s.envelope(p, ev)
	if err != nil {
		return submit.Result{}, err
	}
	res, err := s.w.Publish(ctx, env)
	return res, eventField(err)
}

// envelope wraps one event from p.
func (s *Service) envelope(p *auth.Principal, ev *pb.ScanEvent) (*pb.Envelope, error) {
	if ev == nil {
		return nil, apierr.Invalid("event", "required")
	}
	if ev.GetEventId() == "" && ev.GetEventTime() != nil {
		id, err := envelope.EventID(ev, p.Party.GetGln())
		if err == nil {
			ev.EventId = id
		}
	}
	env := writer.Envelope(p)
	env.Body = &pb.Envelope_Capture{Capture: &pb.Capture{Events: []*pb.ScanEvent{ev}}}
	return env, nil
}

// eventIDOf returns the event ID of a single-event write by p: its
// message ID is the event ID scoped to p.
func eventIDOf(p *auth.Principal, res submit.Result) string {
	return strings.TrimPrefix(res.MsgID, envelope.ScopedEventID(p.Party.GetGln(), ""))
}

// eventField names a field of the request's event rather than of the
// envelope it was wrapped in.
func eventField(err error) error {
	var ae *apierr.Error
	if errors.As(err, &ae) && len(ae.Field) > len("capture.events[0].") {
		ae.Field = "event." + ae.Field[len("capture.events[0]."):]
	}
	return err
}

// CaptureEvent submits one event.
func (s *Service) CaptureEvent(ctx context.Context, req *pb.CaptureEventRequest) (*pb.CaptureEventResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, apierr.Status(ctx, s.w.Logger(), err)
	}
	res, err := s.submit(ctx, p, req.GetEvent(), req.GetWait())
	if err != nil {
		return nil, apierr.Status(ctx, s.w.Logger(), err)
	}
	resp := &pb.CaptureEventResponse{EventId: eventIDOf(p, res), StreamSequence: res.Sequence, Duplicate: res.Duplicate}
	if e := res.Entry; e != nil {
		resp.LedgerIndex = e.GetIndex()
		if outs := e.GetOutcomes(); len(outs) == 1 {
			resp.Outcome = outs[0]
		}
	}
	return resp, nil
}

// StreamCaptureEvents submits a stream of events, acknowledging each, in
// order, once it is durable on the ledger. Events are published as they
// arrive; the acknowledgements follow the ledger's commits, so a stream
// is not slowed to one commit per event.
func (s *Service) StreamCaptureEvents(stream pb.CaptureService_StreamCaptureEventsServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	p, err := writer.Caller(ctx)
	if err != nil {
		return apierr.Status(ctx, s.w.Logger(), err)
	}
	acks := make(chan submit.Result, streamAcksInFlight)
	sent := make(chan error, 1)
	go func() {
		defer close(sent)
		for res := range acks {
			if err := s.w.Durable(ctx, res.Sequence); err != nil {
				sent <- apierr.Status(ctx, s.w.Logger(), err)
				cancel()
				return
			}
			if err := stream.Send(&pb.StreamCaptureEventsResponse{EventId: eventIDOf(p, res), StreamSequence: res.Sequence, Duplicate: res.Duplicate}); err != nil {
				sent <- err
				cancel()
				return
			}
		}
	}()
	err = s.receive(ctx, p, stream, acks)
	close(acks)
	if serr := <-sent; serr != nil {
		return serr
	}
	return err
}

// streamAcksInFlight bounds the events of one stream published and not yet
// acknowledged.
const streamAcksInFlight = 1024

// receive publishes the stream's events and queues their acknowledgements.
func (s *Service) receive(ctx context.Context, p *auth.Principal, stream pb.CaptureService_StreamCaptureEventsServer, acks chan<- submit.Result) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := s.publish(ctx, p, req.GetEvent())
		if err != nil {
			return apierr.Status(ctx, s.w.Logger(), err)
		}
		select {
		case acks <- res:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
