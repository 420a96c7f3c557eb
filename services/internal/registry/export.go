package registry

import (
	"context"
	"strconv"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
	"github.com/pedigree-project/pedigree/services/internal/convert"
	"github.com/pedigree-project/pedigree/services/internal/pagetoken"
	"github.com/pedigree-project/pedigree/services/internal/writer"
)

// Page sizes of ListBatchPacks.
const (
	defaultPackPage = 1_000
	maxPackPage     = 10_000
)

// ListBatchPacks pages through a batch's serials with their effective
// status. Packs are keyed by GTIN and serial (state/keys.go), so a page
// scans the product's packs from the token's serial on and keeps those of
// the lot: memory is bounded by the page, but a batch among many of the
// same product costs a scan of the product's packs (an index by lot would
// make it a scan of the batch).
func (s *Service) ListBatchPacks(ctx context.Context, req *pb.ListBatchPacksRequest) (*pb.ListBatchPacksResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	store := s.w.Store()
	prod, err := store.Product(req.GetGtin())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if err := writer.Refused(lifecycle.MayListSerials(actor(p), prod.GetManufacturerGln())); err != nil {
		return nil, s.fail(ctx, err)
	}
	batch, err := store.Batch(req.GetGtin(), req.GetLot())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if st := req.GetStatus(); st < 0 || pb.PackStatus_name[int32(st)] == "" {
		return nil, s.fail(ctx, apierr.Invalid("status", "unknown pack status %d", st))
	}
	q := pagetoken.For(pb.RegistryService_ListBatchPacks_FullMethodName, req.GetGtin(), req.GetLot(), strconv.Itoa(int(req.GetStatus())))
	if req.GetPageSize() < 0 || req.GetPageSize() > maxPackPage {
		return nil, s.fail(ctx, apierr.Invalid("pageSize", "0–%d, got %d", maxPackPage, req.GetPageSize()))
	}
	size := int(req.GetPageSize())
	if size == 0 {
		size = defaultPackPage
	}
	after, err := q.After(req.GetPageToken())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	b := convert.Batch(batch)
	at := s.w.Now().UnixMilli()
	resp := &pb.ListBatchPacksResponse{}
	last := ""
	err = store.BatchPacksAfter(req.GetGtin(), req.GetLot(), after, func(pk lifecycle.Pack) (bool, error) {
		st := pb.PackStatus(lifecycle.EffectiveStatus(pk, b, at))
		if req.GetStatus() != pb.PackStatus_PACK_STATUS_UNSPECIFIED && st != req.GetStatus() {
			return true, nil
		}
		if len(resp.Packs) == size {
			resp.NextPageToken = q.Token(last)
			return false, nil
		}
		resp.Packs = append(resp.Packs, &pb.BatchPack{Serial: pk.Serial, Status: st})
		last = pk.Serial
		return true, nil
	})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return resp, nil
}
