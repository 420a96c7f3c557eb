package state

import (
	"errors"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// View is a read-only lifecycle.View over the committed state, for
// read-only answers (verification). Read errors count as absent records
// and are kept in Err.
type View struct {
	s *Store
	// Err is the first read error, if any.
	Err error
}

var _ lifecycle.View = (*View)(nil)

// NewView returns a read-only view of the committed state.
func (s *Store) NewView() *View { return &View{s: s} }

func (v *View) keep(err error) {
	if err != nil && !errors.Is(err, ErrNotFound) && v.Err == nil {
		v.Err = err
	}
}

// Pack implements lifecycle.View.
func (v *View) Pack(gtin, serial string) (lifecycle.Pack, bool) {
	p, ok, err := v.s.Pack(gtin, serial)
	v.keep(err)
	return p, ok
}

// Container implements lifecycle.View.
func (v *View) Container(sscc string) (lifecycle.Container, bool) {
	c, ok, err := v.s.Container(sscc)
	v.keep(err)
	return c, ok
}

// Batch implements lifecycle.View.
func (v *View) Batch(gtin, lot string) (lifecycle.Batch, bool) {
	b, err := v.s.Batch(gtin, lot)
	v.keep(err)
	if err != nil {
		return lifecycle.Batch{}, false
	}
	return lifecycle.Batch{GTIN: b.GetGtin(), Lot: b.GetLot(), Expiry: b.GetExpiry(), Recalled: b.GetRecalled(), Withdrawn: b.GetWithdrawn()}, true
}

// Product implements lifecycle.View.
func (v *View) Product(gtin string) (lifecycle.Product, bool) {
	p, err := v.s.Product(gtin)
	v.keep(err)
	if err != nil {
		return lifecycle.Product{}, false
	}
	return lifecycle.Product{GTIN: p.GetGtin(), Manufacturer: p.GetManufacturerGln()}, true
}

// Party implements lifecycle.View.
func (v *View) Party(gln string) (lifecycle.Party, bool) {
	p, err := v.s.Party(gln)
	v.keep(err)
	if err != nil {
		return lifecycle.Party{}, false
	}
	return lifecycle.Party{GLN: p.GetGln(), Role: lifecycle.Role(p.GetRole())}, true
}

// ListParties returns up to limit parties with GLN greater than after, in
// GLN order.
func (s *Store) ListParties(after string, limit int) ([]*pb.Party, error) {
	var out []*pb.Party
	err := s.scan(partyKey(""), after, limit, func(v []byte) error {
		p := &pb.Party{}
		if err := proto.Unmarshal(v, p); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// ListProducts returns up to limit products with GTIN greater than after,
// in GTIN order, optionally only those of one manufacturer.
func (s *Store) ListProducts(after string, limit int, manufacturer string) ([]*pb.Product, error) {
	var out []*pb.Product
	err := s.scan(productKey(""), after, 0, func(v []byte) error {
		if len(out) >= limit {
			return errStop
		}
		p := &pb.Product{}
		if err := proto.Unmarshal(v, p); err != nil {
			return err
		}
		if manufacturer == "" || p.GetManufacturerGln() == manufacturer {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

var errStop = errors.New("stop")

// scan calls fn with the values of keys prefix‖id for id > after, at most
// limit of them (0: no limit).
func (s *Store) scan(prefix []byte, after string, limit int, fn func(v []byte) error) error {
	lower := append(append([]byte(nil), prefix...), after...)
	if after != "" {
		lower = append(lower, 0)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok && (limit == 0 || n < limit); ok = it.Next() {
		if err := fn(it.Value()); err != nil {
			if errors.Is(err, errStop) {
				return nil
			}
			return err
		}
		n++
	}
	return it.Error()
}

// PackProto converts a pack record for the API.
func PackProto(pk lifecycle.Pack) *pb.Pack {
	out := &pb.Pack{Gtin: pk.GTIN, Serial: pk.Serial, Lot: pk.Lot, Expiry: pk.Expiry, Status: pb.PackStatus(pk.Status),
		CustodianGln: pk.Custodian, LocationGln: pk.Location, ParentSscc: pk.Parent, Tracked: pk.Tracked}
	if pk.LastEvent != 0 {
		out.LastEventTime = timestamppb.New(time.UnixMilli(pk.LastEvent))
	}
	if pk.Transit.InTransit() {
		out.Transit = &pb.Transit{FromGln: pk.Transit.From, ToGln: pk.Transit.To}
	}
	if d := pk.Decommission; d.Party != "" {
		out.Decommission = &pb.Decommission{PartyGln: d.Party, LocationGln: d.Location, Time: timestamppb.New(time.UnixMilli(d.Time)), Status: pb.PackStatus(d.Status)}
	}
	return out
}
