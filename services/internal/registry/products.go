package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/gs1"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/disclose"
	"github.com/pedigree-project/pedigree/services/internal/ingest"
	"github.com/pedigree-project/pedigree/services/internal/pagetoken"
	"github.com/pedigree-project/pedigree/services/internal/writer"
)

// CreateProduct registers a product.
func (s *Service) CreateProduct(ctx context.Context, req *pb.CreateProductRequest) (*pb.CreateProductResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	prod := req.GetProduct()
	if prod == nil {
		return nil, s.fail(ctx, apierr.Invalid("product", "required"))
	}
	mfr := prod.GetManufacturerGln()
	if mfr == "" {
		mfr = p.Party.GetGln()
	}
	if err := writer.Refused(lifecycle.MayRegisterProduct(actor(p), mfr)); err != nil {
		return nil, s.fail(ctx, err)
	}
	env := writer.Envelope(p)
	env.Body = &pb.Envelope_Product{Product: prod}
	res, err := s.w.Submit(ctx, env, true)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if _, err := writer.Outcome(res); err != nil {
		return nil, s.fail(ctx, err)
	}
	out, err := s.w.Store().Product(prod.GetGtin())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.CreateProductResponse{Product: out}, nil
}

// GetProduct returns a product.
func (s *Service) GetProduct(ctx context.Context, req *pb.GetProductRequest) (*pb.GetProductResponse, error) {
	p, err := s.w.Store().Product(req.GetGtin())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.GetProductResponse{Product: p}, nil
}

// ListProducts pages through products.
func (s *Service) ListProducts(ctx context.Context, req *pb.ListProductsRequest) (*pb.ListProductsResponse, error) {
	q := pagetoken.For(pb.RegistryService_ListProducts_FullMethodName, req.GetManufacturerGln())
	size, after, err := q.Page(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	list, err := s.w.Store().ListProducts(after, size+1, req.GetManufacturerGln())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ListProductsResponse{Products: list}
	if len(list) > size {
		resp.Products = list[:size]
		resp.NextPageToken = q.Token(list[size-1].GetGtin())
	}
	return resp, nil
}

// ownProduct returns the product if the caller may manage it: its
// manufacturer, or an admin (and, with authority, a regulator).
func (s *Service) ownProduct(p *auth.Principal, gtin string, authority bool) (*pb.Product, error) {
	prod, err := s.w.Store().Product(gtin)
	if err != nil {
		return nil, err
	}
	if prod.GetManufacturerGln() == p.Party.GetGln() || isAdmin(p) || (authority && isAuthority(p)) {
		return prod, nil
	}
	return nil, apierr.Denied("product %s belongs to manufacturer %s", gtin, prod.GetManufacturerGln())
}

// CreateBatch registers a batch.
func (s *Service) CreateBatch(ctx context.Context, req *pb.CreateBatchRequest) (*pb.CreateBatchResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	prod, err := s.w.Store().Product(req.GetGtin())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if err := writer.Refused(lifecycle.MayRegisterBatch(actor(p), prod.GetManufacturerGln())); err != nil {
		return nil, s.fail(ctx, err)
	}
	b := req.GetBatch()
	if b == nil {
		return nil, s.fail(ctx, apierr.Invalid("batch", "required"))
	}
	if b.GetGtin() != "" && b.GetGtin() != req.GetGtin() {
		return nil, s.fail(ctx, apierr.Invalid("batch.gtin", "differs from the GTIN in the path"))
	}
	env := writer.Envelope(p)
	env.Body = &pb.Envelope_Batch{Batch: &pb.Batch{Gtin: req.GetGtin(), Lot: b.GetLot(), Expiry: b.GetExpiry(), ManufacturingDate: b.GetManufacturingDate()}}
	res, err := s.w.Submit(ctx, env, true)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if _, err := writer.Outcome(res); err != nil {
		return nil, s.fail(ctx, err)
	}
	out, err := s.w.Store().Batch(req.GetGtin(), b.GetLot())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.CreateBatchResponse{Batch: out}, nil
}

// GetBatch returns a batch; the count of serials commissioned only to the
// product's manufacturer, regulators and admins.
func (s *Service) GetBatch(ctx context.Context, req *pb.GetBatchRequest) (*pb.GetBatchResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	b, err := s.w.Store().Batch(req.GetGtin(), req.GetLot())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if !isAuthority(p) {
		if prod, err := s.w.Store().Product(req.GetGtin()); err != nil || prod.GetManufacturerGln() != p.Party.GetGln() {
			b = disclose.Batch(b)
		}
	}
	return &pb.GetBatchResponse{Batch: b}, nil
}

// Serial generation: each product's format (lifecycle.SerialFormat), drawn
// uniformly with crypto/rand. The default is 12 characters from a
// 32-character subset of GS1 set 82 (lifecycle.SerialAlphabet), so 60
// random bits per serial: even with 10^9 serials of a product, the chance
// of guessing one is below 1 in 10^9, far under the 1 in 10,000 of EU
// Delegated Regulation 2016/161 art. 4. Fixed-length numeric and
// alphanumeric formats are checked against that bound per batch
// (lifecycle.CheckGuessOdds).
const (
	// MaxCommission bounds one commissioning request.
	MaxCommission = 1_000_000
	// ReturnSerialsUpTo: generated serials are returned when at most this
	// many.
	ReturnSerialsUpTo = 10_000
	commissionWorkers = 4
)

// serialFormat is a product's serial format: the format, and the length
// of every serial (lifecycle.DefaultSerialLength for the default).
type serialFormat struct {
	format lifecycle.SerialFormat
	length uint32
}

func formatOf(p *pb.Product) serialFormat {
	f := serialFormat{lifecycle.SerialFormat(p.GetSerialFormat()), p.GetSerialLength()}
	if f.format == lifecycle.SerialDefault {
		f.length = lifecycle.DefaultSerialLength
	}
	return f
}

// randomSerial draws one serial of format f from r, each character
// uniformly: digits by rejection (bytes of 250 and more are drawn again),
// the 32 characters of the alphabet from 5 bits of a byte.
func randomSerial(r io.Reader, f serialFormat) (string, error) {
	out := make([]byte, 0, f.length)
	var buf [32]byte
	for len(out) < int(f.length) {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", fmt.Errorf("registry: random serial: %w", err)
		}
		for _, b := range buf {
			if len(out) == int(f.length) {
				break
			}
			if f.format != lifecycle.SerialNumeric {
				out = append(out, lifecycle.SerialAlphabet[b&31])
			} else if b < 250 {
				out = append(out, '0'+b%10)
			}
		}
	}
	return string(out), nil
}

// checkFormat refuses serials of the product that do not match its format
// (explicit only) or that would bring its batch past the guessing bound.
func (s *Service) checkFormat(gtin, lot string, serials []string, count uint32) error {
	prod, err := s.w.Store().Product(gtin)
	if err != nil {
		return err
	}
	f := formatOf(prod)
	for i, sn := range serials {
		if !lifecycle.MatchesSerialFormat(f.format, f.length, sn) {
			return apierr.Invalid(fmt.Sprintf("serials[%d]", i), "product %s takes serials of %s, got %q", gtin, lifecycle.SerialFormatWords(f.format, f.length), sn)
		}
	}
	if f.format == lifecycle.SerialDefault {
		return nil
	}
	b, err := s.w.Store().Batch(gtin, lot)
	if err != nil {
		return err
	}
	if err := lifecycle.CheckGuessOdds(f.format, f.length, b.GetCommissioned()+uint64(len(serials))+uint64(count)); err != nil {
		return &apierr.Error{Code: codes.FailedPrecondition, Msg: fmt.Sprintf("batch %s of product %s (serials of %s): %v", lot, gtin, lifecycle.SerialFormatWords(f.format, f.length), err)}
	}
	return nil
}

// CommissionSerials commissions an explicit list or a generated count.
func (s *Service) CommissionSerials(ctx context.Context, req *pb.CommissionSerialsRequest) (*pb.CommissionSerialsResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	serials := req.GetSerials()
	switch {
	case len(serials) > 0 && req.GetCount() > 0:
		return nil, s.fail(ctx, apierr.Invalid("serials", "give serials or count, not both"))
	case len(serials) == 0 && req.GetCount() == 0:
		return nil, s.fail(ctx, apierr.Invalid("count", "give serials or a count of 1–%d", MaxCommission))
	case len(serials) > MaxCommission:
		return nil, s.fail(ctx, apierr.Invalid("serials", "at most %d per request, got %d", MaxCommission, len(serials)))
	case req.GetCount() > MaxCommission:
		return nil, s.fail(ctx, apierr.Invalid("count", "at most %d per request, got %d", MaxCommission, req.GetCount()))
	}
	if len(serials) > 0 {
		seen := make(map[string]struct{}, len(serials))
		for i, sn := range serials {
			if !gs1.ValidSerial(sn) {
				return nil, s.fail(ctx, apierr.Invalid(fmt.Sprintf("serials[%d]", i), "1–20 characters of GS1 character set 82, got %q", sn))
			}
			if _, dup := seen[sn]; dup {
				return nil, s.fail(ctx, apierr.Invalid(fmt.Sprintf("serials[%d]", i), "%q appears twice", sn))
			}
			seen[sn] = struct{}{}
		}
	}
	if err := s.checkFormat(req.GetGtin(), req.GetLot(), serials, req.GetCount()); err != nil {
		return nil, s.fail(ctx, err)
	}
	if len(serials) == 0 {
		if serials, err = s.generate(req.GetGtin(), int(req.GetCount())); err != nil {
			return nil, s.fail(ctx, err)
		}
	}
	first, n, err := s.commission(ctx, p, req.GetGtin(), req.GetLot(), serials, req.GetEventTime())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.CommissionSerialsResponse{Commissioned: n, FirstLedgerIndex: first}
	if req.GetCount() > 0 && len(serials) <= ReturnSerialsUpTo {
		resp.Serials = serials
	}
	return resp, nil
}

// generate draws count serials that collide with no commissioned pack.
func (s *Service) generate(gtin string, count int) ([]string, error) {
	prod, err := s.w.Store().Product(gtin)
	if err != nil {
		return nil, err
	}
	f := formatOf(prod)
	out := make([]string, 0, count)
	seen := make(map[string]struct{}, count)
	for len(out) < count {
		sn, err := randomSerial(rand.Reader, f)
		if err != nil {
			return nil, err
		}
		if _, dup := seen[sn]; dup {
			continue
		}
		if _, exists, err := s.w.Store().Pack(gtin, sn); err != nil {
			return nil, err
		} else if exists {
			continue
		}
		seen[sn] = struct{}{}
		out = append(out, sn)
	}
	return out, nil
}

// commission submits serials in events of at most ingest.MaxEpcsPerEvent,
// several in flight, and waits for every outcome. It returns the lowest
// ledger index and the number committed.
func (s *Service) commission(ctx context.Context, p *auth.Principal, gtin, lot string, serials []string, at *timestamppb.Timestamp) (uint64, uint64, error) {
	if _, err := s.ownProduct(p, gtin, false); err != nil {
		return 0, 0, err
	}
	batch, err := s.w.Store().Batch(gtin, lot)
	if err != nil {
		return 0, 0, err
	}
	if at == nil {
		at = timestamppb.New(s.w.Now())
	}
	type chunk struct{ from, to int }
	work := make(chan chunk)
	var (
		mu        sync.Mutex
		firstErr  error
		committed uint64
		first     = ^uint64(0)
		wg        sync.WaitGroup
	)
	for range commissionWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				epcs := make([]*pb.Epc, 0, c.to-c.from)
				for _, sn := range serials[c.from:c.to] {
					epcs = append(epcs, &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: gtin, Serial: sn}}})
				}
				env := writer.Envelope(p)
				env.Body = &pb.Envelope_Capture{Capture: &pb.Capture{Events: []*pb.ScanEvent{{
					Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_ADD, BizStep: pb.BizStep_BIZ_STEP_COMMISSIONING,
					Disposition: pb.Disposition_DISPOSITION_ACTIVE, EventTime: at, Epcs: epcs,
					Ilmd: &pb.Ilmd{Lot: lot, Expiry: batch.GetExpiry()},
				}}}}
				res, err := s.w.Submit(ctx, env, true)
				mu.Lock()
				switch {
				case err != nil:
					firstErr = errors.Join(firstErr, fmt.Errorf("serials %d–%d: %w", c.from, c.to-1, err))
				case len(res.Entry.GetOutcomes()) != 1:
					firstErr = errors.Join(firstErr, fmt.Errorf("serials %d–%d: ledger answer with %d outcomes, want 1", c.from, c.to-1, len(res.Entry.GetOutcomes())))
				case !res.Entry.GetOutcomes()[0].GetApplied():
					firstErr = errors.Join(firstErr, &apierr.Error{Code: codes.FailedPrecondition,
						Msg: fmt.Sprintf("serials %d–%d refused: %s", c.from, c.to-1, res.Entry.GetOutcomes()[0].GetReason())})
				default:
					committed += uint64(c.to - c.from)
					first = min(first, res.Entry.GetIndex())
				}
				mu.Unlock()
			}
		}()
	}
	for from := 0; from < len(serials); from += ingest.MaxEpcsPerEvent {
		work <- chunk{from, min(from+ingest.MaxEpcsPerEvent, len(serials))}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		var ae *apierr.Error
		if committed > 0 || !errors.As(firstErr, &ae) {
			return first, committed, fmt.Errorf("%d of %d serials committed: %w", committed, len(serials), firstErr)
		}
		return first, committed, ae
	}
	return first, committed, nil
}

// StreamCommissionSerials commissions chunks streamed by the client.
func (s *Service) StreamCommissionSerials(stream pb.RegistryService_StreamCommissionSerialsServer) error {
	ctx := stream.Context()
	p, err := writer.Caller(ctx)
	if err != nil {
		return s.fail(ctx, err)
	}
	var gtin, lot string
	var total uint64
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&pb.StreamCommissionSerialsResponse{Commissioned: total})
		}
		if err != nil {
			return err
		}
		if gtin == "" {
			gtin, lot = req.GetGtin(), req.GetLot()
		} else if (req.GetGtin() != "" && req.GetGtin() != gtin) || (req.GetLot() != "" && req.GetLot() != lot) {
			return s.fail(ctx, apierr.Invalid("gtin", "must not change within a stream"))
		}
		if len(req.GetSerials()) > ingest.MaxEpcsPerEvent {
			return s.fail(ctx, apierr.Invalid("serials", "at most %d per chunk, got %d", ingest.MaxEpcsPerEvent, len(req.GetSerials())))
		}
		for i, sn := range req.GetSerials() {
			if !gs1.ValidSerial(sn) {
				return s.fail(ctx, apierr.Invalid(fmt.Sprintf("serials[%d]", i), "1–20 characters of GS1 character set 82, got %q", sn))
			}
		}
		if err := s.checkFormat(gtin, lot, req.GetSerials(), 0); err != nil {
			return s.fail(ctx, fmt.Errorf("after %d serials: %w", total, err))
		}
		_, n, err := s.commission(ctx, p, gtin, lot, req.GetSerials(), nil)
		total += n
		if err != nil {
			return s.fail(ctx, fmt.Errorf("after %d serials: %w", total, err))
		}
	}
}

// RecallBatch recalls a batch.
func (s *Service) RecallBatch(ctx context.Context, req *pb.RecallBatchRequest) (*pb.RecallBatchResponse, error) {
	out, err := s.hold(ctx, req.GetGtin(), req.GetLot(), pb.Disposition_DISPOSITION_RECALLED)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.RecallBatchResponse{Outcome: out}, nil
}

// WithdrawBatch withdraws a batch.
func (s *Service) WithdrawBatch(ctx context.Context, req *pb.WithdrawBatchRequest) (*pb.WithdrawBatchResponse, error) {
	out, err := s.hold(ctx, req.GetGtin(), req.GetLot(), pb.Disposition_DISPOSITION_WITHDRAWN)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.WithdrawBatchResponse{Outcome: out}, nil
}

func (s *Service) hold(ctx context.Context, gtin, lot string, disp pb.Disposition) (*pb.Outcome, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.ownProduct(p, gtin, true); err != nil {
		return nil, err
	}
	if _, err := s.w.Store().Batch(gtin, lot); err != nil {
		return nil, err
	}
	env := writer.Envelope(p)
	env.Body = &pb.Envelope_Capture{Capture: &pb.Capture{Events: []*pb.ScanEvent{{
		Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_OBSERVE, BizStep: pb.BizStep_BIZ_STEP_HOLDING,
		Disposition: disp, EventTime: timestamppb.New(s.w.Now()), Batches: []*pb.BatchRef{{Gtin: gtin, Lot: lot}},
	}}}}
	res, err := s.w.Submit(ctx, env, true)
	if err != nil {
		return nil, err
	}
	if n := len(res.Entry.GetOutcomes()); n != 1 {
		return nil, fmt.Errorf("registry: ledger answer with %d outcomes, want 1", n)
	}
	out := res.Entry.GetOutcomes()[0]
	return out, writer.OutcomeError(out)
}
