package verification

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/gs1"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/convert"
	"github.com/pedigree-project/pedigree/services/internal/disclose"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/services/internal/writer"
)

// Service implements pb.VerificationServiceServer.
type Service struct {
	pb.UnimplementedVerificationServiceServer
	w *writer.Writer
}

var _ pb.VerificationServiceServer = (*Service)(nil)

// New returns the service.
func New(w *writer.Writer) (*Service, error) {
	if w == nil {
		return nil, errors.New("verification: nil writer")
	}
	return &Service{w: w}, nil
}

func (s *Service) fail(ctx context.Context, err error) error {
	return apierr.Status(ctx, s.w.Logger(), err)
}

func (s *Service) at(ts *timestamppb.Timestamp) *timestamppb.Timestamp {
	if ts == nil {
		return timestamppb.New(s.w.Now())
	}
	return ts
}

func location(p *auth.Principal, gln string) (string, error) {
	if gln == "" {
		return p.Party.GetGln(), nil
	}
	if !gs1.ValidGLN(gln) {
		return "", apierr.Invalid("locationGln", "must be a GLN: 13 digits with a valid GS1 check digit, got %q", gln)
	}
	return gln, nil
}

// VerifyPack answers from the node's state without changing it.
func (s *Service) VerifyPack(ctx context.Context, req *pb.VerifyPackRequest) (*pb.VerifyPackResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	code, err := packCode(req.GetPack(), "pack")
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	loc, err := location(p, req.GetLocationGln())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	at := s.at(req.GetScanTime())
	ev := &lifecycle.Event{
		Type: lifecycle.TypeObject, Action: lifecycle.ActionObserve, Step: lifecycle.StepInspecting,
		EventTime: at.AsTime().UnixMilli(), RecordTime: at.AsTime().UnixMilli(),
		Actor: p.Party.GetGln(), ActorRole: lifecycle.Role(p.Party.GetRole()), ReadPoint: loc,
		Epcs: []lifecycle.Epc{{Pack: lifecycle.PackCode{GTIN: code.GetGtin(), Serial: code.GetSerial(), Lot: code.GetLot(), Expiry: code.GetExpiry()}}},
	}
	view := s.w.Store().NewView()
	r := lifecycle.Verify(view, ev)
	if view.Err != nil {
		return nil, s.fail(ctx, view.Err)
	}
	// The answer shows the records the rules read.
	resp := &pb.VerifyPackResponse{Scanned: code, Status: pb.PackStatus(r.Status), Dispensable: r.Dispensable, Reason: r.Reason}
	var manufacturer string
	if prod, ok := view.ProductRecord(code.GetGtin()); ok {
		resp.Product = prod
		manufacturer = prod.GetManufacturerGln()
	}
	for _, a := range r.Alerts {
		resp.Alerts = append(resp.Alerts, convert.Alert(&a, p.Party.GetGln(), loc, at))
	}
	pk, known := view.PackRecord(code.GetGtin(), code.GetSerial())
	eff := state.EffectivePack{Pack: pk}
	if known {
		if b, ok := view.BatchRecord(pk.GTIN, pk.Lot); ok {
			resp.Batch = b
		}
		// The pack as every answer shows it: the custody of its root
		// container while packed (the one the rules read).
		eff = state.Effective(view, pk, ev.EventTime)
		resp.Pack, resp.ContainerSsccs = eff.Proto(), eff.Containers
	}
	if view.Err != nil {
		return nil, s.fail(ctx, view.Err)
	}
	if !disclose.Entitled(p.Party, manufacturer, eff.Pack.Custodian, eff.Pack.Decommission.Party) {
		minimise(resp, eff.Pack.Custody)
	}
	if len(r.Alerts) > 0 {
		s.recordVerification(ctx, p, code, loc, at)
	}
	return resp, nil
}

// minimise redacts a verification answer for a caller that is not
// entitled to know who holds or held the pack (package disclose): the
// status and whether it may be supplied, without the pack's record, the
// batch's volume, or any other party's name in the reason and alerts.
func minimise(resp *pb.VerifyPackResponse, custody lifecycle.Custody) {
	orig := resp.GetAlerts()
	resp.Pack, resp.ContainerSsccs = nil, nil
	resp.Batch = disclose.Batch(resp.GetBatch())
	resp.Alerts = disclose.Alerts(orig)
	reason := disclose.Reason(resp.GetReason(), orig)
	switch st := resp.GetStatus(); {
	case reason != resp.GetReason() || reason == "":
		// Redacted, or none.
	case slices.ContainsFunc(orig, func(a *pb.Alert) bool { return a.GetMessage() == reason }):
		// The message of an alert that names no party.
	case st == pb.PackStatus_PACK_STATUS_RECALLED || st == pb.PackStatus_PACK_STATUS_WITHDRAWN || st == pb.PackStatus_PACK_STATUS_EXPIRED:
		// The batch's status: names the lot, GTIN and expiry only.
	case custody.Transit.InTransit():
		// Names the shipper and the consignee.
		reason = "pack is in transit: it must be received before it is supplied"
	default:
		reason = "pack may not be supplied"
	}
	resp.Reason = reason
}

// recordVerification puts the inspecting event on the stream so that the
// alerts it raised are on the ledger. The answer does not wait for it.
func (s *Service) recordVerification(ctx context.Context, p *auth.Principal, code *pb.PackCode, loc string, at *timestamppb.Timestamp) {
	ev := &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_INSPECTING,
		EventTime: at, ReadPoint: loc, Epcs: []*pb.Epc{{Id: &pb.Epc_Pack{Pack: code}}}}
	env := writer.Envelope(p)
	env.Body = &pb.Envelope_Capture{Capture: &pb.Capture{Events: []*pb.ScanEvent{ev}}}
	if _, err := s.w.Submit(ctx, env, false); err != nil {
		s.w.Logger().WarnContext(ctx, "record verification alerts", "err", err)
	}
}

// decommissionEvent builds the event of a synchronous write.
func (s *Service) event(p *auth.Principal, code *pb.PackCode, step pb.BizStep, disp pb.Disposition, loc string, at *timestamppb.Timestamp, id string) (*pb.ScanEvent, error) {
	ev := &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: step, Disposition: disp,
		EventTime: at, ReadPoint: loc, Epcs: []*pb.Epc{{Id: &pb.Epc_Pack{Pack: code}}}}
	if id == "" {
		var err error
		if id, err = envelope.EventID(ev, p.Party.GetGln()); err != nil {
			return nil, err
		}
	} else if len(id) > 128 {
		return nil, apierr.Invalid("eventId", "at most 128 characters, got %d", len(id))
	}
	ev.EventId = id
	return ev, nil
}

// write submits events from the caller and returns one result per event.
func (s *Service) write(ctx context.Context, p *auth.Principal, events []*pb.ScanEvent) ([]*pb.DecommissionPackResponse, error) {
	env := writer.Envelope(p)
	env.Body = &pb.Envelope_Capture{Capture: &pb.Capture{Events: events}}
	res, err := s.w.Submit(ctx, env, true)
	if err != nil {
		return nil, err
	}
	ids, outs := res.Entry.GetEventIds(), res.Entry.GetOutcomes()
	if len(ids) != len(events) || len(outs) != len(events) {
		return nil, fmt.Errorf("verification: ledger entry %d has %d outcomes for %d events", res.Entry.GetIndex(), len(outs), len(events))
	}
	out := make([]*pb.DecommissionPackResponse, len(events))
	for i, ev := range events {
		o := outs[i]
		if !s.ownsProduct(p, ev) {
			o = disclose.Outcome(o)
		}
		out[i] = &pb.DecommissionPackResponse{EventId: ids[i], LedgerIndex: res.Entry.GetIndex(), Outcome: o}
	}
	return out, nil
}

// ownsProduct reports whether the caller may read a write's outcome
// unredacted (package disclose): a regulator, an admin, or the
// manufacturer of the product of the event's pack. The outcome of a
// refused write names the party that holds or dispensed the pack.
func (s *Service) ownsProduct(p *auth.Principal, ev *pb.ScanEvent) bool {
	if disclose.Authority(p.Party) {
		return true
	}
	for _, epc := range ev.GetEpcs() {
		prod, err := s.w.Store().Product(epc.GetPack().GetGtin())
		if err != nil || prod.GetManufacturerGln() != p.Party.GetGln() {
			return false
		}
	}
	return len(ev.GetEpcs()) > 0
}

func (s *Service) single(ctx context.Context, p *auth.Principal, in *pb.PackInput, step pb.BizStep, disp pb.Disposition, locGLN string, ts *timestamppb.Timestamp, id string) (*pb.DecommissionPackResponse, error) {
	code, err := packCode(in, "pack")
	if err != nil {
		return nil, err
	}
	loc, err := location(p, locGLN)
	if err != nil {
		return nil, err
	}
	ev, err := s.event(p, code, step, disp, loc, s.at(ts), id)
	if err != nil {
		return nil, err
	}
	res, err := s.write(ctx, p, []*pb.ScanEvent{ev})
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// mayPerform is the pack rules' check of the caller's role for step and
// disposition, answered before anything is submitted.
func mayPerform(p *auth.Principal, step pb.BizStep, disp pb.Disposition) error {
	return writer.Refused(lifecycle.MayPerform(lifecycle.Role(p.Party.GetRole()), lifecycle.Step(step), lifecycle.Disposition(disp)))
}

// DispensePack supplies a pack to the public.
func (s *Service) DispensePack(ctx context.Context, req *pb.DispensePackRequest) (*pb.DispensePackResponse, error) {
	p, err := writer.Caller(ctx)
	if err == nil {
		err = mayPerform(p, pb.BizStep_BIZ_STEP_DISPENSING, pb.Disposition_DISPOSITION_DISPENSED)
	}
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	r, err := s.single(ctx, p, req.GetPack(), pb.BizStep_BIZ_STEP_DISPENSING, pb.Disposition_DISPOSITION_DISPENSED, req.GetLocationGln(), req.GetEventTime(), req.GetEventId())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.DispensePackResponse{EventId: r.GetEventId(), LedgerIndex: r.GetLedgerIndex(), Outcome: r.GetOutcome()}, nil
}

var reasonDisposition = map[pb.DecommissionReason]pb.Disposition{
	pb.DecommissionReason_DECOMMISSION_REASON_DESTROYED:   pb.Disposition_DISPOSITION_DESTROYED,
	pb.DecommissionReason_DECOMMISSION_REASON_STOLEN:      pb.Disposition_DISPOSITION_STOLEN,
	pb.DecommissionReason_DECOMMISSION_REASON_SAMPLE:      pb.Disposition_DISPOSITION_SAMPLE,
	pb.DecommissionReason_DECOMMISSION_REASON_FREE_SAMPLE: pb.Disposition_DISPOSITION_FREE_SAMPLE,
	pb.DecommissionReason_DECOMMISSION_REASON_EXPORTED:    pb.Disposition_DISPOSITION_EXPORTED,
	pb.DecommissionReason_DECOMMISSION_REASON_LOCKED:      pb.Disposition_DISPOSITION_LOCKED,
	pb.DecommissionReason_DECOMMISSION_REASON_CHECKED_OUT: pb.Disposition_DISPOSITION_CHECKED_OUT,
}

func disposition(r pb.DecommissionReason) (pb.Disposition, error) {
	d, ok := reasonDisposition[r]
	if !ok {
		return 0, apierr.Invalid("reason", "one of destroyed, stolen, sample, free sample, exported, locked, checked out")
	}
	return d, nil
}

// DecommissionPack takes a pack out of the supply chain for a reason.
func (s *Service) DecommissionPack(ctx context.Context, req *pb.DecommissionPackRequest) (*pb.DecommissionPackResponse, error) {
	p, err := writer.Caller(ctx)
	var disp pb.Disposition
	if err == nil {
		disp, err = disposition(req.GetReason())
	}
	if err == nil {
		err = mayPerform(p, pb.BizStep_BIZ_STEP_DECOMMISSIONING, disp)
	}
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	r, err := s.single(ctx, p, req.GetPack(), pb.BizStep_BIZ_STEP_DECOMMISSIONING, disp, req.GetLocationGln(), req.GetEventTime(), req.GetEventId())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return r, nil
}

// UndoDecommission reverts a decommission.
func (s *Service) UndoDecommission(ctx context.Context, req *pb.UndoDecommissionRequest) (*pb.UndoDecommissionResponse, error) {
	p, err := writer.Caller(ctx)
	if err == nil {
		err = mayPerform(p, pb.BizStep_BIZ_STEP_UNDO_DECOMMISSION, pb.Disposition_DISPOSITION_ACTIVE)
	}
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	r, err := s.single(ctx, p, req.GetPack(), pb.BizStep_BIZ_STEP_UNDO_DECOMMISSION, pb.Disposition_DISPOSITION_ACTIVE, req.GetLocationGln(), req.GetEventTime(), req.GetEventId())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.UndoDecommissionResponse{EventId: r.GetEventId(), LedgerIndex: r.GetLedgerIndex(), Outcome: r.GetOutcome()}, nil
}

// maxBatchPacks bounds BatchDecommissionPacks.
const maxBatchPacks = 10000

// BatchDecommissionPacks decommissions or dispenses many packs.
func (s *Service) BatchDecommissionPacks(ctx context.Context, req *pb.BatchDecommissionPacksRequest) (*pb.BatchDecommissionPacksResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	step, disp := pb.BizStep_BIZ_STEP_DISPENSING, pb.Disposition_DISPOSITION_DISPENSED
	if !req.GetDispense() {
		step = pb.BizStep_BIZ_STEP_DECOMMISSIONING
		disp, err = disposition(req.GetReason())
	}
	if err == nil {
		err = mayPerform(p, step, disp)
	}
	if err == nil && (len(req.GetPacks()) == 0 || len(req.GetPacks()) > maxBatchPacks) {
		err = apierr.Invalid("packs", "1–%d packs, got %d", maxBatchPacks, len(req.GetPacks()))
	}
	var loc string
	if err == nil {
		loc, err = location(p, req.GetLocationGln())
	}
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	at := s.at(req.GetEventTime())
	events := make([]*pb.ScanEvent, len(req.GetPacks()))
	for i, in := range req.GetPacks() {
		code, err := packCode(in, fmt.Sprintf("packs[%d]", i))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		if events[i], err = s.event(p, code, step, disp, loc, at, ""); err != nil {
			return nil, s.fail(ctx, err)
		}
	}
	resp := &pb.BatchDecommissionPacksResponse{}
	for from := 0; from < len(events); from += envelope.MaxEventsPerCapture {
		res, err := s.write(ctx, p, events[from:min(from+envelope.MaxEventsPerCapture, len(events))])
		if err != nil {
			return nil, s.fail(ctx, fmt.Errorf("after %d packs: %w", from, err))
		}
		resp.Results = append(resp.Results, res...)
	}
	return resp, nil
}
