package sdk

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/subjects"
)

// tracked is a queued message as the Client follows it, from Send (or from
// the forwarder's reading of a queue an earlier Client left) to its
// verified outcome. Its fields are guarded by Client.mu.
type tracked struct {
	seq   uint64
	msgID string
	hash  string  // hex SHA-256 of msgID: the last token of its result subject
	rec   *record // with its signed envelope, once the forwarder has read it; nil once answered

	ack      *jetstream.PubAck // the first acknowledgement
	tries    int               // publications after the first
	deadline time.Time         // when to publish again if no outcome came
	outcome  *Outcome
}

// maxKeptBytes bounds the envelope bytes of the outcomes kept for Outcome
// after their messages left the queue (each entry holds its envelope).
const maxKeptBytes = 64 << 20

// tracking is what the Client knows of its messages. Guarded by Client.mu.
type tracking struct {
	bySeq       map[uint64]*tracked   // not yet answered, by queue sequence number
	byMsg       map[string]*tracked   // the latest by message ID, answered ones while kept
	byHash      map[string][]*tracked // in flight, by result subject token
	flight      []*tracked            // read by the forwarder, not yet answered, by sequence
	flightBytes int
	kept        []*tracked          // answered, oldest first
	keptBytes   int                 // envelope bytes of the kept outcomes\' entries
	answers     map[string]*tracked // the latest answered by message ID, while kept
	unpublished int                 // not answered and not yet acknowledged by JetStream
}

func newTracking() tracking {
	return tracking{bySeq: map[uint64]*tracked{}, byMsg: map[string]*tracked{}, byHash: map[string][]*tracked{},
		answers: map[string]*tracked{}}
}

// resultToken returns the last token of the result subject of msgID.
func resultToken(msgID string) string {
	sum := sha256.Sum256([]byte(msgID))
	return hex.EncodeToString(sum[:])
}

// track returns the tracked message with queue sequence seq, making it if
// needed.
func (k *tracking) track(seq uint64, msgID string) *tracked {
	if t, ok := k.bySeq[seq]; ok {
		return t
	}
	t := &tracked{seq: seq, msgID: msgID, hash: resultToken(msgID)}
	k.bySeq[seq] = t
	k.byMsg[msgID] = t
	return t
}

// sent tracks a record Send appended, and reports whether it is the only
// one waiting for its first acknowledgement.
func (k *tracking) sent(r *record) (t *tracked, first bool) {
	t = k.track(r.seq, r.msgID)
	k.unpublished++
	return t, k.unpublished == 1
}

// read tracks a record the forwarder read from the queue: it is in flight
// from now on, its envelope held to check its outcome. When a verified
// outcome of the very same bytes came already (the same event sent
// twice), read returns it instead: the record is on the ledger and needs
// no publishing.
func (k *tracking) read(r *record) (*tracked, *Outcome) {
	t := k.track(r.seq, r.msgID)
	t.rec = r
	if a := k.answers[r.msgID]; a != nil && bytes.Equal(a.outcome.Entry.GetEnvelope(), r.data) {
		if t.ack == nil {
			t.ack = &jetstream.PubAck{Stream: subjects.ScanStream, Sequence: a.ack.Sequence, Duplicate: true}
			k.unpublished--
		}
		out := *a.outcome
		out.MsgID = t.msgID
		return t, &out
	}
	k.flight = append(k.flight, t)
	k.flightBytes += len(r.data)
	k.byHash[t.hash] = append(k.byHash[t.hash], t)
	return t, nil
}

// room reports whether the forwarder may put one more message in flight.
func (k *tracking) room(maxMsgs int) bool {
	return len(k.flight) == 0 || (len(k.flight) < maxMsgs && k.flightBytes < maxInFlightBytes)
}

// due returns the lowest acknowledged message in flight whose outcome is
// overdue at now, or nil.
func (k *tracking) due(now time.Time) *tracked {
	for _, t := range k.flight {
		if t.ack != nil && !t.deadline.After(now) {
			return t
		}
	}
	return nil
}

// nextDeadline returns the earliest deadline in flight, or the zero time.
func (k *tracking) nextDeadline() time.Time {
	var d time.Time
	for _, t := range k.flight {
		if t.ack != nil && (d.IsZero() || t.deadline.Before(d)) {
			d = t.deadline
		}
	}
	return d
}

// published records that JetStream acknowledged a publication of t at
// now, and sets when to publish it again if its outcome does not come:
// after first, then twice as long each time, up to most.
func (k *tracking) published(t *tracked, ack *jetstream.PubAck, now time.Time, first, most time.Duration) {
	if t.outcome != nil {
		return
	}
	wait := first
	if t.ack == nil {
		t.ack = ack
		k.unpublished--
	} else {
		t.tries++
		for i := 0; i < t.tries && wait < most; i++ {
			wait *= 2
		}
	}
	t.deadline = now.Add(min(wait, most))
}

// answered records t's verified outcome and forgets its envelope; false
// when t was answered before.
func (k *tracking) answered(t *tracked, out *Outcome, keep int) bool {
	if t.outcome != nil {
		return false
	}
	t.outcome = out
	if t.ack == nil { // the outcome came first: the message is on the stream
		seq := out.Entry.GetStreamSequence()
		if out.Refusal != nil {
			seq = out.Refusal.GetStreamSequence()
		}
		t.ack = &jetstream.PubAck{Stream: subjects.ScanStream, Sequence: seq}
		k.unpublished--
	}
	if i, ok := slices.BinarySearchFunc(k.flight, t.seq, func(f *tracked, seq uint64) int { return cmp.Compare(f.seq, seq) }); ok {
		k.flight = slices.Delete(k.flight, i, i+1)
		k.flightBytes -= len(t.rec.data)
	}
	if same := slices.DeleteFunc(k.byHash[t.hash], func(f *tracked) bool { return f == t }); len(same) > 0 {
		k.byHash[t.hash] = same
	} else {
		delete(k.byHash, t.hash)
	}
	delete(k.bySeq, t.seq)
	t.rec = nil
	k.kept = append(k.kept, t)
	k.keptBytes += len(out.Entry.GetEnvelope())
	k.answers[t.msgID] = t
	for len(k.kept) > keep || (k.keptBytes > maxKeptBytes && len(k.kept) > 1) {
		old := k.kept[0]
		k.kept[0] = nil
		k.kept = k.kept[1:]
		k.keptBytes -= len(old.outcome.Entry.GetEnvelope())
		if k.byMsg[old.msgID] == old {
			delete(k.byMsg, old.msgID)
		}
		if k.answers[old.msgID] == old {
			delete(k.answers, old.msgID)
		}
	}
	return true
}

// candidate is a message in flight a result notice may answer.
type candidate struct {
	t    *tracked
	wire []byte
}

// onResult handles a message on the party's result subjects: a node-signed
// ResultNotice that, once verified against the exact envelope bytes of a
// message in flight, answers it. Anything that does not verify is counted
// and ignored, never believed.
func (c *Client) onResult(m *nats.Msg) {
	c.handling.RLock()
	defer c.handling.RUnlock()
	if c.handlerDone || c.life.Err() != nil {
		return
	}
	token := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
	c.mu.Lock()
	var cands []candidate
	for _, t := range c.tracks.byHash[token] {
		cands = append(cands, candidate{t, t.rec.data})
	}
	c.mu.Unlock()
	if len(cands) == 0 {
		// Another scanner of the party, or a message answered already.
		c.log.Debug("sdk: outcome of a message this client does not hold; ignored", "subject", m.Subject)
		return
	}
	var errs []error
	verified := false
	for _, cd := range cands {
		res, err := envelope.OpenResult(m.Data, cd.wire, c.cfg.NodeKeys)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		verified = true
		c.answer(cd.t, &Outcome{MsgID: cd.t.msgID, Entry: res.Entry, Refusal: res.Refusal, Receipt: res.Receipt, NodeKeyID: res.KeyID})
	}
	if !verified {
		c.untrusted.Add(1)
		c.log.Warn("sdk: ignored an outcome that does not verify with the node keys; the message stays queued",
			"msg_id", cands[0].t.msgID, "err", errors.Join(errs...))
	}
}

// answer releases t from the queue with its verified outcome, then makes
// the outcome visible: whoever sees it finds the queue without t. The
// result handler calls it for messages in flight, one notice at a time,
// and the forwarder for messages it never put in flight, so t is answered
// once.
func (c *Client) answer(t *tracked, out *Outcome) {
	if err := c.q.release(t.seq); err != nil && c.life.Err() == nil {
		c.log.Error("sdk: queue: cannot record an outcome; the message will be sent again", "msg_id", t.msgID, "err", err)
	}
	c.mu.Lock()
	ok := c.tracks.answered(t, out, c.cfg.KeepOutcomes)
	c.broadcast()
	c.mu.Unlock()
	if !ok {
		return
	}
	c.kick()
	if out.Refusal != nil {
		c.log.Warn("sdk: the node refused a message; it is in the dead-letter stream", "msg_id", t.msgID, "reason", out.Refusal.GetReason())
	} else {
		c.log.Debug("sdk: outcome verified", "msg_id", t.msgID, "ledger_index", out.Entry.GetIndex(), "node_key", out.NodeKeyID)
	}
	if c.cfg.OnOutcome != nil {
		c.callback.Lock()
		defer c.callback.Unlock()
		c.cfg.OnOutcome(out)
	}
}
