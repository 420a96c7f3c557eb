package ingest

import (
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/convert"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// ValidationError is a field that breaks a rule, as the pipeline would
// report it when sending the message to the dead-letter stream.
type ValidationError = convert.FieldError

// MaxEpcsPerEvent bounds the objects of one event (convert.MaxEpcsPerEvent).
const MaxEpcsPerEvent = convert.MaxEpcsPerEvent

// Validate runs the pipeline's field checks on env as submitted by actor at
// time at, against the committed state, without changing anything. Writers
// that submit on a caller's behalf use it to answer InvalidArgument at once
// instead of letting the message end in the dead-letter stream.
func Validate(store *state.Store, env *pb.Envelope, actor string, at time.Time) error {
	var err error
	if c := env.GetCapture(); c != nil {
		err = CheckCapture(c)
		check := checkIn(c.GetEpcisHead())
		for i, ev := range c.GetEvents() {
			if err != nil {
				break
			}
			err = convert.EventChecked(i, &lifecycle.Event{}, nil, ev, actor, at.UnixMilli(), check)
		}
	} else {
		o := newOverlay(store)
		_, err = o.applyMasterData(env, principal{party: actor}, 0, at)
		if err == nil {
			err = o.err
		}
	}
	return err
}

// CheckCapture checks what bounds a capture as a whole: 1 to
// envelope.MaxEventsPerCapture events, an epcis_head of at most
// envelope.MaxEPCISBytes, and no more events than
// envelope.MaxEventsSharingHead allows for its head.
func CheckCapture(c *pb.Capture) error {
	n, head := len(c.GetEvents()), len(c.GetEpcisHead())
	switch {
	case n == 0 || n > envelope.MaxEventsPerCapture:
		return convert.Invalid("capture.events", "1–%d events, got %d", envelope.MaxEventsPerCapture, n)
	case head > envelope.MaxEPCISBytes:
		return convert.Invalid("capture.epcis_head", "at most %d bytes, got %d", envelope.MaxEPCISBytes, head)
	case n > envelope.MaxEventsSharingHead(head):
		return convert.Invalid("capture.events", "at most %d events share an epcis_head of %d bytes (each event's document is read with it), got %d", envelope.MaxEventsSharingHead(head), head, n)
	}
	return nil
}

// checkIn is the check of the captured EPCIS events of a capture whose
// epcis_head is head (envelope.CheckEPCISIn).
func checkIn(head []byte) convert.EPCISCheck {
	return func(ev *pb.ScanEvent, actor string) error { return envelope.CheckEPCISIn(head, ev, actor) }
}
