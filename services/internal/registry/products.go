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

// CommissionSerials commissions an explicit list or a generated count;
// with a request_id, idempotently (commission.go).
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
	rid := req.GetRequestId()
	if rid != "" {
		if err := checkRequestID("request_id", rid); err != nil {
			return nil, s.fail(ctx, err)
		}
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
	if _, err := s.ownProduct(p, req.GetGtin(), false); err != nil {
		return nil, s.fail(ctx, err)
	}
	total := len(serials)
	if total == 0 {
		total = int(req.GetCount())
	}
	chunks := make([]*chunkWork, 0, (total+ingest.MaxEpcsPerEvent-1)/ingest.MaxEpcsPerEvent)
	for from := 0; from < total; from += ingest.MaxEpcsPerEvent {
		c := &chunkWork{n: min(ingest.MaxEpcsPerEvent, total-from)}
		if len(serials) > 0 {
			c.serials = serials[from : from+c.n]
		}
		chunks = append(chunks, c)
	}
	at := req.GetEventTime()
	var before uint32
	if rid != "" {
		digest := commissionDigest(req.GetGtin(), req.GetLot(), serials, req.GetCount(), at)
		for k, c := range chunks {
			c.tag = &chunkTag{rid: rid, eventID: chunkEventID(rid, k), txID: chunkTxID(rid, k, len(chunks), digest)}
			rc, ok, err := s.recorded(ctx, p.Party.GetGln(), req.GetGtin(), *c.tag)
			if err != nil {
				return nil, s.fail(ctx, err)
			}
			if ok {
				c.serials, c.index, c.done = rc.serials, rc.index, true
				before++
				if at == nil {
					at = rc.at
				}
			}
		}
	}
	// The product's serial format and guessing bound apply to what is not
	// on the ledger yet.
	var pending []string
	missing := 0
	for _, c := range chunks {
		if !c.done {
			missing += c.n
			pending = append(pending, c.serials...)
		}
	}
	if req.GetCount() == 0 {
		missing = 0
	}
	if err := s.checkFormat(req.GetGtin(), req.GetLot(), pending, uint32(missing)); err != nil {
		return nil, s.fail(ctx, err)
	}
	if req.GetCount() > 0 {
		fresh, err := s.generate(req.GetGtin(), missing)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		for _, c := range chunks {
			if !c.done {
				c.serials, fresh = fresh[:c.n], fresh[c.n:]
			}
		}
	}
	first, n, err := s.commission(ctx, p, req.GetGtin(), req.GetLot(), chunks, at)
	if err != nil {
		if rid != "" && n > 0 {
			err = fmt.Errorf("%w; send the same request with request_id %q again to complete it", err, rid)
		}
		return nil, s.fail(ctx, err)
	}
	resp := &pb.CommissionSerialsResponse{Commissioned: n, FirstLedgerIndex: first, RequestId: rid,
		Chunks: uint32(len(chunks)), ChunksAlreadyRecorded: before}
	if req.GetCount() > 0 && total <= ReturnSerialsUpTo {
		for _, c := range chunks {
			resp.Serials = append(resp.Serials, c.serials...)
		}
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

// chunkWork is one commissioning event: its serials (n of them), its tag
// when the request is idempotent, and once on the ledger its index.
type chunkWork struct {
	n, from int
	serials []string
	tag     *chunkTag
	index   uint64
	done    bool
}

// commission submits the chunks not yet done, several in flight, and
// waits for every outcome. It returns the lowest ledger index and the
// number of serials on the ledger, counting the chunks done before.
func (s *Service) commission(ctx context.Context, p *auth.Principal, gtin, lot string, chunks []*chunkWork, at *timestamppb.Timestamp) (uint64, uint64, error) {
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
	work := make(chan *chunkWork)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range commissionWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				err := s.commissionChunk(ctx, p, gtin, lot, batch.GetExpiry(), at, c)
				mu.Lock()
				firstErr = errors.Join(firstErr, err)
				mu.Unlock()
			}
		}()
	}
	from := 0
	for _, c := range chunks {
		if !c.done {
			c.from = from
			work <- c
		}
		from += c.n
	}
	close(work)
	wg.Wait()
	var committed uint64
	first := ^uint64(0)
	for _, c := range chunks {
		if c.done {
			committed += uint64(c.n)
			first = min(first, c.index)
		}
	}
	if firstErr != nil {
		var ae *apierr.Error
		if committed > 0 || !errors.As(firstErr, &ae) {
			return first, committed, fmt.Errorf("%d of %d serials committed: %w", committed, from, firstErr)
		}
		return first, committed, ae
	}
	return first, committed, nil
}

// commissionChunk submits one chunk and marks it done. A chunk of an
// idempotent request that the ledger already holds (recorded by an
// earlier attempt, whose answer was lost) is read back from the ledger.
func (s *Service) commissionChunk(ctx context.Context, p *auth.Principal, gtin, lot, expiry string, at *timestamppb.Timestamp, c *chunkWork) error {
	epcs := make([]*pb.Epc, 0, len(c.serials))
	for _, sn := range c.serials {
		epcs = append(epcs, &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: gtin, Serial: sn}}})
	}
	ev := &pb.ScanEvent{
		Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_ADD, BizStep: pb.BizStep_BIZ_STEP_COMMISSIONING,
		Disposition: pb.Disposition_DISPOSITION_ACTIVE, EventTime: at, Epcs: epcs,
		Ilmd: &pb.Ilmd{Lot: lot, Expiry: expiry},
	}
	if c.tag != nil {
		ev.EventId = c.tag.eventID
		ev.BizTransactions = []*pb.BizTransaction{{Type: commissionTxType, Id: c.tag.txID}}
	}
	env := writer.Envelope(p)
	env.Body = &pb.Envelope_Capture{Capture: &pb.Capture{Events: []*pb.ScanEvent{ev}}}
	span := fmt.Sprintf("serials %d–%d", c.from, c.from+c.n-1)
	res, err := s.w.Submit(ctx, env, true)
	var out *pb.Outcome
	if err == nil {
		if outs := res.Entry.GetOutcomes(); len(outs) == 1 {
			out = outs[0]
		} else {
			return fmt.Errorf("%s: ledger answer with %d outcomes, want 1", span, len(outs))
		}
	}
	if c.tag != nil && (err != nil || out.GetDuplicate() || !out.GetApplied()) {
		// An earlier attempt may have recorded this chunk: the ledger's copy
		// is the answer.
		rc, ok, rerr := s.recorded(ctx, p.Party.GetGln(), gtin, *c.tag)
		if rerr != nil {
			return fmt.Errorf("%s: %w", span, rerr)
		}
		if ok {
			c.serials, c.index, c.done = rc.serials, rc.index, true
			return nil
		}
	}
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", span, err)
	case !out.GetApplied():
		return &apierr.Error{Code: codes.FailedPrecondition, Msg: fmt.Sprintf("%s refused: %s", span, out.GetReason())}
	}
	c.index, c.done = res.Entry.GetIndex(), true
	return nil
}

// StreamCommissionSerials commissions chunks streamed by the client; with
// a request_id, chunk k of the stream is recorded once however often the
// stream is sent.
func (s *Service) StreamCommissionSerials(stream pb.RegistryService_StreamCommissionSerialsServer) error {
	ctx := stream.Context()
	p, err := writer.Caller(ctx)
	if err != nil {
		return s.fail(ctx, err)
	}
	var gtin, lot, rid string
	var total uint64
	for k := 0; ; k++ {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&pb.StreamCommissionSerialsResponse{Commissioned: total})
		}
		if err != nil {
			return err
		}
		if k == 0 {
			gtin, lot, rid = req.GetGtin(), req.GetLot(), req.GetRequestId()
			if rid != "" {
				if err := checkRequestID("request_id", rid); err != nil {
					return s.fail(ctx, err)
				}
			}
		} else if (req.GetGtin() != "" && req.GetGtin() != gtin) || (req.GetLot() != "" && req.GetLot() != lot) {
			return s.fail(ctx, apierr.Invalid("gtin", "must not change within a stream"))
		} else if req.GetRequestId() != "" && req.GetRequestId() != rid {
			return s.fail(ctx, apierr.Invalid("request_id", "must not change within a stream"))
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
		c := &chunkWork{n: len(req.GetSerials()), serials: req.GetSerials()}
		if rid != "" {
			c.tag = &chunkTag{rid: rid, eventID: chunkEventID(rid, k),
				txID: chunkTxID(rid, k, 0, commissionDigest(gtin, lot, req.GetSerials(), 0, nil))}
		}
		_, n, err := s.commission(ctx, p, gtin, lot, []*chunkWork{c}, nil)
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
