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

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/apierr"
	"github.com/pedigree-project/pedigree/services/auth"
	"github.com/pedigree-project/pedigree/services/submit"
	"github.com/pedigree-project/pedigree/services/writer"
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
	if ev == nil {
		return submit.Result{}, apierr.Invalid("event", "required")
	}
	if ev.GetEventId() == "" && ev.GetEventTime() != nil {
		id, err := envelope.EventID(ev, p.Party.GetGln())
		if err == nil {
			ev.EventId = id
		}
	}
	env := writer.Envelope(p)
	env.Body = &pb.Envelope_Capture{Capture: &pb.Capture{Events: []*pb.ScanEvent{ev}}}
	res, err := s.w.Submit(ctx, env, wait)
	var ae *apierr.Error
	if errors.As(err, &ae) && len(ae.Field) > len("capture.events[0].") {
		ae.Field = "event." + ae.Field[len("capture.events[0]."):]
	}
	return res, err
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
	resp := &pb.CaptureEventResponse{EventId: res.MsgID, StreamSequence: res.Sequence, Duplicate: res.Duplicate}
	if e := res.Entry; e != nil {
		resp.LedgerIndex = e.GetIndex()
		if outs := e.GetOutcomes(); len(outs) == 1 {
			resp.Outcome = outs[0]
		}
	}
	return resp, nil
}

// StreamCaptureEvents submits a stream of events, acknowledging each once
// the stream has stored it.
func (s *Service) StreamCaptureEvents(stream pb.CaptureService_StreamCaptureEventsServer) error {
	ctx := stream.Context()
	p, err := writer.Caller(ctx)
	if err != nil {
		return apierr.Status(ctx, s.w.Logger(), err)
	}
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := s.submit(ctx, p, req.GetEvent(), false)
		if err != nil {
			return apierr.Status(ctx, s.w.Logger(), err)
		}
		if err := stream.Send(&pb.StreamCaptureEventsResponse{EventId: res.MsgID, StreamSequence: res.Sequence, Duplicate: res.Duplicate}); err != nil {
			return err
		}
	}
}
