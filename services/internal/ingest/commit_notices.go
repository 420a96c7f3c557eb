package ingest

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/gs1"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/subjects"
)

// notices signs what the node tells the parties about a committed batch:
// one BatchReceipt signed with the node key over the RFC 6962 root of the
// batch's leaf hashes, and for each entry a ResultNotice carrying that
// receipt and the entry's inclusion proof; each alert is signed on its
// own (alerts are rare). One signature per batch keeps the cost per event
// to a hash and a proof.
func (p *Pipeline) notices(w *batchWork) (results [][]byte, alerts [][]byte, err error) {
	if len(w.recs) == 0 {
		return nil, nil, nil
	}
	bare := make([][]byte, len(w.recs))
	for i := range w.recs {
		bare[i] = w.recs[i].pub
	}
	if results, err = envelope.ResultNotices(p.cfg.Ledger.Origin(), w.first, bare, w.leaves, p.cfg.NodeKey); err != nil {
		return nil, nil, err
	}
	for i := range w.recs {
		r := &w.recs[i]
		var sum []byte // of the envelope, once the entry has an alert
		for _, out := range r.entry.GetOutcomes() {
			for _, a := range out.GetAlerts() {
				if sum == nil {
					s := sha256.Sum256(r.it.data)
					sum = s[:]
				}
				st, err := deterministic.Marshal(&pb.AlertStatement{Alert: a, EnvelopeSha256: sum, Origin: p.cfg.Ledger.Origin()})
				if err != nil {
					return nil, nil, fmt.Errorf("ingest: alert statement: %w", err)
				}
				n, err := deterministic.Marshal(envelope.SignNotice(envelope.KindAlert, st, p.cfg.NodeKey))
				if err != nil {
					return nil, nil, fmt.Errorf("ingest: alert notice: %w", err)
				}
				alerts = append(alerts, n)
			}
		}
	}
	return results, alerts, nil
}

// publish hands a committed batch's signed outcomes and alerts to NATS and
// its alerts to the node's own alert feed, then advances the applied
// sequence: whoever waits for a sequence finds the entry committed.
func (p *Pipeline) publish(w *batchWork) {
	results, alerts, err := p.notices(w)
	if err != nil {
		// The batch is durable; only the notices are lost. Waiting writers
		// find the entry on the ledger (the API) or by re-sending (the
		// scanner SDK: the ledger answers a retry with the same outcome).
		p.log.Error("sign notices", "first", w.first, "err", err)
	}
	n := 0
	for i := range w.recs {
		r := &w.recs[i]
		party := r.entry.GetPartyGln()
		if results != nil {
			subject := subjects.ResultSubject(party, r.it.prep.msgID)
			if err := p.cfg.NC.Publish(subject, results[i]); err != nil {
				p.log.Warn("publish outcome", "subject", subject, "err", err)
			}
		}
		for _, out := range r.entry.GetOutcomes() {
			for _, a := range out.GetAlerts() {
				p.feed.send(a)
				if alerts != nil {
					subject := subjects.AlertSubject(a.GetPartyGln(), alertCode(a.GetCode()))
					if err := p.cfg.NC.Publish(subject, alerts[n]); err != nil {
						p.log.Warn("publish alert", "subject", subject, "err", err)
					}
				}
				n++
			}
		}
	}
	for _, d := range w.dead {
		p.publishRefusal(d)
	}
	p.setApplied(w.lastSeq)
}

// publishRefusal tells the sender of a refused message, on its result
// subject, that the message is in the dead-letter stream and why, signed
// with the node key: a sender that keeps its messages until they are
// answered then stops sending it. Messages that name no party (their
// subject is not a GLN's) or carry no message ID have nobody to answer.
func (p *Pipeline) publishRefusal(d deadLetter) {
	gln, ok := strings.CutPrefix(d.it.subject, subjects.ScanSubjectPrefix)
	if !ok || d.it.msgID == "" || !gs1.ValidGLN(gln) {
		return
	}
	sum := sha256.Sum256(d.it.data)
	body, err := deterministic.Marshal(&pb.RefusalStatement{
		Origin: p.cfg.Ledger.Origin(), MessageSha256: sum[:], StreamSequence: d.it.seq, Reason: d.reason,
	})
	if err == nil {
		body, err = deterministic.Marshal(&pb.ResultNotice{Refusal: envelope.SignNotice(envelope.KindRefusal, body, p.cfg.NodeKey)})
	}
	if err != nil {
		p.log.Warn("refusal notice", "seq", d.it.seq, "err", err)
		return
	}
	subject := subjects.ResultSubject(gln, d.it.msgID)
	if err := p.cfg.NC.Publish(subject, body); err != nil {
		p.log.Warn("publish refusal", "subject", subject, "err", err)
	}
}

// AlertFeed delivers the alerts of committed ledger entries, in ledger
// order, to the node's own readers (the live alert feed of the API): they
// come from this node's pipeline, never from NATS.
type AlertFeed struct {
	// C receives the alerts. It is closed when the reader fell behind by
	// more than its buffer (the reader must list what it missed) or was
	// cancelled.
	C    <-chan *pb.Alert
	c    chan *pb.Alert
	feed *alertFanout
}

// Cancel stops the delivery and closes C.
func (a *AlertFeed) Cancel() { a.feed.remove(a) }

// SubscribeAlerts returns a feed of the alerts of entries committed from
// now on, with room for buffer undelivered alerts.
func (p *Pipeline) SubscribeAlerts(buffer int) *AlertFeed {
	c := make(chan *pb.Alert, max(buffer, 1))
	a := &AlertFeed{C: c, c: c, feed: &p.feed}
	p.feed.mu.Lock()
	if p.feed.subs == nil {
		p.feed.subs = map[*AlertFeed]struct{}{}
	}
	p.feed.subs[a] = struct{}{}
	p.feed.mu.Unlock()
	return a
}

// alertFanout fans the pipeline's alerts out to its subscribers without ever
// blocking the pipeline: a subscriber whose buffer is full is dropped (its
// channel closed), never silently skipped over.
type alertFanout struct {
	mu   sync.Mutex
	subs map[*AlertFeed]struct{}
}

func (f *alertFanout) send(a *pb.Alert) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		select {
		case s.c <- proto.Clone(a).(*pb.Alert):
		default:
			delete(f.subs, s)
			close(s.c)
		}
	}
}

func (f *alertFanout) remove(a *AlertFeed) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[a]; ok {
		delete(f.subs, a)
		close(a.c)
	}
}
