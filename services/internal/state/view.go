package state

import (
	"errors"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/convert"
)

// View is a read-only lifecycle.View over the committed state, for
// read-only answers (verification). Read errors count as absent records
// and are kept in Err. A View remembers the last pack, product and batch
// it read, so that an answer built after the rules ran (PackRecord,
// ProductRecord, BatchRecord) shows the records the rules saw without
// reading them again.
type View struct {
	s *Store
	// Err is the first read error, if any.
	Err error

	pack    lifecycle.Pack // valid when packSet; packOK: it exists
	packSet bool
	packOK  bool
	product *pb.Product // last product read, nil if none
	batch   *pb.Batch   // last batch read, nil if none
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
	return v.PackRecord(gtin, serial)
}

// PackRecord returns the pack's record, read once per View: a second
// call for the same pack answers what the first read.
func (v *View) PackRecord(gtin, serial string) (lifecycle.Pack, bool) {
	if v.packSet && v.pack.GTIN == gtin && v.pack.Serial == serial {
		return v.pack, v.packOK
	}
	p, ok, err := v.s.Pack(gtin, serial)
	v.keep(err)
	if err == nil {
		v.pack, v.packOK, v.packSet = p, ok, true
		v.pack.GTIN, v.pack.Serial = gtin, serial
	}
	return p, ok
}

// Container implements lifecycle.View.
func (v *View) Container(sscc string) (lifecycle.Container, bool) {
	c, ok, err := v.s.Container(sscc)
	v.keep(err)
	return c, ok
}

// BatchRecord returns a batch's record (shared: not to be modified), the
// one the View last read if it is that batch.
func (v *View) BatchRecord(gtin, lot string) (*pb.Batch, bool) {
	if b := v.batch; b != nil && b.GetGtin() == gtin && b.GetLot() == lot {
		return b, true
	}
	b, err := v.s.Batch(gtin, lot)
	v.keep(err)
	if err != nil {
		return nil, false
	}
	v.batch = b
	return b, true
}

// Batch implements lifecycle.View.
func (v *View) Batch(gtin, lot string) (lifecycle.Batch, bool) {
	b, ok := v.BatchRecord(gtin, lot)
	if !ok {
		return lifecycle.Batch{}, false
	}
	return convert.Batch(b), true
}

// ProductRecord returns a product's record (shared: not to be modified),
// the one the View last read if it is that product.
func (v *View) ProductRecord(gtin string) (*pb.Product, bool) {
	if p := v.product; p != nil && p.GetGtin() == gtin {
		return p, true
	}
	p, err := v.s.Product(gtin)
	v.keep(err)
	if err != nil {
		return nil, false
	}
	v.product = p
	return p, true
}

// Product implements lifecycle.View.
func (v *View) Product(gtin string) (lifecycle.Product, bool) {
	p, ok := v.ProductRecord(gtin)
	if !ok {
		return lifecycle.Product{}, false
	}
	return convert.Product(p), true
}

// Party implements lifecycle.View.
func (v *View) Party(gln string) (lifecycle.Party, bool) {
	p, err := v.s.Party(gln)
	v.keep(err)
	if err != nil {
		return lifecycle.Party{}, false
	}
	return convert.Party(p), true
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
