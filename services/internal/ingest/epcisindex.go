package ingest

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
	ledgerentry "github.com/pedigree-project/pedigree/ledger/entry"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// eventClasses lists the classes (GTIN, lot) an event names in its
// quantity lists, for the EPCIS class index.
func eventClasses(e *lifecycle.Event) [][2]string {
	if len(e.Batches) == 0 {
		return nil
	}
	out := make([][2]string, len(e.Batches))
	for i, b := range e.Batches {
		out[i] = [2]string{b.GTIN, b.Lot}
	}
	return out
}

// recordedEvent reports whether outcome o records its event on the
// ledger as an event of its own: not a duplicate of one recorded before,
// nor refused for reusing another event's ID.
func recordedEvent(o *pb.Outcome) bool {
	return !o.GetDuplicate() && !IsIDConflict(o)
}

// epcisIndexBatch is how many ledger entries an EPCIS index build indexes
// per Pebble batch.
const epcisIndexBatch = 1 << 14

// buildEPCISIndex writes the EPCIS indexes (state.PutEPCISEvent) of every
// entry of l into store when the store lacks them (a store written before
// they existed), and records them complete. It must run before the
// pipeline consumes; it returns the number of events indexed, and false
// when the indexes were complete already.
func buildEPCISIndex(ctx context.Context, store *state.Store, l *ledger.Log) (uint64, bool, error) {
	ok, err := store.EPCISIndexComplete()
	if err != nil || ok {
		return 0, false, err
	}
	b := store.DB().NewBatch()
	defer func() { _ = b.Close() }()
	var events uint64
	err = l.Entries(ctx, 0, l.Size(), func(e ledger.Entry) error {
		n, err := indexEntry(b, e)
		if err != nil {
			return fmt.Errorf("entry %d: %w", e.Index, err)
		}
		events += n
		if e.Index%epcisIndexBatch == epcisIndexBatch-1 {
			if err := b.Commit(pebble.NoSync); err != nil {
				return err
			}
			b.Reset()
		}
		return nil
	})
	if err == nil {
		err = state.PutEPCISIndexFormat(b)
	}
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return events, false, fmt.Errorf("ingest: build the EPCIS indexes: %w", err)
	}
	return events, true, nil
}

// indexEntry writes the EPCIS index keys of one ledger entry into b.
func indexEntry(b *pebble.Batch, e ledger.Entry) (uint64, error) {
	entry, err := ledgerentry.Decode(e.Data)
	if err != nil {
		return 0, err
	}
	op, err := envelope.Open(entry.GetEnvelope())
	if err != nil {
		return 0, err
	}
	events := op.Envelope.GetCapture().GetEvents()
	ids, outs := entry.GetEventIds(), entry.GetOutcomes()
	var n uint64
	for i, ev := range events {
		if i >= len(ids) || i >= len(outs) || !recordedEvent(outs[i]) {
			continue
		}
		var classes [][2]string
		for _, bt := range ev.GetBatches() {
			classes = append(classes, [2]string{bt.GetGtin(), bt.GetLot()})
		}
		if err := state.PutEPCISEvent(b, e.Index, ids[i], classes); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
