package envelope

import (
	"crypto/sha256"
	"reflect"
	"sync"

	"github.com/pedigree-project/pedigree/epcis"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// CheckedEPCIS remembers the envelopes whose captured EPCIS events were
// all checked in this process (CheckEPCIS passed for every scan event
// they carry, with the envelope's party as the actor), so that a capture
// prepared by this node is not decoded again when the ledger applies it.
// An envelope is known by the SHA-256 of its bytes, which hold its party
// and every event with its captured bytes: only an envelope identical in
// every byte is taken as checked, any other is checked event by event. It
// holds at most its capacity of envelopes, the oldest forgotten first,
// and is safe for concurrent use.
//
// It changes no outcome: a node without it, or that forgot an envelope (a
// restart, another node of a cluster), decides the same by checking.
type CheckedEPCIS struct {
	mu   sync.Mutex
	seen map[[sha256.Size]byte]struct{}
	ring [][sha256.Size]byte
	next int
}

// NewCheckedEPCIS returns a memory of at most capacity checked envelopes.
func NewCheckedEPCIS(capacity int) *CheckedEPCIS {
	capacity = max(capacity, 1)
	return &CheckedEPCIS{seen: make(map[[sha256.Size]byte]struct{}, capacity), ring: make([][sha256.Size]byte, 0, capacity)}
}

// Remember records that every captured event of the envelope whose bytes
// (Marshal) have Digest k passed CheckEPCIS for the envelope's party. The
// caller vouches for it: it made the envelope of events it had projected
// (Project, ProjectCaptured) or checked. A nil *CheckedEPCIS remembers
// nothing.
func (c *CheckedEPCIS) Remember(k [sha256.Size]byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[k]; ok {
		return
	}
	if len(c.ring) < cap(c.ring) {
		c.ring = append(c.ring, k)
	} else {
		delete(c.seen, c.ring[c.next])
		c.ring[c.next] = k
		c.next = (c.next + 1) % len(c.ring)
	}
	c.seen[k] = struct{}{}
}

// Checked says whether the envelope whose bytes have Digest k was
// remembered and not yet forgotten: then CheckEPCIS passes for each of its
// events with the envelope's party as the actor. A nil *CheckedEPCIS knows
// none.
func (c *CheckedEPCIS) Checked(k [sha256.Size]byte) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.seen[k]
	return ok
}

// Project returns the scan event of a captured event ev (FromEPCIS) with
// its captured bytes (EncodeCaptured of ev and the document's namespaces
// ns), checked as CheckEPCIS checks it. When the bytes decode back to ev
// itself, their projection is ev's, which is what CheckEPCIS would find
// after decoding and projecting them again; otherwise CheckEPCIS decides.
func Project(ev *epcis.Event, ns map[string]string, actor string) (*pb.ScanEvent, error) {
	se, err := FromEPCIS(ev, actor)
	if err != nil {
		return nil, err
	}
	if se.Epcis, err = EncodeCaptured(ev, ns); err != nil {
		return nil, err
	}
	back, err := DecodeCaptured(se.GetEpcis())
	return settle(se, nil, actor, err == nil && reflect.DeepEqual(back, ev))
}

// settle returns se, of a capture whose epcis_head is head, when its
// captured bytes are known to decode to the event it was projected from,
// except where CheckEPCIS reads the event specially (an empty event ID,
// a read point naming the actor): there, and for bytes not known,
// CheckEPCISIn decides.
func settle(se *pb.ScanEvent, head []byte, actor string, known bool) (*pb.ScanEvent, error) {
	if known && se.GetEventId() != "" && se.GetReadPoint() != actor {
		return se, nil
	}
	if err := CheckEPCISIn(head, se, actor); err != nil {
		return nil, err
	}
	return se, nil
}

// ProjectCaptured is Project for an event whose captured bytes the
// capture document itself gave (epcis.Captured): they decode to the event
// by construction, so they are neither encoded nor decoded back here. The
// scan event's epcis bytes are the event object alone (cp.EventBytes):
// the capture that carries it must have cp.Head as its epcis_head. Where
// CheckEPCIS reads the event specially (no event ID, a read point naming
// the actor) or the document is over MaxEPCISBytes, CheckEPCISIn decides,
// as in Project.
func ProjectCaptured(cp epcis.Captured, actor string) (*pb.ScanEvent, error) {
	se, err := FromEPCIS(cp.Event(), actor)
	if err != nil {
		return nil, err
	}
	se.Epcis = cp.EventBytes()
	return settle(se, cp.Head(), actor, capturedSize(cp.Head(), se.Epcis) <= MaxEPCISBytes)
}
