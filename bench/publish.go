package bench

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/subjects"
)

// Throughput is what a publishing phase moved.
type Throughput struct {
	// Messages and Events published (and, for ingest, committed).
	Messages int `json:"messages"`
	Events   int `json:"events"`
	// Seconds from the first publish to the last acknowledgement (raw) or
	// to the ledger's outcome of the last message (ingest).
	Seconds      float64 `json:"seconds"`
	MessagesPerS float64 `json:"messages_per_s"`
	EventsPerS   float64 `json:"events_per_s"`
	// Ingest only: the ledger indexes of the phase's first and last entry
	// (exact when nothing else writes meanwhile), and the bytes the SCANS
	// stream grew by per message.
	FirstIndex            uint64  `json:"first_index,omitempty"`
	LastIndex             uint64  `json:"last_index,omitempty"`
	StreamBytesPerMessage float64 `json:"stream_bytes_per_message,omitempty"`
}

func throughput(msgs, events int, d time.Duration) Throughput {
	t := Throughput{Messages: msgs, Events: events, Seconds: d.Seconds()}
	if d > 0 {
		t.MessagesPerS = float64(msgs) / d.Seconds()
		t.EventsPerS = float64(events) / d.Seconds()
	}
	return t
}

// MaxPendingAcks bounds the asynchronous publishes awaiting their
// JetStream acknowledgement.
const MaxPendingAcks = 4096

// asyncPub publishes asynchronously with at most MaxPendingAcks
// acknowledgements outstanding, and counts the failures.
type asyncPub struct {
	js     jetstream.JetStream
	failed atomic.Int64
	mu     sync.Mutex
	err    error // the first failure
}

func newAsyncPub(nc *nats.Conn) (*asyncPub, error) {
	p := &asyncPub{}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(MaxPendingAcks),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, _ *nats.Msg, err error) {
			p.failed.Add(1)
			p.mu.Lock()
			if p.err == nil {
				p.err = err
			}
			p.mu.Unlock()
		}))
	if err != nil {
		return nil, fmt.Errorf("bench: jetstream: %w", err)
	}
	p.js = js
	return p, nil
}

// publish sends data on subject with message ID id, waiting while
// MaxPendingAcks acknowledgements are outstanding.
func (p *asyncPub) publish(ctx context.Context, subject, id string, data []byte) error {
	m := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{jetstream.MsgIDHeader: []string{id}}}
	for {
		_, err := p.js.PublishMsgAsync(m, jetstream.WithStallWait(time.Second))
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) || ctx.Err() != nil {
			if err != nil {
				return fmt.Errorf("bench: publish: %w", err)
			}
			return nil
		}
	}
}

// wait returns once every publish is answered, with the first failure.
func (p *asyncPub) wait(ctx context.Context) error {
	select {
	case <-p.js.PublishAsyncComplete():
	case <-ctx.Done():
		return fmt.Errorf("bench: waiting for %d publish acknowledgements: %w", p.js.PublishAsyncPending(), ctx.Err())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return fmt.Errorf("bench: %d publishes failed, the first with: %w", p.failed.Load(), p.err)
	}
	return nil
}

// rawPublish publishes msgs, over and over, into a scratch stream that
// nobody consumes, configured as the SCANS stream is (storage, replicas,
// duplicate window), for dur; it returns the rate at which JetStream
// acknowledged them. Repeats get a fresh message ID. The stream is deleted
// afterwards.
//
// Before the stream goes, the messages are read back (consumeLimits): the
// rate of consuming them alone, and with their signatures checked with
// keys, by party GLN.
func rawPublish(ctx context.Context, nc *nats.Conn, run string, msgs []message, dur time.Duration, keys map[string]ed25519.PublicKey) (Throughput, Limits, error) {
	var lim Limits
	if len(msgs) == 0 {
		return Throughput{}, lim, errors.New("bench: raw publish: no messages")
	}
	pub, err := newAsyncPub(nc)
	if err != nil {
		return Throughput{}, lim, err
	}
	scans, err := pub.js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		return Throughput{}, lim, fmt.Errorf("bench: stream %s: %w", subjects.ScanStream, err)
	}
	sc := scans.CachedInfo().Config
	subject := "bench." + run + ".raw"
	cfg := jetstream.StreamConfig{Name: "BENCH_RAW_" + run, Subjects: []string{subject}, Storage: sc.Storage,
		Replicas: sc.Replicas, Duplicates: sc.Duplicates, MaxMsgSize: sc.MaxMsgSize, Retention: jetstream.LimitsPolicy,
		Description: "pedigree bench: scratch stream for the raw publish rate; deleted after the phase"}
	if _, err := pub.js.CreateStream(ctx, cfg); err != nil {
		return Throughput{}, lim, fmt.Errorf("bench: scratch stream: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = pub.js.DeleteStream(dctx, cfg.Name)
	}()
	start := time.Now()
	deadline := start.Add(dur)
	n, events := 0, 0
	for ; ctx.Err() == nil && (n&255 != 0 || time.Now().Before(deadline)); n++ {
		m := msgs[n%len(msgs)]
		id := m.msgID
		if round := n / len(msgs); round > 0 {
			id += "#" + strconv.Itoa(round)
		}
		if err := pub.publish(ctx, subject, id, m.data); err != nil {
			return Throughput{}, lim, err
		}
		events += m.events
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := pub.wait(wctx); err != nil {
		return Throughput{}, lim, err
	}
	t := throughput(n, events, time.Since(start))
	if lim, err = consumeLimits(ctx, pub.js, cfg.Name, n, float64(events)/float64(n), keys); err != nil {
		return Throughput{}, lim, err
	}
	return t, lim, nil
}

// ingestOptions shape an ingest phase.
type ingestOptions struct {
	dur time.Duration
	// rate bounds the events published per second; 0 means no bound.
	rate float64
	// window is how many messages are published per marker; markers is
	// how many markers may await their outcome. Their product bounds the
	// messages published and not yet committed.
	window, markers int
}

// markerTimeout bounds the wait for one marker's outcome.
const markerTimeout = time.Minute

// ingest publishes msgs in order on the SCANS subjects, each on its
// pharmacy's own connection, until they run out or dur has passed, and
// returns once the ledger has committed every one.
//
// Every window-th message, and the last one of each pharmacy, is a marker:
// its result subject (pedigree.result.<GLN>.<hash of its message ID>) is
// subscribed to before it is published. One connection's messages reach
// the stream in the order published; the ledger commits the stream in
// order and publishes an outcome only after the commit, so a marker's
// node-signed outcome means that it and everything its pharmacy published
// before it are committed. Publishing waits while `markers` markers are
// outstanding, which keeps the backlog bounded (a ledger slower than the
// stream otherwise leaves minutes of work behind a timed phase). When dur
// has passed, the next message of each pharmacy is its last, a marker; the
// phase ends at the last of their outcomes, exactly. Each marker's outcome
// must verify with the node keys and say "applied", so refused or
// dead-lettered events fail the phase instead of inflating the figure.
func ingest(ctx context.Context, b *bus, msgs []message, o ingestOptions) (Throughput, error) {
	pubs, err := b.publishers()
	if err != nil {
		return Throughput{}, err
	}
	scans, err := b.scans(ctx)
	if err != nil {
		return Throughput{}, err
	}
	var before jetstream.StreamState
	if scans != nil {
		before = scans.CachedInfo().State
	}
	final := map[string]int{} // index of each pharmacy's last message
	for i, m := range msgs {
		final[m.party] = i
	}
	var pending []marker
	defer func() {
		for _, m := range pending {
			_ = m.sub.Unsubscribe()
		}
	}()
	var last *pb.LedgerEntry
	ignored := 0
	await := func() error {
		res, err := awaitMarker(pending[0].sub, pending[0].wire, b.keys, &ignored)
		if err != nil {
			return err
		}
		if e := res.Entry; last == nil || e.GetIndex() > last.GetIndex() {
			last = e
		}
		pending = pending[1:]
		return nil
	}
	start := time.Now()
	deadline := start.Add(o.dur)
	n, sent, events := 0, 0, 0
	ending, ended := false, map[string]bool{}
	for n < len(msgs) && ctx.Err() == nil {
		m := msgs[n]
		ending = ending || !time.Now().Before(deadline)
		if ended[m.party] {
			n++ // its last message is out: the others' follow
			continue
		}
		lastOfParty := ending || final[m.party] == n
		if lastOfParty || (n+1)%o.window == 0 {
			for len(pending) >= o.markers {
				if err := await(); err != nil {
					return Throughput{}, err
				}
			}
			sub, err := b.party[m.party].SubscribeSync(subjects.ResultSubject(m.party, m.msgID))
			if err != nil {
				return Throughput{}, fmt.Errorf("bench: subscribe to an outcome: %w", err)
			}
			pending = append(pending, marker{sub: sub, wire: m.data})
		}
		if o.rate > 0 {
			if d := time.Until(start.Add(time.Duration(float64(events) / o.rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		if err := pubs[m.party].publish(ctx, m.subject, m.msgID, m.data); err != nil {
			return Throughput{}, err
		}
		n++
		sent++
		events += m.events
		if lastOfParty {
			ended[m.party] = true
			if len(ended) == len(final) {
				break
			}
		}
	}
	for len(pending) > 0 {
		if err := await(); err != nil {
			return Throughput{}, err
		}
	}
	end := time.Now()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, p := range pubs {
		if err := p.wait(wctx); err != nil {
			return Throughput{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return Throughput{}, err
	}
	if ignored > 0 {
		return Throughput{}, fmt.Errorf("bench: %d messages on the markers' result subjects did not verify with the node keys", ignored)
	}
	t := throughput(sent, events, end.Sub(start))
	if last != nil && last.GetIndex()+1 >= uint64(sent) {
		// The phase's entries end at the last marker's: each message is
		// one entry, whatever order the pharmacies' connections interleave.
		t.FirstIndex, t.LastIndex = last.GetIndex()+1-uint64(sent), last.GetIndex()
	}
	if scans != nil {
		if info, err := scans.Info(wctx); err == nil && info.State.Msgs > before.Msgs {
			t.StreamBytesPerMessage = float64(info.State.Bytes-before.Bytes) / float64(info.State.Msgs-before.Msgs)
		}
	}
	return t, nil
}

// marker is a message whose outcome is awaited: its result subscription
// and its signed envelope, which the outcome must prove.
type marker struct {
	sub  *nats.Subscription
	wire []byte
}
