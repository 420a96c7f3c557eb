package state

import (
	"time"

	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// EffectivePack is a pack's state as every API answer gives it: the pack's
// record with the custody that applies to it, and its effective status.
// A pack inside a container keeps a stale custody of its own (shipping or
// receiving a pallet writes only the pallet); the rules read the custody
// of the root of its container chain instead (lifecycle.EffectiveCustody),
// and so must every answer, or verification and provenance would tell two
// stories about one pack.
type EffectivePack struct {
	// Pack is the record with Custody replaced by the effective custody
	// (custodian, location, transit, tracked). Status stays the pack's own.
	Pack lifecycle.Pack
	// Own is the record's own custody, stale while the pack is packed.
	Own lifecycle.Custody
	// Containers are the SSCCs of the containers the pack is in, nearest
	// first: the last is the root whose custody applies. Empty when the
	// pack is loose.
	Containers []string
	// Status is the effective status at the time asked: recalled,
	// withdrawn or expired when the batch or date says so, else the pack's
	// own (lifecycle.EffectiveStatus).
	Status lifecycle.Status
}

// Effective returns the effective state of pack record pk at time at (Unix
// milliseconds), reading its containers and batch through v. It is the
// one function that answers "who holds this pack, where, and in what
// status": verification, provenance and disclosure decisions use it.
func Effective(v lifecycle.View, pk lifecycle.Pack, at int64) EffectivePack {
	e := EffectivePack{Pack: pk, Own: pk.Custody}
	e.Pack.Custody, e.Containers = lifecycle.EffectiveChain(v, pk.Custody, pk.Parent)
	b, ok := v.Batch(pk.GTIN, pk.Lot)
	if !ok {
		// No batch record: the pack's copy of the expiry applies.
		b = lifecycle.Batch{GTIN: pk.GTIN, Lot: pk.Lot}
	}
	e.Status = lifecycle.EffectiveStatus(pk, b, at)
	return e
}

// EffectivePack reads a pack and returns its effective state at time at;
// ok is false when the pack was never commissioned.
func (s *Store) EffectivePack(gtin, serial string, at time.Time) (e EffectivePack, ok bool, err error) {
	v := s.NewView()
	pk, ok := v.PackRecord(gtin, serial)
	if v.Err != nil || !ok {
		return EffectivePack{}, false, v.Err
	}
	e = Effective(v, pk, at.UnixMilli())
	return e, true, v.Err
}

// Proto converts the effective state for the API: the pack's record as
// custodian, location, transit and tracked apply to it now.
func (e EffectivePack) Proto() *pb.Pack {
	return PackProto(e.Pack)
}
