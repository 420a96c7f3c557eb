package provenance

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
	ledgerentry "github.com/pedigree-project/pedigree/ledger/entry"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
	"github.com/pedigree-project/pedigree/services/internal/convert"
	"github.com/pedigree-project/pedigree/services/internal/pagetoken"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/services/internal/writer"
)

// maxDepth bounds container nesting (pack → case → pallet → …).
const maxDepth = 8

// touch is one ledger entry of a history and the container it came
// through ("" for entries that named the pack itself).
type touch struct {
	index uint64
	via   string
}

// packTouches collects every entry that named the pack, and every entry
// that named a container while the pack was inside it (at any depth).
func (s *Service) packTouches(gtin, serial string) ([]touch, error) {
	store := s.w.Store()
	direct, err := store.PackLog(gtin, serial)
	if err != nil {
		return nil, err
	}
	seen := map[uint64]string{}
	for _, i := range direct {
		seen[i] = ""
	}
	members, err := store.Memberships(state.PackObject(gtin, serial))
	if err != nil {
		return nil, err
	}
	if err := s.addIntervals(seen, members, 0, math.MaxUint64, 0); err != nil {
		return nil, err
	}
	out := make([]touch, 0, len(seen))
	for i, via := range seen {
		out = append(out, touch{i, via})
	}
	slices.SortFunc(out, func(a, b touch) int { return cmp.Compare(a.index, b.index) })
	return out, nil
}

// addIntervals adds, for each interval in which the object was inside a
// container (clipped to [from, to)), the container's entries of that
// interval, and recursively those of the containers it was in.
func (s *Service) addIntervals(seen map[uint64]string, members []state.Membership, from, to uint64, depth int) error {
	if depth >= maxDepth {
		return nil
	}
	for k, m := range members {
		if m.SSCC == "" {
			continue
		}
		start, end := m.Index, uint64(math.MaxUint64)
		if k+1 < len(members) {
			end = members[k+1].Index
		}
		start, end = max(start, from), min(end, to)
		if start >= end {
			continue
		}
		log, err := s.w.Store().ContainerLog(m.SSCC)
		if err != nil {
			return err
		}
		for _, i := range log {
			if i >= start && i < end {
				if _, ok := seen[i]; !ok {
					seen[i] = m.SSCC
				}
			}
		}
		up, err := s.w.Store().Memberships(state.ContainerObject(m.SSCC))
		if err != nil {
			return err
		}
		if err := s.addIntervals(seen, up, start, end, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// checkpointCovering returns the latest checkpoint, or a new one when the
// latest does not cover index; with witnesses, the served one if it covers
// index, else one with the cosignatures a round gets.
func (s *Service) checkpointCovering(ctx context.Context, index uint64) (ledger.Checkpoint, error) {
	if s.Checkpoints != nil {
		return s.Checkpoints.Covering(ctx, index)
	}
	cp, err := s.log.Latest()
	if err == nil && cp.Size > index {
		return cp, nil
	}
	if err != nil && !errors.Is(err, ledger.ErrNoCheckpoint) {
		return cp, err
	}
	return s.log.Checkpoint(ctx)
}

// GetPack returns a pack's state.
func (s *Service) GetPack(ctx context.Context, req *pb.GetPackRequest) (*pb.GetPackResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	eff, ok, err := s.w.Store().EffectivePack(req.GetGtin(), req.GetSerial(), s.now())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if !ok {
		return nil, s.fail(ctx, apierr.NotFound("pack %s/%s was never commissioned", req.GetGtin(), req.GetSerial()))
	}
	if !authority(p) && eff.Pack.Custodian != p.Party.GetGln() {
		return nil, s.fail(ctx, apierr.Denied("pack state is shown to its custodian and to regulators; use verify for a pack you hold"))
	}
	return &pb.GetPackResponse{Pack: eff.Proto(), Status: pb.PackStatus(eff.Status), ContainerSsccs: eff.Containers}, nil
}

// GetPackHistory returns the pack's history with proofs.
func (s *Service) GetPackHistory(ctx context.Context, req *pb.GetPackHistoryRequest) (*pb.GetPackHistoryResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	q := pagetoken.For(pb.ProvenanceService_GetPackHistory_FullMethodName, p.Party.GetGln(), req.GetGtin(), req.GetSerial())
	size, last, err := q.Page(req.GetPageSize(), req.GetPageToken())
	var after uint64
	if err == nil && last != "" {
		if after, err = strconv.ParseUint(last, 10, 64); err != nil {
			err = apierr.Invalid(pagetoken.Field, "not a page token this API returned")
		}
	}
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	touches, err := s.packTouches(req.GetGtin(), req.GetSerial())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if len(touches) == 0 {
		return nil, s.fail(ctx, apierr.NotFound("no ledger entry names pack %s/%s", req.GetGtin(), req.GetSerial()))
	}
	if last != "" {
		touches = touches[sort.Search(len(touches), func(i int) bool { return touches[i].index > after }):]
	}
	resp := &pb.GetPackHistoryResponse{}
	for _, t := range touches {
		e, err := s.log.Entry(ctx, t.index)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		entry, err := ledgerentry.Decode(e.Data)
		if err != nil {
			return nil, s.fail(ctx, fmt.Errorf("provenance: decode entry %d: %w", t.index, err))
		}
		if !authority(p) && entry.GetPartyGln() != p.Party.GetGln() {
			continue
		}
		if len(resp.Entries) == size {
			resp.NextPageToken = q.Token(strconv.FormatUint(resp.Entries[size-1].GetIndex(), 10))
			break
		}
		resp.Entries = append(resp.Entries, &pb.HistoryEntry{Index: t.index, Data: e.Data, Entry: entry, ViaSscc: t.via,
			Event: eventAbout(entry, req.GetGtin(), req.GetSerial(), t.via)})
	}
	switch {
	case len(resp.Entries) == 0 && last == "":
		return nil, s.fail(ctx, apierr.Denied("you took no part in the history of pack %s/%s", req.GetGtin(), req.GetSerial()))
	case len(resp.Entries) == 0:
		return resp, nil
	}
	cp, err := s.checkpointCovering(ctx, resp.Entries[len(resp.Entries)-1].GetIndex())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp.Checkpoint = &pb.Checkpoint{Note: string(cp.Note), Size: cp.Size, RootHash: cp.Root[:], VerifierKey: cp.VerifierKey}
	for _, h := range resp.Entries {
		proof, err := s.log.InclusionProof(ctx, h.GetIndex(), cp.Size)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		for _, hash := range proof {
			h.InclusionProof = append(h.InclusionProof, hash[:])
		}
	}
	if eff, ok, err := s.w.Store().EffectivePack(req.GetGtin(), req.GetSerial(), s.now()); err == nil && ok {
		if authority(p) || eff.Pack.Custodian == p.Party.GetGln() {
			resp.Pack, resp.Status = eff.Proto(), pb.PackStatus(eff.Status)
		}
	}
	return resp, nil
}

// eventAbout finds the event of an entry that concerns the pack (or the
// container it came through). Its epcis bytes, when its capture keeps the
// document's members once (epcis_head), are given as its whole document.
func eventAbout(entry *pb.LedgerEntry, gtin, serial, via string) *pb.ScanEvent {
	op, err := envelope.Open(entry.GetEnvelope())
	if err != nil {
		return nil
	}
	c := op.Envelope.GetCapture()
	whole := func(ev *pb.ScanEvent) *pb.ScanEvent {
		if len(ev.GetEpcis()) > 0 {
			ev.Epcis = envelope.CapturedDocument(c.GetEpcisHead(), ev.GetEpcis())
		}
		return ev
	}
	for _, ev := range c.GetEvents() {
		if via != "" && convert.ContainerID(ev.GetParent()) == via {
			return whole(ev)
		}
		for _, epc := range ev.GetEpcs() {
			if via != "" && convert.ContainerID(epc) == via {
				return whole(ev)
			}
			if pk := epc.GetPack(); via == "" && pk.GetGtin() == gtin && pk.GetSerial() == serial {
				return whole(ev)
			}
		}
	}
	return nil
}
