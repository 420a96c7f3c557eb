package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
)

// The limits a run measures beside its figures, on the same machine in the
// same run, so that a figure reads as a ratio that means the same on any
// machine: what the node cannot do faster than, whatever its code.

// pebbleLimitBatch is the keys per synced batch of the Pebble limit, about
// what a commissioning request of 50,000 serials writes per ledger batch.
const pebbleLimitBatch = 1000

// Limits are the figures of the parts alone.
type Limits struct {
	// Consume is reading back, with an ordered consumer, the messages the
	// raw publish phase put in the scratch stream.
	Consume Throughput `json:"consume"`
	// ConsumeSigs is the same read with each envelope opened and its
	// signature checked in batches on every core: the unavoidable parts
	// of ingesting signed messages, with no ledger.
	ConsumeSigs Throughput `json:"consume_and_signatures"`
}

// consumeLimits reads the n messages of stream back twice: alone, then
// opening each envelope and checking the signatures in batches with the
// parties' keys.
func consumeLimits(ctx context.Context, js jetstream.JetStream, stream string, n int, eventsPer float64, keys map[string]ed25519.PublicKey) (Limits, error) {
	var l Limits
	var err error
	if l.Consume, err = consumeAll(ctx, js, stream, n, eventsPer, nil); err != nil {
		return l, err
	}
	var cache envelope.Keys
	check := func(wires [][]byte) error { return checkSignatures(wires, keys, &cache) }
	if l.ConsumeSigs, err = consumeAll(ctx, js, stream, n, eventsPer, check); err != nil {
		return l, err
	}
	return l, nil
}

// consumeAll reads the first n messages of stream with an ordered
// consumer, passing their data to fn (when set) in batches of
// consumeBatch, and returns the rate.
func consumeAll(ctx context.Context, js jetstream.JetStream, stream string, n int, eventsPer float64, fn func([][]byte) error) (Throughput, error) {
	const consumeBatch = 1000
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return Throughput{}, fmt.Errorf("bench: consumer of the scratch stream: %w", err)
	}
	start := time.Now()
	it, err := cons.Messages(jetstream.PullMaxMessages(consumeBatch))
	if err != nil {
		return Throughput{}, fmt.Errorf("bench: read the scratch stream back: %w", err)
	}
	defer it.Stop()
	got := 0
	wires := make([][]byte, 0, consumeBatch)
	flush := func() error {
		if fn != nil && len(wires) > 0 {
			if err := fn(wires); err != nil {
				return err
			}
		}
		wires = wires[:0]
		return ctx.Err()
	}
	for got < n {
		m, err := it.Next()
		if err != nil {
			return Throughput{}, fmt.Errorf("bench: read the scratch stream back (%d of %d messages): %w", got, n, err)
		}
		wires = append(wires, m.Data())
		got++
		if len(wires) == consumeBatch {
			if err := flush(); err != nil {
				return Throughput{}, err
			}
		}
	}
	if err := flush(); err != nil {
		return Throughput{}, err
	}
	return throughput(got, int(float64(got)*eventsPer), time.Since(start)), nil
}

// checkSignatures opens each envelope and checks the signatures with the
// signing parties' keys, in batches, one run of messages per core, as the
// ledger's pipeline does; a signature that fails is an error.
func checkSignatures(wires [][]byte, keys map[string]ed25519.PublicKey, cache *envelope.Keys) error {
	workers := min(runtime.GOMAXPROCS(0), max(1, len(wires)/64))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	per := (len(wires) + workers - 1) / workers
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, len(wires))
		wg.Go(func() {
			b := envelope.NewBatch(hi - lo)
			for _, wire := range wires[lo:hi] {
				op, err := envelope.Open(wire)
				if err != nil {
					errs[w] = err
					return
				}
				pub, ok := keys[op.Envelope.GetPartyGln()]
				if !ok {
					errs[w] = fmt.Errorf("bench: no key for party %s", op.Envelope.GetPartyGln())
					return
				}
				b.Add(op, pub, cache)
			}
			for _, ok := range b.Verify() {
				if !ok {
					errs[w] = errors.New("bench: a signature of the scratch stream does not verify")
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// pebbleSyncedWrites writes batches of batch keys (16-byte random keys,
// 64-byte values) into a new Pebble database under dir, with the ledger's
// options, each committed with Sync, for dur; it returns keys per second.
// The database is deleted afterwards.
func pebbleSyncedWrites(ctx context.Context, dir string, batch int, dur time.Duration) (float64, error) {
	path, err := os.MkdirTemp(dir, "pebble-limit-")
	if err != nil {
		return 0, fmt.Errorf("bench: pebble limit: %w", err)
	}
	defer os.RemoveAll(path)
	opts := ledger.PebbleOptions()
	opts.Logger = pebbleLog{slog.New(slog.DiscardHandler)}
	db, err := pebble.Open(path, opts)
	if err != nil {
		return 0, fmt.Errorf("bench: pebble limit: %w", err)
	}
	defer db.Close()
	key, val := make([]byte, 16), make([]byte, 64)
	if _, err := rand.Read(val); err != nil {
		return 0, err
	}
	start := time.Now()
	n := 0
	for i := uint64(0); time.Since(start) < dur && ctx.Err() == nil; {
		b := db.NewBatch()
		for range batch {
			binary.BigEndian.PutUint64(key, i*0x9E3779B97F4A7C15) // spread, as hashed keys are
			binary.BigEndian.PutUint64(key[8:], i)
			i++
			if err := b.Set(key, val, nil); err != nil {
				b.Close()
				return 0, err
			}
		}
		if err := b.Commit(pebble.Sync); err != nil {
			b.Close()
			return 0, fmt.Errorf("bench: pebble limit: %w", err)
		}
		b.Close()
		n += batch
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
