package ingest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/subjects"
)

// TestBatchedSignatureChecks sends a backlog of signed dispenses, a few
// with a damaged signature, that the node takes as one consumed batch and
// checks in batches on every core: exactly the damaged ones go to the
// dead-letter stream, every other one is applied.
func TestBatchedSignatureChecks(t *testing.T) {
	w := newWorld(t)
	w.market()
	const n = 300
	serials := make([]string, n)
	for i := range serials {
		serials[i] = fmt.Sprintf("SIG%04d", i)
	}
	w.commission(serials...)
	dir := w.n.dir
	w.n.stop(t)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bad := map[int]bool{0: true, 99: true, 150: true, 151: true, n - 1: true}
	var badSeqs []uint64
	var last uint64
	ids := make([]string, n)
	for i, s := range serials {
		who := []string{pharmGLN, pharm2}[i%2]
		env := capture(w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack(s)))
		env.PartyGln = who
		id := fmt.Sprintf("urn:uuid:sig-%d", i)
		env.GetCapture().GetEvents()[0].EventId = id
		ids[i] = envelope.ScopedEventID(who, id) // the message ID
		wire, err := envelope.Seal(env, who, w.keys[who])
		if err != nil {
			t.Fatal(err)
		}
		if bad[i] {
			wire[len(wire)-3] ^= 0x10 // inside the signature, the last field
		}
		m := nats.NewMsg(subjects.ScanSubject(who))
		m.Data = wire
		m.Header.Set(jetstream.MsgIDHeader, ids[i])
		ack, err := w.js.PublishMsg(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if bad[i] {
			badSeqs = append(badSeqs, ack.Sequence)
		}
		last = ack.Sequence
	}

	w.n = w.startNode("ledger-a", dir)
	if err := w.n.p.WaitApplied(ctx, last); err != nil {
		t.Fatal(err)
	}
	var deadSeqs []uint64
	for _, d := range w.deadLetters() {
		seq, err := strconv.ParseUint(d.Header.Get(HeaderStreamSeq), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if reason := d.Header.Get(HeaderReason); !strings.Contains(reason, "signature: does not verify") {
			t.Errorf("dead letter %d: reason %q, want a signature failure", seq, reason)
		}
		deadSeqs = append(deadSeqs, seq)
	}
	if !slices.Equal(deadSeqs, badSeqs) {
		t.Fatalf("dead letters at stream sequences %v, want exactly the damaged ones %v", deadSeqs, badSeqs)
	}
	for i, id := range ids {
		e := w.entryOf(w.n, id)
		if bad[i] != (e == nil) {
			t.Fatalf("dispense %d (damaged %v): ledger entry %v", i, bad[i], e != nil)
		}
		if e != nil && !e.GetOutcomes()[0].GetApplied() {
			t.Fatalf("dispense %d was refused: %v", i, e.GetOutcomes()[0])
		}
	}
}
