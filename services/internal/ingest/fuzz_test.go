package ingest

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/subjects"
)

// FuzzValidate feeds fuzzed envelopes to the pipeline's validation and
// conversion (what writers call before publishing, and what the pipeline
// runs on every capture), with real Pebble and no NATS. Nothing may
// panic, and an event that passes validation must get its event ID and
// content digest: nothing validation lets through may fail later.
func FuzzValidate(f *testing.F) {
	opts := ledger.PebbleOptions()
	opts.Logger = quietPebble{}
	store, err := state.Open(filepath.Join(f.TempDir(), "pebble"), opts)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = store.Close() })
	w := &world{clock: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	good := w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack("V1"))
	bad := proto.Clone(good).(*pb.ScanEvent)
	bad.Disposition = 99
	for _, env := range []*pb.Envelope{
		capture(good), capture(bad),
		{Body: &pb.Envelope_Party{Party: &pb.PartyRegistration{Party: &pb.Party{Gln: pharmGLN, Name: "x", Role: 42}}}},
		{Body: &pb.Envelope_AlertReview{AlertReview: &pb.AlertReview{AlertId: "1-0", Status: 17}}},
		{},
	} {
		b, err := proto.Marshal(env)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x1a, 0x02, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		env := &pb.Envelope{}
		if proto.Unmarshal(data, env) != nil {
			return
		}
		at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		err := Validate(store, env, pharmGLN, at)
		for i, ev := range env.GetCapture().GetEvents() {
			id, idErr := envelope.EventID(ev, pharmGLN)
			_, dErr := EventDigest(ev)
			if err == nil && (idErr != nil || dErr != nil || id == "") {
				t.Fatalf("event %d passed validation, then: event ID %q %v, digest %v", i, id, idErr, dErr)
			}
		}
		if c := env.GetCapture(); c != nil && err == nil {
			var pr prepared
			pr.convert(c, pharmGLN, at.UnixMilli(), nil, nil)
			if pr.convErr != nil || len(pr.events) != len(c.GetEvents()) {
				t.Fatalf("validated capture does not convert: %v", pr.convErr)
			}
		}
	})
}

// ingestFuzz is a pipeline on real NATS and Pebble, with parties, a
// product, a batch and packs, started once per fuzzing process.
type ingestFuzz struct {
	w    *world
	sent int // messages published since setup
	base int // ledger entries + dead letters at setup
}

func startIngestFuzz(f *testing.F) *ingestFuzz {
	w := newWorld(f)
	w.market()
	w.commission("Z1", "Z2", "Z3")
	fz := &ingestFuzz{w: w}
	fz.base = int(w.n.log.Size()) + fz.deadCount(f)
	return fz
}

func (fz *ingestFuzz) deadCount(t testing.TB) int {
	n, _ := fz.lastDead(t)
	return n
}

// lastDead returns the number of dead letters and the reason of the last.
func (fz *ingestFuzz) lastDead(t testing.TB) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := fz.w.js.Stream(ctx, subjects.DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs == 0 {
		return 0, ""
	}
	m, err := st.GetMsg(ctx, info.State.LastSeq)
	if err != nil {
		t.Fatal(err)
	}
	return int(info.State.Msgs), m.Header.Get(HeaderReason)
}

// sign wraps envelope bytes as signed by signer with key, exactly as
// given (not re-encoded).
func sign(body []byte, signer string, key ed25519.PrivateKey) []byte {
	se := &pb.SignedEnvelope{Envelope: body, Signer: signer, KeyId: envelope.KeyID(key.Public().(ed25519.PublicKey)),
		Signature: ed25519.Sign(key, body)}
	b, _ := proto.Marshal(se)
	return b
}

// send publishes data on subject and checks what the pipeline made of
// it: it kept going, and the message became exactly one ledger entry or
// one dead letter, whose reason is never an internal error (a panic the
// pipeline caught is a bug all the same). It reports false when NATS
// refused the message.
func (fz *ingestFuzz) send(t *testing.T, subject string, data []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m := nats.NewMsg(subject)
	m.Data = data
	ack, err := fz.w.js.PublishMsg(ctx, m)
	if err != nil {
		return false // not a subject of the stream, or too large: NATS refused it
	}
	fz.sent++
	n := fz.w.n
	if err := n.p.WaitApplied(ctx, ack.Sequence); err != nil {
		select {
		case err := <-n.done:
			t.Fatalf("the pipeline stopped: %v", err)
		default:
		}
		t.Fatal(err)
	}
	dead, reason := fz.lastDead(t)
	if got := int(n.log.Size()) + dead; got != fz.base+fz.sent {
		t.Fatalf("%d messages made %d entries and dead letters", fz.sent, got-fz.base)
	}
	if strings.HasPrefix(reason, "internal error") {
		t.Fatalf("the pipeline caught a panic: %s", reason)
	}
	return true
}

// FuzzIngest publishes fuzzed messages to a real pipeline: raw bytes, or
// fuzzed envelope bytes signed by a registered pharmacy (so that they
// pass authentication and reach validation and the rules), or signed by
// the node key on behalf of the admin's token.
func FuzzIngest(f *testing.F) {
	fz := startIngestFuzz(f)
	w := fz.w
	good := capture(w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack("Z1")))
	bad := capture(w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack("Z2")))
	bad.GetCapture().GetEvents()[0].BizStep = 12345
	src := capture(w.event(pb.BizStep_BIZ_STEP_SHIPPING, pb.Action_ACTION_OBSERVE, pack("Z3")))
	src.GetCapture().GetEvents()[0].Sources = []*pb.SourceDest{{Type: 9, Gln: wsGLN}}
	for _, env := range []*pb.Envelope{good, bad, src,
		{Body: &pb.Envelope_AlertReview{AlertReview: &pb.AlertReview{AlertId: "1-0", Status: 17}}},
		{Body: &pb.Envelope_Party{Party: &pb.PartyRegistration{Party: &pb.Party{Gln: "4000009000007", Name: "x", Role: 42}}}},
	} {
		b, err := proto.Marshal(env)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(1), b)
		f.Add(uint8(2), b)
	}
	f.Add(uint8(0), []byte{})
	f.Add(uint8(0), []byte{0x0a, 0xff, 0xff, 0x01})
	f.Add(uint8(1), []byte{})
	f.Fuzz(func(t *testing.T, mode uint8, data []byte) {
		subject := subjects.ScanSubject(pharmGLN)
		switch mode % 3 {
		case 1, 2:
			env := &pb.Envelope{}
			if proto.Unmarshal(data, env) == nil {
				env.PartyGln = pharmGLN
				if mode%3 == 2 {
					env.PartyGln, env.ApiTokenId = adminGLN, "0000000000000001"
				}
				if b, err := proto.Marshal(env); err == nil {
					data = b
				}
			}
			if mode%3 == 1 {
				data = sign(data, pharmGLN, w.keys[pharmGLN])
			} else {
				data, subject = sign(data, NodeSignerPrefix+"test-node", w.nodeKey), subjects.ScanSubject(adminGLN)
			}
		}
		fz.send(t, subject, data)
	})
}

// FuzzSubject publishes a dispense signed by a registered pharmacy, or
// fuzzed bytes, on fuzzed subjects under pedigree.scan.: a message on a
// subject that is not its party's is a dead letter naming the subject,
// and nothing stops the pipeline.
func FuzzSubject(f *testing.F) {
	fz := startIngestFuzz(f)
	w := fz.w
	env := capture(w.event(pb.BizStep_BIZ_STEP_INSPECTING, pb.Action_ACTION_OBSERVE, pack("Z1")))
	env.PartyGln = pharmGLN
	wire, err := envelope.Seal(env, pharmGLN, w.keys[pharmGLN])
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{pharm2, pharmGLN + ".x", "", "4000005000001\x00", "ä", strings.Repeat("9", 300), "a.b.c"} {
		f.Add(s, true, []byte(nil))
	}
	f.Add(pharmGLN, false, []byte("junk"))
	f.Fuzz(func(t *testing.T, token string, signed bool, data []byte) {
		subject := subjects.ScanSubjectPrefix + token
		if strings.ContainsAny(subject, " \t\r\n*>") || strings.Contains(subject, "..") || strings.HasSuffix(subject, ".") {
			return // not a subject one can publish on
		}
		if signed {
			data = wire
		}
		before := fz.deadCount(t)
		if fz.send(t, subject, data) && signed && token != pharmGLN {
			n, reason := fz.lastDead(t)
			if n != before+1 {
				t.Fatalf("a pharmacy's scan on %q was not a dead letter", subject)
			}
			if !strings.Contains(reason, "subject") {
				t.Fatalf("dead letter reason %q does not name the subject", reason)
			}
		}
	})
}
