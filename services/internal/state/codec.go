package state

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pedigree-project/pedigree/lifecycle"
)

// Record encodings of packs and containers: compact, because there is one
// record per pack (millions per batch). Part of the on-disk format.
//
//	pack:      version (1) | status (1) | flags (1) | lot | expiry | custodian | location |
//	           transit from | transit to | parent | decommission party | decommission location |
//	           last event (varint) | decommission time (varint) | decommission status (1)
//	container: version (1) | flags (1) | parent | custodian | location | transit from |
//	           transit to | created by | children (uvarint) | packs (uvarint) | last event (varint)
//
// Strings are a uvarint length then the bytes; flags bit 0 is Tracked.
const recordVersion = 1

var errRecord = errors.New("state: malformed record")

func encodePack(dst []byte, p *lifecycle.Pack) []byte {
	dst = append(dst, recordVersion, byte(p.Status), flags(p.Tracked))
	for _, s := range [...]string{p.Lot, p.Expiry, p.Custodian, p.Location, p.Transit.From, p.Transit.To,
		p.Parent, p.Decommission.Party, p.Decommission.Location} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	dst = binary.AppendVarint(dst, p.LastEvent)
	dst = binary.AppendVarint(dst, p.Decommission.Time)
	return append(dst, byte(p.Decommission.Status))
}

// decodePack decodes a pack record. The record is copied once into a
// string that all the pack's strings share.
func decodePack(gtin, serial string, b []byte) (lifecycle.Pack, error) {
	p := lifecycle.Pack{GTIN: gtin, Serial: serial}
	r := reader{s: string(b)}
	if r.byte() != recordVersion {
		return p, fmt.Errorf("%w: pack %s/%s: unknown version", errRecord, gtin, serial)
	}
	p.Status = lifecycle.Status(r.byte())
	p.Tracked = r.byte()&1 != 0
	for _, s := range [...]*string{&p.Lot, &p.Expiry, &p.Custodian, &p.Location, &p.Transit.From, &p.Transit.To,
		&p.Parent, &p.Decommission.Party, &p.Decommission.Location} {
		*s = r.str()
	}
	p.LastEvent = r.varint()
	p.Decommission.Time = r.varint()
	p.Decommission.Status = lifecycle.Status(r.byte())
	if r.err {
		return p, fmt.Errorf("%w: pack %s/%s", errRecord, gtin, serial)
	}
	return p, nil
}

func encodeContainer(dst []byte, c *lifecycle.Container) []byte {
	dst = append(dst, recordVersion, flags(c.Tracked))
	for _, s := range [...]string{c.Parent, c.Custodian, c.Location, c.Transit.From, c.Transit.To, c.CreatedBy} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	dst = binary.AppendUvarint(dst, uint64(c.Children))
	dst = binary.AppendUvarint(dst, uint64(c.Packs))
	return binary.AppendVarint(dst, c.LastEvent)
}

func decodeContainer(sscc string, b []byte) (lifecycle.Container, error) {
	c := lifecycle.Container{SSCC: sscc}
	r := reader{s: string(b)}
	if r.byte() != recordVersion {
		return c, fmt.Errorf("%w: container %s: unknown version", errRecord, sscc)
	}
	c.Tracked = r.byte()&1 != 0
	for _, s := range [...]*string{&c.Parent, &c.Custodian, &c.Location, &c.Transit.From, &c.Transit.To, &c.CreatedBy} {
		*s = r.str()
	}
	c.Children = int(r.uvarint())
	c.Packs = int(r.uvarint())
	c.LastEvent = r.varint()
	if r.err {
		return c, fmt.Errorf("%w: container %s", errRecord, sscc)
	}
	return c, nil
}

func flags(tracked bool) byte {
	if tracked {
		return 1
	}
	return 0
}

// reader decodes a record held in one string, remembering the first error
// instead of panicking on short input. The strings it returns share the
// record's memory.
type reader struct {
	s   string
	err bool
}

func (r *reader) byte() byte {
	if len(r.s) == 0 {
		r.err = true
		return 0
	}
	c := r.s[0]
	r.s = r.s[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	var v uint64
	for i := 0; i < len(r.s) && i < binary.MaxVarintLen64; i++ {
		c := r.s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break // overflow
			}
			r.s = r.s[i+1:]
			return v | uint64(c)<<(7*i)
		}
		v |= uint64(c&0x7f) << (7 * i)
	}
	r.err = true
	return 0
}

func (r *reader) varint() int64 {
	ux := r.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (r *reader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.s)) {
		r.err = true
		return ""
	}
	s := r.s[:n]
	r.s = r.s[n:]
	return s
}
