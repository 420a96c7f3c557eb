package simulate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/client"
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

// apiDriver sends every step through the REST API with the acting party's
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
		resp := &pb.CommissionSerialsResponse{}
		if err := c.post(ctx, batchPath(s.batch, ":commission"), &pb.CommissionSerialsRequest{Serials: serials, EventTime: at}, resp); err != nil {
			return result{}, err
		}
		return result{applied: resp.GetCommissioned() == uint64(len(serials)), ledgerIndex: resp.GetFirstLedgerIndex(), indexed: true}, nil
	case opCapture:
		ev, err := s.event()
		if err != nil {
			return result{}, err
		}
		resp := &pb.CaptureEventResponse{}
		if err := c.post(ctx, "/v1/events", &pb.CaptureEventRequest{Event: ev, Wait: true}, resp); err != nil {
			return result{}, err
		}
		if resp.GetOutcome() == nil {
			return result{}, fmt.Errorf("event %s: no outcome in the answer", resp.GetEventId())
		}
		return fromOutcome(resp.GetOutcome(), resp.GetLedgerIndex()), nil
	case opVerify:
		resp := &pb.VerifyPackResponse{}
		req := &pb.VerifyPackRequest{Pack: pb.BarcodeInput(s.code.barcode()), ScanTime: at}
		if err := c.post(ctx, "/v1/packs:verify", req, resp); err != nil {
			return result{}, err
		}
		return result{applied: true, dispensable: resp.GetDispensable(), status: resp.GetStatus(),
			alerts: codes(resp.GetAlerts()), reason: resp.GetReason()}, nil
	case opDispense:
		resp := &pb.DispensePackResponse{}
		req := &pb.DispensePackRequest{Pack: pb.BarcodeInput(s.code.barcode()), EventTime: at}
		if err := c.post(ctx, "/v1/packs:dispense", req, resp); err != nil {
			return result{}, err
		}
		return fromOutcome(resp.GetOutcome(), resp.GetLedgerIndex()), nil
	case opRecall:
		// RecallBatch takes no time: the node stamps the recall with its
		// own clock.
		resp := &pb.RecallBatchResponse{}
		req := &pb.RecallBatchRequest{Reason: "simulated recall: out-of-specification assay"}
		if err := c.post(ctx, batchPath(s.batch, ":recall"), req, resp); err != nil {
			return result{}, err
		}
		return fromOutcome(resp.GetOutcome(), 0), nil
	}
	return result{}, fmt.Errorf("unknown step kind %d", s.op)
}

func batchPath(b *batch, verb string) string {
	return "/v1/products/" + url.PathEscape(b.prod.gtin) + "/batches/" + url.PathEscape(b.lot) + verb
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

// lanes are one party's REST clients, handed out one per request in
// flight and made on first use. A client that carries one request at a time
// holds one connection, busy or idle; clients shared by concurrent requests
// dial spare connections in races, and a node's HTTP server counts a
// connection that never carried a request as busy for 5 s, which holds up
// its graceful shutdown.
type lanes struct {
	server, token string
	free          chan *client.Client // nil entries: not made yet
}

func newLanes(server, token string, n int) lanes {
	l := lanes{server: server, token: token, free: make(chan *client.Client, n)}
	for range n {
		l.free <- nil
	}
	return l
}

// post sends a request on a free lane (see the package function post).
func (l lanes) post(ctx context.Context, path string, in, out proto.Message) error {
	var c *client.Client
	select {
	case c = <-l.free:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { l.free <- c }()
	if c == nil {
		var err error
		if c, err = client.New(l.server, l.token); err != nil {
			return err
		}
	}
	return post(ctx, c, path, in, out)
}

// post sends a request, retrying while the node says it is busy (429, 503,
// 504) or the connection failed, until ctx ends. Retries are safe: every
// write carries the same event ID each time (the CBV hash of its content),
// and the ledger records an event ID once.
func post(ctx context.Context, c *client.Client, path string, in, out proto.Message) error {
	wait := 20 * time.Millisecond
	for {
		err := c.Post(ctx, path, in, out)
		if err == nil || !retryable(err) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up retrying: %w)", err, ctx.Err())
		}
		wait = min(2*wait, time.Second)
	}
}

func retryable(err error) bool {
	var ce *client.Error
	if errors.As(err, &ce) {
		switch ce.HTTPStatus {
		case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	// The connection failed (refused, reset): the node may be restarting.
	var ue *url.Error
	return errors.As(err, &ue) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
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
	if len(entry.GetOutcomes()) != 1 {
		return result{}, fmt.Errorf("ledger entry %d has %d outcomes, want 1", entry.GetIndex(), len(entry.GetOutcomes()))
	}
	o := entry.GetOutcomes()[0]
	if o.GetDuplicate() {
		return result{}, fmt.Errorf("event %s was already on the ledger: %s", ev.EventId, o.GetReason())
	}
	r := fromOutcome(o, entry.GetIndex())
	r.indexed = true
	if s.op == opVerify {
		r.dispensable = o.GetApplied() && o.GetReason() == ""
	}
	return r, nil
}
