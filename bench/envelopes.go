package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/sdk"
	"github.com/pedigree-project/pedigree/subjects"
)

// message is one signed envelope ready to publish.
type message struct {
	party   string // the pharmacy's GLN
	subject string // pedigree.scan.<pharmacy GLN>
	msgID   string // Nats-Msg-Id: the event ID, or the envelope ID of a capture
	data    []byte // the SignedEnvelope
	events  int
}

// packRange is the packs [from, to) of a run.
type packRange struct{ from, to int }

func (r packRange) len() int { return r.to - r.from }

// upTo returns the first n packs of r, or all of them.
func (r packRange) upTo(n int) packRange { return packRange{r.from, min(r.to, r.from+max(n, 0))} }

// dispenses returns the signed envelopes that dispense the packs of r,
// perEnvelope single-pack dispense events to an envelope, alternating
// between the pharmacies. Each event carries its CBV 2.0 event ID, as the
// scanner SDK sends it. Signing is done here, before a phase starts, on
// every core: a phase measures the server, not the cost of signing, which
// scanners pay on their own devices.
func (w *world) dispenses(ctx context.Context, r packRange, perEnvelope int) ([]message, error) {
	n := (r.len() + perEnvelope - 1) / perEnvelope
	out := make([]message, n)
	builders := make([]*sdk.Builder, len(w.pharm))
	now := time.Now()
	for i, p := range w.pharm {
		b, err := sdk.NewBuilder(p.gln, "", func() time.Time { return now })
		if err != nil {
			return nil, err
		}
		builders[i] = b
	}
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for k := range workers {
		wg.Go(func() {
			for i := k; i < n && ctx.Err() == nil; i += workers {
				from := r.from + i*perEnvelope
				m, err := w.dispenseEnvelope(builders[i%len(w.pharm)], i%len(w.pharm), from, min(from+perEnvelope, r.to))
				if err != nil {
					errs[k] = err
					return
				}
				out[i] = m
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, ctx.Err()
}

// dispenseEnvelope signs one capture dispensing packs [from, to) as
// pharmacy p.
func (w *world) dispenseEnvelope(b *sdk.Builder, p, from, to int) (message, error) {
	ph := w.pharm[p]
	events := make([]*pb.ScanEvent, 0, to-from)
	for i := from; i < to; i++ {
		ev, err := b.Dispense(sdk.PackOf(w.gtin, w.serial(i), w.lot, w.expiry))
		if err != nil {
			return message{}, fmt.Errorf("bench: dispense event: %w", err)
		}
		// The event time is shared; the serial makes each event unique.
		if ev.EventId, err = envelope.EventID(ev, ph.gln); err != nil {
			return message{}, fmt.Errorf("bench: event ID: %w", err)
		}
		events = append(events, ev)
	}
	env := &pb.Envelope{PartyGln: ph.gln, Body: &pb.Envelope_Capture{Capture: &pb.Capture{Events: events}}}
	body, err := envelope.Marshal(env)
	if err != nil {
		return message{}, err
	}
	wire, err := envelope.Seal(env, ph.gln, ph.key)
	if err != nil {
		return message{}, err
	}
	return message{party: ph.gln, subject: subjects.ScanSubject(ph.gln), msgID: envelope.MsgID(env, body), data: wire, events: len(events)}, nil
}
