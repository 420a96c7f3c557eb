package simulate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/sdk"
)

// driver sends one step to the node and returns its answer. It is safe for
// concurrent use.
type driver interface {
	do(ctx context.Context, s *step) (result, error)
	close() error
}

// apiDriver sends every step through the gRPC API with the acting party's
// token: scans through CaptureService (waiting for the ledger's outcome),
// verifications and dispenses through VerificationService, commissioning
// and the recall through RegistryService.
type apiDriver struct{}

var _ driver = apiDriver{}

func (apiDriver) close() error { return nil }

func (apiDriver) do(ctx context.Context, s *step) (result, error) {
	c := s.actor.api
	at := timestamppb.New(s.at)
	switch s.op {
	case opCommission:
		serials := make([]string, len(s.objs))
		for i, o := range s.objs {
			serials[i] = o.pack.serial
		}
		req := &pb.CommissionSerialsRequest{Gtin: s.batch.prod.gtin, Lot: s.batch.lot, Serials: serials, EventTime: at}
		resp, err := retry(ctx, req, c.Registry.CommissionSerials)
		if err != nil {
			return result{}, err
		}
		return result{applied: resp.GetCommissioned() == uint64(len(serials)), ledgerIndex: resp.GetFirstLedgerIndex(), indexed: true}, nil
	case opCapture:
		ev, err := s.event()
		if err != nil {
			return result{}, err
		}
		resp, err := retry(ctx, &pb.CaptureEventRequest{Event: ev, Wait: true}, c.Capture.CaptureEvent)
		if err != nil {
			return result{}, err
		}
		if resp.GetOutcome() == nil {
			return result{}, fmt.Errorf("event %s: no outcome in the answer", resp.GetEventId())
		}
		return fromOutcome(resp.GetOutcome(), resp.GetLedgerIndex()), nil
	case opVerify:
		resp, err := retry(ctx, &pb.VerifyPackRequest{Pack: pb.BarcodeInput(s.code.barcode()), ScanTime: at}, c.Verification.VerifyPack)
		if err != nil {
			return result{}, err
		}
		return result{applied: true, dispensable: resp.GetDispensable(), status: resp.GetStatus(),
			alerts: codes(resp.GetAlerts()), reason: resp.GetReason()}, nil
	case opDispense:
		resp, err := retry(ctx, &pb.DispensePackRequest{Pack: pb.BarcodeInput(s.code.barcode()), EventTime: at}, c.Verification.DispensePack)
		if err != nil {
			return result{}, err
		}
		return fromOutcome(resp.GetOutcome(), resp.GetLedgerIndex()), nil
	case opRecall:
		// RecallBatch takes no time: the node stamps the recall with its
		// own clock.
		req := &pb.RecallBatchRequest{Gtin: s.batch.prod.gtin, Lot: s.batch.lot, Reason: "simulated recall: out-of-specification assay"}
		resp, err := retry(ctx, req, c.Registry.RecallBatch)
		if err != nil {
			return result{}, err
		}
		return fromOutcome(resp.GetOutcome(), 0), nil
	}
	return result{}, fmt.Errorf("unknown step kind %d", s.op)
}

func fromOutcome(o *pb.Outcome, index uint64) result {
	r := result{applied: o.GetApplied(), status: o.GetStatus(), alerts: codes(o.GetAlerts()), reason: o.GetReason()}
	if index > 0 {
		r.ledgerIndex, r.indexed = index, true
	}
	return r
}

func codes(alerts []*pb.Alert) []pb.AlertCode {
	if len(alerts) == 0 {
		return nil
	}
	out := make([]pb.AlertCode, len(alerts))
	for i, a := range alerts {
		out[i] = a.GetCode()
	}
	return out
}

// retry calls rpc with req, again while the node says it is busy
// (ResourceExhausted, Unavailable: also a connection that failed, as when
// the node restarts), until ctx ends. Retries are safe: every write
// carries the same event ID each time (the CBV hash of its content), and
// the ledger records an event ID once.
func retry[Req, Resp any](ctx context.Context, req Req, rpc func(context.Context, Req, ...grpc.CallOption) (Resp, error)) (Resp, error) {
	wait := 20 * time.Millisecond
	for {
		resp, err := rpc(ctx, req)
		if err == nil || !retryable(err) {
			return resp, err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return resp, fmt.Errorf("%w (gave up retrying: %w)", err, ctx.Err())
		}
		wait = min(2*wait, time.Second)
	}
}

func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch status.Code(err) {
	case grpccodes.ResourceExhausted, grpccodes.Unavailable:
		return true
	}
	return false
}

// natsDriver publishes every scan as an envelope signed by the acting
// party's key, through that party's scanner SDK client, which connects as
// the party and waits for the ledger's outcome signed by the node. The
// recall is not a scan: it goes through the Registry API.
type natsDriver struct {
	api apiDriver
	dir string
	all []*party
}

var _ driver = (*natsDriver)(nil)

// newNATSDriver opens one scanner client per party, each with its own
// connection to url (logged in with the party's key) and its
// store-and-forward queue in a temporary directory.
func newNATSDriver(ctx context.Context, url string, nodeKeys envelope.NodeKeys, parties []*party) (_ *natsDriver, err error) {
	d := &natsDriver{}
	defer func() {
		if err != nil {
			_ = d.close()
		}
	}()
	if d.dir, err = os.MkdirTemp("", "pedigree-simulate-"); err != nil {
		return nil, fmt.Errorf("simulate: queue directory: %w", err)
	}
	for _, p := range parties {
		p.scanner, err = sdk.New(ctx, sdk.Config{
			NATSURL: url, PartyGLN: p.gln, Key: p.key, NodeKeys: nodeKeys,
			QueueDir: filepath.Join(d.dir, p.gln), Name: "pedigree-simulate " + p.gln,
		})
		if err != nil {
			return nil, fmt.Errorf("simulate: scanner of %s: %w", p.gln, err)
		}
		d.all = append(d.all, p)
	}
	return d, nil
}

func (d *natsDriver) close() error {
	var errs []error
	for _, p := range d.all {
		errs = append(errs, p.scanner.Close())
	}
	if d.dir != "" {
		errs = append(errs, os.RemoveAll(d.dir))
	}
	return errors.Join(errs...)
}

func (d *natsDriver) do(ctx context.Context, s *step) (result, error) {
	if s.op == opRecall {
		return d.api.do(ctx, s)
	}
	ev, err := s.event()
	if err != nil {
		return result{}, err
	}
	if ev.EventId, err = envelope.EventID(ev, s.actor.gln); err != nil {
		return result{}, err
	}
	rc, err := s.actor.scanner.Send(ctx, ev)
	if err != nil {
		return result{}, err
	}
	if rc.Duplicate {
		return result{}, fmt.Errorf("event %s was already on the stream", ev.EventId)
	}
	out, err := s.actor.scanner.Outcome(ctx, rc.MsgID)
	if err != nil {
		return result{}, fmt.Errorf("no outcome for event %s (%s): %w", ev.EventId, rc.Status, err)
	}
	if out.Refusal != nil {
		return result{}, fmt.Errorf("event %s was refused: %s", ev.EventId, out.Refusal.GetReason())
	}
	entry := out.Entry
	results := sdk.EventResults(entry)
	if len(results) != 1 {
		return result{}, fmt.Errorf("ledger entry %d has %d outcomes, want 1", entry.GetIndex(), len(results))
	}
	o := results[0].Outcome
	if results[0].Verdict == sdk.Duplicate {
		return result{}, fmt.Errorf("event %s was already on the ledger: %s", ev.EventId, o.GetReason())
	}
	r := fromOutcome(o, entry.GetIndex())
	r.indexed = true
	if s.op == opVerify {
		r.dispensable = o.GetApplied() && o.GetReason() == ""
	}
	return r, nil
}
