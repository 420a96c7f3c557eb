package bench

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/scanners/sdk"
	"github.com/pedigree-project/pedigree/subjects"
)

// bus is the run's NATS side. Each pharmacy publishes on a connection of
// its own, logged in with its key as scanners are; outcomes are believed
// only when a node key signed them. With the node's own NATS key (an
// embedded server's, or Target.NATSAdminKeyFile) a connection with the
// node's rights also makes the raw publish phase's scratch stream and
// reads the SCANS stream's size; without it those are not measured.
type bus struct {
	party map[string]*nats.Conn // by pharmacy GLN
	wipe  []func()
	admin *nats.Conn // nil without the node's NATS key
	keys  envelope.NodeKeys
	// pubs are the parties' JetStream publishers, made once: each holds
	// a reply subscription for as long as its connection lasts.
	pubs map[string]*asyncPub
}

// publishers returns a publisher for each party's connection.
func (b *bus) publishers() (map[string]*asyncPub, error) {
	if b.pubs == nil {
		b.pubs = map[string]*asyncPub{}
	}
	for gln, nc := range b.party {
		if b.pubs[gln] != nil {
			continue
		}
		p, err := newAsyncPub(nc)
		if err != nil {
			return nil, err
		}
		b.pubs[gln] = p
	}
	return b.pubs, nil
}

// dialBus connects the pharmacies of w to url, and the node's connection
// when adminKeyFile is set.
func dialBus(url string, w *world, keys envelope.NodeKeys, adminKeyFile string) (b *bus, err error) {
	b = &bus{party: map[string]*nats.Conn{}, keys: keys}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	for _, p := range w.pharm {
		auth, wipe, err := sdk.AuthOptions(p.gln, p.key)
		if err != nil {
			return nil, err
		}
		b.wipe = append(b.wipe, wipe)
		nc, err := nats.Connect(url, append([]nats.Option{nats.Name("pedigree bench " + p.gln)}, auth...)...)
		if err != nil {
			return nil, fmt.Errorf("bench: NATS %s as pharmacy %s: %w", url, p.gln, err)
		}
		b.party[p.gln] = nc
	}
	if adminKeyFile == "" {
		return b, nil
	}
	key, err := envelope.ReadKeyFile(adminKeyFile)
	if err != nil {
		return nil, fmt.Errorf("bench: the node's NATS key: %w", err)
	}
	cred, wipe, err := sdk.KeyOption(key)
	if err != nil {
		return nil, err
	}
	b.wipe = append(b.wipe, wipe)
	if b.admin, err = nats.Connect(url, nats.Name("pedigree bench"), cred); err != nil {
		return nil, fmt.Errorf("bench: NATS %s with the node's key: %w", url, err)
	}
	return b, nil
}

// scans returns the SCANS stream through the node's connection, or nil
// without one.
func (b *bus) scans(ctx context.Context) (jetstream.Stream, error) {
	if b.admin == nil {
		return nil, nil
	}
	js, err := jetstream.New(b.admin)
	if err != nil {
		return nil, fmt.Errorf("bench: jetstream: %w", err)
	}
	s, err := js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		return nil, fmt.Errorf("bench: stream %s: %w", subjects.ScanStream, err)
	}
	return s, nil
}

func (b *bus) close() {
	for _, nc := range b.party {
		nc.Close()
	}
	if b.admin != nil {
		b.admin.Close()
	}
	for _, w := range b.wipe {
		w()
	}
	b.party, b.admin, b.wipe, b.pubs = nil, nil, nil, nil
}

// awaitMarker waits for the outcome of a marker on its subscription: a
// ResultNotice that verifies against the marker's envelope bytes with the
// node keys, every event applied. Anything else on the subject is counted
// in ignored and not believed.
func awaitMarker(sub *nats.Subscription, wire []byte, keys envelope.NodeKeys, ignored *int) (*envelope.Result, error) {
	defer func() { _ = sub.Unsubscribe() }()
	for {
		msg, err := sub.NextMsg(markerTimeout)
		if err != nil {
			return nil, fmt.Errorf("bench: no ledger outcome on %s within %s (refused into %s?): %w",
				sub.Subject, markerTimeout, subjects.DeadLetterStream, err)
		}
		res, err := envelope.OpenResult(msg.Data, wire, keys)
		if errors.Is(err, envelope.ErrUntrusted) {
			*ignored++
			continue
		}
		if err != nil {
			return nil, err
		}
		for i, r := range sdk.EventResults(res.Entry) {
			if r.Verdict != sdk.Applied {
				return nil, fmt.Errorf("bench: ledger entry %d, event %d %s: %s", res.Entry.GetIndex(), i, r.Verdict, r.Outcome.GetReason())
			}
		}
		return res, nil
	}
}
