package ingest

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/epcis"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
)

// TestPipelineTakesTheEnvelopesItsNodeChecked checks that the pipeline
// consults the node's memory of checked envelopes (Config.CheckedEPCIS),
// byte for byte: an envelope whose captured bytes say another event than
// its scan event is refused, unless those very bytes were remembered as
// checked, which the capture interface does only for envelopes it made of
// events it checked.
func TestPipelineTakesTheEnvelopesItsNodeChecked(t *testing.T) {
	checked := envelope.NewCheckedEPCIS(16)
	w := newBareWorld(t, natsbus.EmbeddedConfig{})
	w.n = w.startNodeConfigured("ledger-a", t.TempDir(), 0, func(p *Pipeline) { p.cfg.CheckedEPCIS = checked })
	w.genesis()
	w.market()
	// disagreeing is a commissioning of serial with the captured bytes of
	// a commissioning of other.
	disagreeing := func(serial, other string) *pb.Envelope {
		ev := w.event(pb.BizStep_BIZ_STEP_COMMISSIONING, pb.Action_ACTION_ADD, pack(serial))
		ev.Ilmd = &pb.Ilmd{Lot: lotA, Expiry: expA}
		said := w.event(pb.BizStep_BIZ_STEP_COMMISSIONING, pb.Action_ACTION_ADD, pack(other))
		said.Ilmd = ev.Ilmd
		said.EventTime = ev.EventTime
		e, err := envelope.EPCIS(said, mfrGLN)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Epcis, err = envelope.EncodeCaptured(e, nil); err != nil {
			t.Fatal(err)
		}
		if envelope.CheckEPCIS(ev, mfrGLN) == nil {
			t.Fatal("the disagreeing event passes CheckEPCIS")
		}
		env := capture(ev)
		env.PartyGln = mfrGLN
		return env
	}
	if e := w.as(mfrGLN, disagreeing("CK1", "CK2")); e != nil && e.GetOutcomes()[0].GetApplied() {
		t.Fatal("an envelope not remembered was taken without its check")
	}
	env := disagreeing("CK3", "CK4")
	body, err := envelope.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	checked.Remember(envelope.Digest(body))
	e := w.as(mfrGLN, env)
	if e == nil || !e.GetOutcomes()[0].GetApplied() {
		t.Fatalf("a remembered envelope was checked again: %v (%s)", e, w.lastDeadReason())
	}
}

// checkCapturedEvents fails t unless capturedEvents finds, in the bytes
// envelope.Marshal gives for env, each event's deterministic encoding,
// and so its digest.
func checkCapturedEvents(t *testing.T, env *pb.Envelope) {
	t.Helper()
	body, err := envelope.Marshal(env)
	if err != nil {
		return
	}
	raw, ok := capturedEvents(body)
	evs := env.GetCapture().GetEvents()
	switch {
	case env.GetCapture() == nil:
		if ok && len(raw) > 0 {
			t.Fatalf("capturedEvents found events in %v", env)
		}
		return
	case !ok && len(env.GetCapture().ProtoReflect().GetUnknown()) > 0:
		return // fields this node does not know: the digests are taken of each event encoded again
	case !ok || len(raw) != len(evs):
		t.Fatalf("capturedEvents: %d events, %v; the capture has %d", len(raw), ok, len(evs))
	}
	for i, ev := range evs {
		want, err := deterministic.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(raw[i], want) {
			t.Fatalf("event %d: found %x, its deterministic encoding is %x", i, raw[i], want)
		}
		head := env.GetCapture().GetEpcisHead()
		d, err := EventDigestIn(head, ev)
		if got, gotErr := eventDigestOf(raw[i], head); got != d || (err == nil) != (gotErr == nil) {
			t.Fatalf("event %d: digest %x, EventDigest %x", i, got, d)
		}
	}
}

// TestEventDigestInReadsTheWholeDocument checks that an event kept with
// its capture's epcis_head has the digest of the same event kept whole, so
// that a retry is known whichever way each was kept; and that another
// head is other content.
func TestEventDigestInReadsTheWholeDocument(t *testing.T) {
	head := []byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","epcisBody":{"eventList":[`)
	ev := &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_ADD, EventId: "e1", Epcs: []*pb.Epc{pack("S1")},
		Epcis: []byte(`{"type":"ObjectEvent"}`)}
	whole := proto.Clone(ev).(*pb.ScanEvent)
	whole.Epcis = envelope.CapturedDocument(head, ev.GetEpcis())
	got, err := EventDigestIn(head, ev)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := EventDigest(whole); got != want {
		t.Fatalf("kept with its head: digest %x; kept whole: %x", got, want)
	}
	if other, _ := EventDigestIn(append([]byte(`{"x":1,`), head[1:]...), ev); other == got {
		t.Fatal("another head gives the same digest")
	}
	native := proto.Clone(ev).(*pb.ScanEvent)
	native.Epcis = nil
	a, _ := EventDigestIn(head, native)
	if b, _ := EventDigest(native); a != b {
		t.Fatal("the head changes the digest of an event without epcis bytes")
	}
}

// FuzzCapturedEvents holds capturedEvents to the deterministic encoding
// of each event of any envelope.
func FuzzCapturedEvents(f *testing.F) {
	ev := &pb.ScanEvent{Type: pb.EventType_EVENT_TYPE_OBJECT, Action: pb.Action_ACTION_ADD, BizStep: pb.BizStep_BIZ_STEP_COMMISSIONING,
		EventId: "e1", Epcs: []*pb.Epc{pack("S1"), sscc("106141412345678908")}, Ilmd: &pb.Ilmd{Lot: lotA, Expiry: expA},
		Destinations: []*pb.SourceDest{{Type: pb.SourceDestType_SOURCE_DEST_TYPE_OWNING_PARTY, Gln: wsGLN}}, Epcis: []byte(`{"a":1}`)}
	headed := capture(ev, &pb.ScanEvent{})
	headed.GetCapture().EpcisHead = []byte(`{"epcisBody":{"eventList":[`)
	for _, env := range []*pb.Envelope{capture(ev, ev, &pb.ScanEvent{}), capture(), {PartyGln: mfrGLN}, headed} {
		b, err := envelope.Marshal(env)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var env pb.Envelope
		if proto.Unmarshal(data, &env) != nil {
			return
		}
		checkCapturedEvents(t, &env)
	})
}

// TestPipelineChecksACaptureWithItsHead sends, as another node would see
// them (not remembered), captures whose events keep their EPCIS event
// object and the capture its document's head: with the head they came
// with, each event is checked against its whole document and taken; with
// another head, the document says something else and the envelope is
// refused.
func TestPipelineChecksACaptureWithItsHead(t *testing.T) {
	w := newWorld(t)
	w.market()
	v, err := epcis.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	doc := func(serial string) []byte {
		return []byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",` +
			`"creationDate":"2026-11-02T08:00:00Z","epcisBody":{"eventList":[{"type":"ObjectEvent","eventTime":"2026-11-02T08:00:00.000Z",` +
			`"eventTimeZoneOffset":"+00:00","action":"ADD","bizStep":"commissioning","disposition":"active",` +
			`"epcList":["https://id.gs1.org/01/` + gtinA + `/21/` + serial + `"],"ilmd":{"cbvmda:lotNumber":"` + lotA + `","cbvmda:itemExpirationDate":"2028-12-31"}}]}}`)
	}
	headed := func(serial string) (*pb.Envelope, []byte) {
		_, captured, err := v.DecodeCapture(doc(serial))
		if err != nil || len(captured) != 1 {
			t.Fatalf("decode: %v, %d events", err, len(captured))
		}
		se, err := envelope.ProjectCaptured(captured[0], mfrGLN)
		if err != nil {
			t.Fatal(err)
		}
		env := capture(se)
		env.GetCapture().EpcisHead = captured[0].Head()
		return env, captured[0].Head()
	}
	// Validate, which writers run before publishing, decides as the
	// pipeline does.
	validate := func(env *pb.Envelope) error { return Validate(w.n.store, env, mfrGLN, w.clock) }
	env, _ := headed("H1")
	if err := validate(env); err != nil {
		t.Fatalf("Validate refuses a capture with its head: %v", err)
	}
	w.mustApply(mfrGLN, env)
	env, head := headed("H2")
	other := bytes.Replace(head, []byte(`epcis-context.jsonld"`), []byte(`epcis-context.jsonld",{"cbvmda":"https://example.com/"}`), 1)
	if bytes.Equal(other, head) {
		t.Fatalf("no @context to change in %s", head)
	}
	env.GetCapture().EpcisHead = other
	if err := validate(env); err == nil {
		t.Error("Validate takes an event against another head")
	}
	if e := w.as(mfrGLN, env); e != nil && e.GetOutcomes()[0].GetApplied() {
		t.Fatal("an event checked against another head was taken")
	}

	// A head is read with each event: a large one is shared by few events
	// (envelope.MaxEventsSharingHead), or the capture is refused whole.
	env, head = headed("H3")
	big := bytes.Replace(head, []byte(`epcis-context.jsonld"`), []byte(`epcis-context.jsonld",{"ex":"https://example.com/`+strings.Repeat("x", 200_000)+`/"}`), 1)
	many := envelope.MaxEventsSharingHead(len(big)) + 1
	for i := 1; i < many; i++ {
		more, _ := headed("H3-" + strconv.Itoa(i))
		env.GetCapture().Events = append(env.GetCapture().Events, more.GetCapture().GetEvents()[0])
	}
	env.GetCapture().EpcisHead = big
	const want = "capture.events: at most 20 events share an epcis_head of"
	if err := validate(env); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Validate of %d events sharing a head of %d bytes: %v, want %q", many, len(big), err, want)
	}
	if e := w.as(mfrGLN, env); e != nil {
		t.Fatalf("%d events sharing a head of %d bytes were recorded", many, len(big))
	}
	if got := w.lastDeadReason(); !strings.Contains(got, want) {
		t.Errorf("dead-lettered for %q, want %q", got, want)
	}
}
