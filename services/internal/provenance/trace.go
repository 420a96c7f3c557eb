package provenance

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
	"github.com/pedigree-project/pedigree/services/internal/convert"
	"github.com/pedigree-project/pedigree/services/internal/pagetoken"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/services/internal/writer"
)

// TraceBatch counts a batch's packs by effective status and custodian and
// lists the parties holding active packs of it.
func (s *Service) TraceBatch(ctx context.Context, req *pb.TraceBatchRequest) (*pb.TraceBatchResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	q := pagetoken.For(pb.ProvenanceService_TraceBatch_FullMethodName, p.Party.GetGln(), req.GetGtin(), req.GetLot())
	size, after, err := q.Page(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	store := s.w.Store()
	// Who may see the trace is decided first, so that nobody else learns
	// even whether the batch exists.
	if !authority(p) {
		prod, err := store.Product(req.GetGtin())
		if err != nil || prod.GetManufacturerGln() != p.Party.GetGln() {
			return nil, s.fail(ctx, apierr.Denied("batch traces are shown to regulators and to the product's manufacturer"))
		}
	}
	batch, err := store.Batch(req.GetGtin(), req.GetLot())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	view := store.NewView()
	at := s.now().UnixMilli()
	type key struct {
		status    pb.PackStatus
		custodian string
	}
	counts := map[key]uint64{}
	holders := map[string]bool{}
	err = store.BatchPacksAfter(req.GetGtin(), req.GetLot(), "", func(pk lifecycle.Pack) (bool, error) {
		eff := state.Effective(view, pk, at)
		counts[key{pb.PackStatus(eff.Status), eff.Pack.Custodian}]++
		if pk.Status == lifecycle.StatusActive {
			holders[eff.Pack.Custodian] = true
		}
		return true, nil
	})
	if err == nil {
		err = view.Err
	}
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.TraceBatchResponse{Batch: batch}
	for k, n := range counts {
		resp.Counts = append(resp.Counts, &pb.StatusCount{Status: k.status, CustodianGln: k.custodian, Count: n})
	}
	slices.SortFunc(resp.Counts, func(a, b *pb.StatusCount) int {
		if a.GetStatus() != b.GetStatus() {
			return int(a.GetStatus()) - int(b.GetStatus())
		}
		return cmp.Compare(a.GetCustodianGln(), b.GetCustodianGln())
	})
	glns := make([]string, 0, len(holders))
	for gln := range holders {
		if after == "" || gln > after {
			glns = append(glns, gln)
		}
	}
	slices.Sort(glns)
	if len(glns) > size {
		glns = glns[:size]
		resp.NextPageToken = q.Token(glns[size-1])
	}
	for _, gln := range glns {
		party, err := store.Party(gln)
		if err != nil {
			party = &pb.Party{Gln: gln}
		}
		resp.Holders = append(resp.Holders, party)
	}
	return resp, nil
}

// GetContainer returns what is inside a container now, as a tree, replayed
// from the aggregation events of its ledger entries.
func (s *Service) GetContainer(ctx context.Context, req *pb.GetContainerRequest) (*pb.GetContainerResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	c, ok, err := s.w.Store().Container(req.GetSscc())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if !ok {
		return nil, s.fail(ctx, apierr.NotFound("container %s is not known", req.GetSscc()))
	}
	view := s.w.Store().NewView()
	custody, _ := lifecycle.EffectiveCustody(view, c.Custody, c.Parent)
	if !authority(p) && custody.Custodian != p.Party.GetGln() {
		return nil, s.fail(ctx, apierr.Denied("container contents are shown to its custodian and to regulators"))
	}
	root, err := s.tree(ctx, req.GetSscc(), 0)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.GetContainerResponse{Root: root, ParentSscc: c.Parent, CustodianGln: custody.Custodian}, nil
}

func (s *Service) tree(ctx context.Context, sscc string, depth int) (*pb.ContainerNode, error) {
	node := &pb.ContainerNode{Sscc: sscc}
	if depth >= maxDepth {
		return node, nil
	}
	log, err := s.w.Store().ContainerLog(sscc)
	if err != nil {
		return nil, err
	}
	packs := map[[2]string]bool{}
	var packOrder [][2]string
	children := map[string]bool{}
	var childOrder []string
	for _, i := range log {
		e, err := s.log.Entry(ctx, i)
		if err != nil {
			return nil, err
		}
		entry := &pb.LedgerEntry{}
		if err := proto.Unmarshal(e.Data, entry); err != nil {
			return nil, fmt.Errorf("provenance: decode entry %d: %w", i, err)
		}
		op, err := envelope.Open(entry.GetEnvelope())
		if err != nil {
			continue
		}
		for k, ev := range op.Envelope.GetCapture().GetEvents() {
			if ev.GetType() != pb.EventType_EVENT_TYPE_AGGREGATION || convert.ContainerID(ev.GetParent()) != sscc ||
				k >= len(entry.GetOutcomes()) || !entry.GetOutcomes()[k].GetApplied() {
				continue
			}
			in := ev.GetAction() == pb.Action_ACTION_ADD
			for _, epc := range ev.GetEpcs() {
				if c := convert.ContainerID(epc); c != "" {
					if in && !children[c] {
						childOrder = append(childOrder, c)
					}
					children[c] = in
					continue
				}
				id := [2]string{epc.GetPack().GetGtin(), epc.GetPack().GetSerial()}
				if in && !packs[id] {
					packOrder = append(packOrder, id)
				}
				packs[id] = in
			}
		}
	}
	for _, id := range packOrder {
		if pk, ok, _ := s.w.Store().Pack(id[0], id[1]); packs[id] && ok && pk.Parent == sscc {
			node.Packs = append(node.Packs, &pb.PackCode{Gtin: id[0], Serial: id[1], Lot: pk.Lot, Expiry: pk.Expiry})
		}
	}
	for _, c := range childOrder {
		if !children[c] {
			continue
		}
		child, err := s.tree(ctx, c, depth+1)
		if err != nil {
			return nil, err
		}
		node.Children = append(node.Children, child)
	}
	return node, nil
}
