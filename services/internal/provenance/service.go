package provenance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/ledger"
	"github.com/pedigree-project/pedigree/ledger/witness"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/disclose"
	"github.com/pedigree-project/pedigree/services/internal/ingest"
	"github.com/pedigree-project/pedigree/services/internal/pagetoken"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/services/internal/writer"
)

// Service implements pb.ProvenanceServiceServer.
type Service struct {
	pb.UnimplementedProvenanceServiceServer
	w      *writer.Writer
	log    *ledger.Log
	alerts func(buffer int) *ingest.AlertFeed
	// Checkpoints, when set, gives the checkpoints histories are proved
	// against, with the witnesses' cosignatures. Unset: the ledger's own.
	Checkpoints *witness.Collector
}

var _ pb.ProvenanceServiceServer = (*Service)(nil)

// New returns the service.
//
// alerts subscribes to the alerts of entries this node's ledger commits
// (ingest.Pipeline.SubscribeAlerts): the live feed relays those, never a
// message from the bus.
func New(w *writer.Writer, log *ledger.Log, alerts func(buffer int) *ingest.AlertFeed) (*Service, error) {
	if w == nil || log == nil || alerts == nil {
		return nil, errors.New("provenance: writer, ledger and NATS connection are required")
	}
	return &Service{w: w, log: log, alerts: alerts}, nil
}

func (s *Service) logger() *slog.Logger { return s.w.Logger() }

func (s *Service) fail(ctx context.Context, err error) error {
	return apierr.Status(ctx, s.logger(), err)
}

func authority(p *auth.Principal) bool { return lifecycle.SeesAll(lifecycle.Role(p.Party.GetRole())) }

func requireAuthority(ctx context.Context) (*auth.Principal, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, err
	}
	if !authority(p) {
		return nil, apierr.Denied("regulators and admins only")
	}
	return p, nil
}

// ListAlerts lists alerts, newest first.
func (s *Service) ListAlerts(ctx context.Context, req *pb.ListAlertsRequest) (*pb.ListAlertsResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	size, err := pagetoken.Size(req.GetPageSize())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if _, ok := pb.AlertCode_name[int32(req.GetCode())]; !ok {
		return nil, s.fail(ctx, apierr.Invalid("code", "unknown alert code %d", req.GetCode()))
	}
	if _, ok := pb.AlertStatus_name[int32(req.GetStatus())]; !ok {
		return nil, s.fail(ctx, apierr.Invalid("status", "unknown alert status %d", req.GetStatus()))
	}
	party := req.GetPartyGln()
	if !authority(p) {
		if party != "" && party != p.Party.GetGln() {
			return nil, s.fail(ctx, apierr.Denied("parties see the alerts their own scans raised"))
		}
		party = p.Party.GetGln()
	}
	q := pagetoken.For(pb.ProvenanceService_ListAlerts_FullMethodName, p.Party.GetGln(), party, req.GetCode().String(),
		req.GetGtin(), req.GetStatus().String(), timeFilter(req.GetSince()), timeFilter(req.GetUntil()))
	last, err := q.After(req.GetPageToken())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	var before *[2]uint64
	if last != "" {
		ref, ok := parseAlertID(last)
		if !ok {
			return nil, s.fail(ctx, apierr.Invalid(pagetoken.Field, "not a page token this API returned"))
		}
		before = &ref
	}
	resp := &pb.ListAlertsResponse{}
	// The most selective index the filters allow; every filter is applied
	// to what it yields.
	scan := s.w.Store().AlertsNewestFirst
	switch {
	case party != "":
		scan = s.alertsBy(state.AlertByParty, party)
	case req.GetGtin() != "":
		scan = s.alertsBy(state.AlertByGTIN, req.GetGtin())
	case req.GetCode() != pb.AlertCode_ALERT_CODE_UNSPECIFIED:
		scan = s.alertsBy(state.AlertByCode, strconv.Itoa(int(req.GetCode())))
	}
	err = scan(before, func(a *pb.Alert) bool {
		if matches(a, req, party) {
			if len(resp.Alerts) == size {
				resp.NextPageToken = q.Token(resp.Alerts[size-1].GetAlertId())
				return false
			}
			resp.Alerts = append(resp.Alerts, s.disclosed(p, a))
		}
		return true
	})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return resp, nil
}

// alertsBy lists the alerts whose attribute k is value, newest first.
func (s *Service) alertsBy(k state.AlertKey, value string) func(*[2]uint64, func(*pb.Alert) bool) error {
	return func(before *[2]uint64, fn func(*pb.Alert) bool) error {
		return s.w.Store().AlertsByNewestFirst(k, value, before, fn)
	}
}

// disclosed is an alert as the caller may read it (package disclose): a
// party reads the alerts its own scans raised, but not the other parties
// they name (who holds or dispensed the pack), unless it is the product's
// manufacturer.
func (s *Service) disclosed(p *auth.Principal, a *pb.Alert) *pb.Alert {
	if authority(p) {
		return a
	}
	if gtin := a.GetEpc().GetPack().GetGtin(); gtin != "" {
		if prod, err := s.w.Store().Product(gtin); err == nil && prod.GetManufacturerGln() == p.Party.GetGln() {
			return a
		}
	}
	return disclose.Alert(a)
}

func matches(a *pb.Alert, req *pb.ListAlertsRequest, party string) bool {
	switch {
	case req.GetCode() != pb.AlertCode_ALERT_CODE_UNSPECIFIED && a.GetCode() != req.GetCode():
	case party != "" && a.GetPartyGln() != party:
	case req.GetGtin() != "" && a.GetEpc().GetPack().GetGtin() != req.GetGtin():
	case req.GetStatus() != pb.AlertStatus_ALERT_STATUS_UNSPECIFIED && a.GetStatus() != req.GetStatus():
	case req.GetSince() != nil && a.GetRaisedAt().AsTime().Before(req.GetSince().AsTime()):
	case req.GetUntil() != nil && !a.GetRaisedAt().AsTime().Before(req.GetUntil().AsTime()):
	default:
		return true
	}
	return false
}

func parseAlertID(id string) ([2]uint64, bool) {
	i, n, ok := strings.Cut(id, "-")
	if !ok {
		return [2]uint64{}, false
	}
	var out [2]uint64
	for k, part := range []string{i, n} {
		if part == "" {
			return out, false
		}
		for _, c := range part {
			if c < '0' || c > '9' {
				return out, false
			}
			out[k] = out[k]*10 + uint64(c-'0')
		}
	}
	return out, true
}

// GetAlert returns one alert.
func (s *Service) GetAlert(ctx context.Context, req *pb.GetAlertRequest) (*pb.GetAlertResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	ref, ok := parseAlertID(req.GetAlertId())
	if !ok {
		return nil, s.fail(ctx, apierr.Invalid("alertId", "want <ledger index>-<n>, got %q", req.GetAlertId()))
	}
	a, err := s.w.Store().Alert(ref[0], uint32(ref[1]))
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if !authority(p) && a.GetPartyGln() != p.Party.GetGln() {
		return nil, s.fail(ctx, apierr.Denied("alert %s was raised by another party's scan", req.GetAlertId()))
	}
	return &pb.GetAlertResponse{Alert: s.disclosed(p, a)}, nil
}

// ReviewAlert records an investigation step on the ledger.
func (s *Service) ReviewAlert(ctx context.Context, req *pb.ReviewAlertRequest) (*pb.ReviewAlertResponse, error) {
	p, err := writer.Caller(ctx)
	if err == nil {
		err = writer.Refused(lifecycle.MayReviewAlert(lifecycle.Role(p.Party.GetRole())))
	}
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	env := writer.Envelope(p)
	env.Body = &pb.Envelope_AlertReview{AlertReview: &pb.AlertReview{AlertId: req.GetAlertId(), Status: req.GetStatus(), Comment: req.GetComment()}}
	res, err := s.w.Submit(ctx, env, true)
	if err != nil {
		var ae *apierr.Error
		if errors.As(err, &ae) {
			ae.Field = strings.TrimPrefix(ae.Field, "alertReview.")
		}
		return nil, s.fail(ctx, err)
	}
	if _, err := writer.Outcome(res); err != nil {
		return nil, s.fail(ctx, err)
	}
	return s.alertAfterReview(ctx, req.GetAlertId())
}

func (s *Service) alertAfterReview(ctx context.Context, id string) (*pb.ReviewAlertResponse, error) {
	ref, _ := parseAlertID(id)
	a, err := s.w.Store().Alert(ref[0], uint32(ref[1]))
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.ReviewAlertResponse{Alert: a}, nil
}

// WatchAlerts streams alerts as the ledger raises them.
func (s *Service) WatchAlerts(req *pb.WatchAlertsRequest, stream pb.ProvenanceService_WatchAlertsServer) error {
	ctx := stream.Context()
	if _, err := requireAuthority(ctx); err != nil {
		return s.fail(ctx, err)
	}
	want := map[pb.AlertCode]bool{}
	for i, c := range req.GetCodes() {
		if _, ok := pb.AlertCode_name[int32(c)]; !ok || c == pb.AlertCode_ALERT_CODE_UNSPECIFIED {
			return s.fail(ctx, apierr.Invalid(fmt.Sprintf("codes[%d]", i), "unknown alert code %d", c))
		}
		want[c] = true
	}
	feed := s.alerts(alertFeedBuffer)
	defer feed.Cancel()
	// Headers go out once the subscription is live: a client that has them
	// misses no alert committed afterwards.
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case a, ok := <-feed.C:
			if !ok {
				return s.fail(ctx, &apierr.Error{Code: codes.ResourceExhausted,
					Msg: fmt.Sprintf("the alert feed fell more than %d alerts behind; list the alerts raised since the last one received, then watch again", alertFeedBuffer)})
			}
			if len(want) > 0 && !want[a.GetCode()] {
				continue
			}
			if err := stream.Send(&pb.WatchAlertsResponse{Alert: a}); err != nil {
				return err
			}
		}
	}
}

// alertFeedBuffer is how many alerts a watcher may fall behind before its
// feed ends with ResourceExhausted.
const alertFeedBuffer = 4096

// now is the service's clock for effective statuses.
func (s *Service) now() time.Time { return s.w.Now() }

// timeFilter writes a time filter for a page token's query ("" when
// unset).
func timeFilter(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return fmt.Sprintf("%d.%09d", ts.GetSeconds(), ts.GetNanos())
}
