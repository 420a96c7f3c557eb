package epcisapi

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/epcis"
	"github.com/pedigree-project/pedigree/ledger"
	ledgerentry "github.com/pedigree-project/pedigree/ledger/entry"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/ingest"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// recordTimeLayout is how an event's recordTime is written: UTC, to the
// millisecond.
const recordTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// record is one event a ledger entry records.
type record struct {
	index  uint64 // the ledger entry
	n      int    // the event's position in the entry
	party  string // the capturing party
	rec    time.Time
	id     string // the event ID the node gave it
	scan   *pb.ScanEvent
	head   []byte       // the capture's epcis_head
	ev     *epcis.Event // as exported, once decoded
	evErr  error
	decode bool
}

// event returns the EPCIS event r exports: the captured event (its epcis
// bytes), or the projection of a native scan event, with the eventID and
// recordTime the node gave it.
func (r *record) event() (*epcis.Event, error) {
	if r.decode {
		return r.ev, r.evErr
	}
	r.decode = true
	if len(r.scan.GetEpcis()) > 0 {
		r.ev, r.evErr = envelope.DecodeCaptured(envelope.CapturedDocument(r.head, r.scan.GetEpcis()))
	} else {
		r.ev, r.evErr = envelope.EPCIS(r.scan, r.party)
	}
	if r.evErr != nil {
		r.evErr = fmt.Errorf("epcisapi: ledger entry %d, event %d: %w", r.index, r.n, r.evErr)
		return nil, r.evErr
	}
	r.ev.EventID = r.id
	r.ev.RecordTime = r.rec.UTC().Format(recordTimeLayout)
	return r.ev, nil
}

// entryRecords reads the events ledger entry e records (none for an
// entry of master data): every event of its capture but those it refused
// as a duplicate or for reusing an ID. It returns the entry's record time.
func entryRecords(e ledger.Entry) ([]record, time.Time, error) {
	entry, err := ledgerentry.Decode(e.Data)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("epcisapi: ledger entry %d: %w", e.Index, err)
	}
	rec := entry.GetRecordTime().AsTime()
	op, err := envelope.Open(entry.GetEnvelope())
	if err != nil {
		return nil, rec, fmt.Errorf("epcisapi: ledger entry %d: %w", e.Index, err)
	}
	events, head := op.Envelope.GetCapture().GetEvents(), op.Envelope.GetCapture().GetEpcisHead()
	ids, outs := entry.GetEventIds(), entry.GetOutcomes()
	out := make([]record, 0, len(events))
	for i, ev := range events {
		if i >= len(ids) || i >= len(outs) || outs[i].GetDuplicate() || ingest.IsIDConflict(outs[i]) {
			continue
		}
		out = append(out, record{index: e.Index, n: i, party: entry.GetPartyGln(), rec: rec, id: ids[i], scan: ev, head: head})
	}
	return out, rec, nil
}

// visible reports whether caller may see r: regulators and admins see
// every event; a party the events it captured and those that name it as
// owning or possessing party in their sources or destinations.
func visible(caller *pb.Party, r *record) bool {
	gln := caller.GetGln()
	if lifecycle.SeesAll(lifecycle.Role(caller.GetRole())) || r.party == gln {
		return true
	}
	for _, list := range [][]*pb.SourceDest{r.scan.GetSources(), r.scan.GetDestinations()} {
		for _, sd := range list {
			if sd.GetGln() == gln && sd.GetType() != pb.SourceDestType_SOURCE_DEST_TYPE_LOCATION {
				return true
			}
		}
	}
	return false
}

// pos is a position in the ledger's events: entry index, event n.
type pos struct {
	index uint64
	n     int
}

// reader walks the ledger for queries.
type reader struct {
	store *state.Store
	log   *ledger.Log
	// work bounds the ledger entries one page examines.
	work int
}

// candidates returns the ledger entries that may hold the events p asks
// for, from the indexes, in order; ok is false when no index applies and
// the ledger must be walked.
func (rd *reader) candidates(p *Params) ([]uint64, bool, error) {
	if len(p.EventIDs) > 0 {
		var out []uint64
		for _, id := range p.EventIDs {
			l, err := rd.store.EventIDLog(id)
			if err != nil {
				return nil, false, err
			}
			out = append(out, l...)
		}
		return sortedSet(out), true, nil
	}
	for _, ms := range [][]idMatch{p.EPCs, p.AnyEPCs, p.ParentIDs, p.InputEPCs, p.OutputEPCs, p.EPCClasses} {
		if len(ms) == 0 {
			continue
		}
		out, ok, err := rd.indexed(ms)
		if err != nil || ok {
			return out, ok, err
		}
	}
	return nil, false, nil
}

// indexed returns the entries naming any of ms, when the indexes cover
// every one of them.
func (rd *reader) indexed(ms []idMatch) ([]uint64, bool, error) {
	var out []uint64
	for _, m := range ms {
		k := indexKeyOf(m)
		var l []uint64
		var err error
		switch k.kind {
		case 'p':
			l, err = rd.store.PackLog(k.gtin, k.serial)
		case 'c':
			l, err = rd.store.ContainerLog(k.sscc)
		case 'l':
			l, err = rd.store.ClassLog(k.gtin, k.lot)
		default:
			if m.pattern {
				return nil, false, nil
			}
			// An identifier the node never records names no event.
		}
		if err != nil {
			return nil, false, err
		}
		out = append(out, l...)
	}
	return sortedSet(out), true, nil
}

func sortedSet(l []uint64) []uint64 {
	slices.Sort(l)
	return slices.Compact(l)
}

// firstAtOrAfter returns the first ledger index below size whose record
// time is at or after t (size when none): record time grows with the
// ledger index, so a binary search finds it.
func (rd *reader) firstAtOrAfter(ctx context.Context, t time.Time, size uint64) (uint64, error) {
	var err error
	i := sort.Search(int(size), func(i int) bool {
		if err != nil {
			return true
		}
		var e ledger.Entry
		if e, err = rd.log.Entry(ctx, uint64(i)); err != nil {
			return true
		}
		var entry *pb.LedgerEntry
		if entry, err = ledgerentry.Decode(e.Data); err != nil {
			return true
		}
		return !entry.GetRecordTime().AsTime().Before(t)
	})
	return uint64(i), err
}

// walk calls fn with each event from start on that caller may see and p
// matches, in ledger order, until fn returns false (walk returns the
// position of that event), the events run out (nil), or the page has
// examined rd.work entries (the position to resume at).
func (rd *reader) walk(ctx context.Context, caller *pb.Party, p *Params, start pos, fn func(*record, *epcis.Event) bool) (*pos, error) {
	size := rd.log.Size()
	list, indexed, err := rd.candidates(p)
	if err != nil {
		return nil, err
	}
	first := start.index
	if !indexed && p.GERecordTime != nil {
		at, err := rd.firstAtOrAfter(ctx, *p.GERecordTime, size)
		if err != nil {
			return nil, err
		}
		first = max(first, at)
	}
	next := func() (uint64, bool) {
		if indexed {
			for len(list) > 0 && list[0] < first {
				list = list[1:]
			}
			if len(list) == 0 || list[0] >= size {
				return 0, false
			}
			i := list[0]
			list = list[1:]
			return i, true
		}
		return first, first < size
	}
	for examined := 0; ; examined++ {
		i, ok := next()
		if !ok {
			return nil, nil
		}
		if examined == rd.work {
			return &pos{index: i}, nil
		}
		first = i + 1
		e, err := rd.log.Entry(ctx, i)
		if err != nil {
			return nil, err
		}
		recs, rec, err := entryRecords(e)
		if err != nil {
			return nil, err
		}
		if !indexed && p.LTRecordTime != nil && !rec.Before(*p.LTRecordTime) {
			return nil, nil
		}
		for k := range recs {
			r := &recs[k]
			if (i == start.index && r.n < start.n) || !visible(caller, r) {
				continue
			}
			ev, err := r.event()
			if err != nil {
				return nil, err
			}
			if p.Match(ev, r.rec) && !fn(r, ev) {
				return &pos{index: r.index, n: r.n}, nil
			}
		}
	}
}
