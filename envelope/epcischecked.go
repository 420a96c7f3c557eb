package envelope

import (
	"crypto/sha256"
	"reflect"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/epcis"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// CheckedEPCIS remembers the scan events for which CheckEPCIS passed in
// this process, so that an event checked when a capture was prepared is
// not decoded again when the ledger applies it. An event is known by the
// SHA-256 of its actor and its deterministic protobuf encoding (its
// captured bytes included), so only an event identical in every field,
// captured by the same party, is taken as checked; any other is checked
// in full. It holds at most its capacity of events, the oldest forgotten
// first, and is safe for concurrent use.
//
// It changes no outcome: a node without it, or that forgot an event (a
// restart, another node of a cluster), decides the same by checking.
type CheckedEPCIS struct {
	mu   sync.Mutex
	seen map[[sha256.Size]byte]struct{}
	ring [][sha256.Size]byte
	next int
}

// NewCheckedEPCIS returns a memory of at most capacity checked events.
func NewCheckedEPCIS(capacity int) *CheckedEPCIS {
	capacity = max(capacity, 1)
	return &CheckedEPCIS{seen: make(map[[sha256.Size]byte]struct{}, capacity), ring: make([][sha256.Size]byte, 0, capacity)}
}

// Check is CheckEPCIS(ev, actor), answered from memory for an event this
// process checked before. A nil *CheckedEPCIS always checks.
func (c *CheckedEPCIS) Check(ev *pb.ScanEvent, actor string) error {
	if c == nil || len(ev.GetEpcis()) == 0 {
		return CheckEPCIS(ev, actor)
	}
	key, ok := checkedKey(ev, actor)
	if ok && c.has(key) {
		return nil
	}
	if err := CheckEPCIS(ev, actor); err != nil {
		return err
	}
	if ok {
		c.add(key)
	}
	return nil
}

func checkedKey(ev *pb.ScanEvent, actor string) ([sha256.Size]byte, bool) {
	buf := make([]byte, 0, len(actor)+1+proto.Size(ev)+16)
	buf = append(append(buf, actor...), 0)
	buf, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend(buf, ev)
	if err != nil {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256(buf), true
}

func (c *CheckedEPCIS) has(k [sha256.Size]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.seen[k]
	return ok
}

func (c *CheckedEPCIS) add(k [sha256.Size]byte) {
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

// Project returns the scan event of a captured event ev (FromEPCIS) with
// its captured bytes (EncodeCaptured of ev and the document's namespaces
// ns), checked as CheckEPCIS checks it, and remembers it as checked. When
// the bytes decode back to ev itself, their projection is ev's, which is
// what CheckEPCIS would find after decoding and projecting them again;
// otherwise CheckEPCIS decides. A nil *CheckedEPCIS checks and remembers
// nothing.
func (c *CheckedEPCIS) Project(ev *epcis.Event, ns map[string]string, actor string) (*pb.ScanEvent, error) {
	se, err := FromEPCIS(ev, actor)
	if err != nil {
		return nil, err
	}
	if se.Epcis, err = EncodeCaptured(ev, ns); err != nil {
		return nil, err
	}
	back, err := DecodeCaptured(se.GetEpcis())
	return c.settle(se, actor, err == nil && reflect.DeepEqual(back, ev))
}

// settle returns se, remembered as checked when its captured bytes are
// known to decode to the event it was projected from, except where
// CheckEPCIS reads the event specially (an empty event ID, a read point
// naming the actor): there, and for bytes not known, CheckEPCIS decides.
func (c *CheckedEPCIS) settle(se *pb.ScanEvent, actor string, known bool) (*pb.ScanEvent, error) {
	if known && se.GetEventId() != "" && se.GetReadPoint() != actor {
		if c != nil {
			if key, ok := checkedKey(se, actor); ok {
				c.add(key)
			}
		}
		return se, nil
	}
	if err := c.Check(se, actor); err != nil {
		return nil, err
	}
	return se, nil
}

// ProjectCaptured is Project for an event whose captured bytes the
// capture document itself gave (epcis.Captured): they decode to the event
// by construction, so they are neither encoded nor decoded back here, and
// the event is remembered as checked. Where CheckEPCIS reads the event
// specially (no event ID, a read point naming the actor) or the bytes
// are over MaxEPCISBytes, CheckEPCIS decides, as in Project.
func (c *CheckedEPCIS) ProjectCaptured(cp epcis.Captured, actor string) (*pb.ScanEvent, error) {
	se, err := FromEPCIS(cp.Event(), actor)
	if err != nil {
		return nil, err
	}
	se.Epcis = cp.Bytes()
	return c.settle(se, actor, len(se.Epcis) <= MaxEPCISBytes)
}
