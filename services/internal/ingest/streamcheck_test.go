package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/ledger"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/subjects"
)

// Helpers that play what a power loss or an attacker does to the stream:
// the node is stopped, the stream read, deleted and recreated with other
// content.

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// recreateStream deletes stream name and recreates it (as the node does)
// holding msgs, with their subjects, data and message IDs.
func (w *world) recreateStream(name string, msgs []jetstream.RawStreamMsg) {
	w.t.Helper()
	w.recreateStreamWith(name, natsbus.StreamLimits{}, msgs)
}

// recreateStreamWith is recreateStream with the streams declared with lim.
func (w *world) recreateStreamWith(name string, lim natsbus.StreamLimits, msgs []jetstream.RawStreamMsg) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.js.DeleteStream(ctx, name); err != nil {
		w.t.Fatal(err)
	}
	if err := natsbus.EnsureStreams(ctx, w.js, lim); err != nil {
		w.t.Fatal(err)
	}
	for i, m := range msgs {
		nm := nats.NewMsg(m.Subject)
		nm.Data = m.Data
		for k, v := range m.Header {
			if k == jetstream.MsgIDHeader || strings.HasPrefix(k, "Pedigree-") {
				nm.Header[k] = v
			}
		}
		ack, err := w.js.PublishMsg(ctx, nm)
		if err != nil {
			w.t.Fatal(err)
		}
		if ack.Sequence != uint64(i+1) {
			w.t.Fatalf("recreated message %d landed at %d", i+1, ack.Sequence)
		}
	}
}

// stopNode stops the world's node (its pipeline and its Pebble).
func (w *world) stopNode() {
	w.t.Helper()
	w.n.stop(w.t)
}

// restart starts a node on the stopped node's directory and returns it.
func (w *world) restart() *node {
	w.t.Helper()
	return w.startNode("ledger-a", w.n.dir)
}

// ended waits until n's pipeline stops by itself and returns its error.
func (w *world) ended(n *node) error {
	w.t.Helper()
	select {
	case err := <-n.done:
		n.cancel()
		n.cancel = nil
		if cerr := n.store.Close(); cerr != nil {
			w.t.Error(cerr)
		}
		return err
	case <-time.After(30 * time.Second):
		w.t.Fatal("the pipeline kept running")
		return nil
	}
}

// deadLetter publishes bytes that are no envelope and waits until the
// node has sent them to the dead-letter stream.
func (w *world) deadLetter(gln string, data string) uint64 {
	w.t.Helper()
	return w.publish(subjects.ScanSubject(gln), "", []byte(data))
}

// streamWorld is a ledger with master data, captures and dead letters, the
// last message a dead letter, and its node stopped.
func streamWorld(t *testing.T) (w *world, applied uint64, msgs []jetstream.RawStreamMsg) {
	w = newWorld(t)
	w.market()
	w.deadLetter(pharmGLN, "not an envelope")
	w.commission("S1", "S2", "S3")
	w.step(pharmGLN, pb.BizStep_BIZ_STEP_INSPECTING, pack("S1"))
	applied = w.deadLetter(wsGLN, "not an envelope either")
	w.stopNode()
	msgs = w.streamMessages(subjects.ScanStream)
	if uint64(len(msgs)) != applied {
		t.Fatalf("stream holds %d messages, the ledger applied %d", len(msgs), applied)
	}
	return w, applied, msgs
}

func TestStreamCheckPassesANormalRestart(t *testing.T) {
	w, applied, _ := streamWorld(t)
	w.n = w.restart()
	if got := w.n.p.Applied(); got != applied {
		t.Fatalf("restarted at %d, want %d", got, applied)
	}
	compared, err := checkStream(testCtx(t), w.js, streamLedger{lg: w.n.log, st: w.n.store}, applied)
	if err != nil {
		t.Fatal(err)
	}
	// 1, the anchor, anchor−1, −2, −4, −8 at least; all are recorded.
	if compared < 6 {
		t.Errorf("compared %d messages, want at least 6", compared)
	}
	if o := w.step(pharmGLN, pb.BizStep_BIZ_STEP_DISPENSING, pack("S2")); !o.GetApplied() {
		t.Fatalf("a write after the restart: %s", o.GetReason())
	}
}

func TestStreamCheckRefusesAChangedStream(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *testing.T, w *world, applied uint64, msgs []jetstream.RawStreamMsg)
		behind bool
	}{
		{"junk of the same length", func(t *testing.T, w *world, applied uint64, msgs []jetstream.RawStreamMsg) {
			for i := range msgs {
				msgs[i] = jetstream.RawStreamMsg{Subject: subjects.ScanSubject(pharmGLN), Data: fmt.Appendf(nil, "junk %d", i)}
			}
			w.recreateStream(subjects.ScanStream, msgs)
		}, false},
		{"the same messages but one envelope", func(t *testing.T, w *world, applied uint64, msgs []jetstream.RawStreamMsg) {
			msgs[applied-2].Data = append(bytes.Clone(msgs[applied-2].Data), 0)
			w.recreateStream(subjects.ScanStream, msgs)
		}, false},
		{"another dead letter at the applied sequence", func(t *testing.T, w *world, applied uint64, msgs []jetstream.RawStreamMsg) {
			msgs[applied-1].Data = []byte("another dead letter")
			w.recreateStream(subjects.ScanStream, msgs)
		}, false},
		{"the dead letter on another subject", func(t *testing.T, w *world, applied uint64, msgs []jetstream.RawStreamMsg) {
			msgs[applied-1].Subject = subjects.ScanSubject(pharmGLN)
			w.recreateStream(subjects.ScanStream, msgs)
		}, false},
		{"shorter, with other messages", func(t *testing.T, w *world, applied uint64, msgs []jetstream.RawStreamMsg) {
			w.recreateStream(subjects.ScanStream, []jetstream.RawStreamMsg{{Subject: subjects.ScanSubject(pharmGLN), Data: []byte("junk")}})
		}, true},
		{"empty, starting after the applied sequence", func(t *testing.T, w *world, applied uint64, msgs []jetstream.RawStreamMsg) {
			ctx := testCtx(t)
			if err := w.js.DeleteStream(ctx, subjects.ScanStream); err != nil {
				t.Fatal(err)
			}
			if _, err := w.js.CreateStream(ctx, jetstream.StreamConfig{Name: subjects.ScanStream, Subjects: []string{subjects.ScanSubjects},
				Storage: jetstream.FileStorage, FirstSeq: applied + 1}); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, applied, msgs := streamWorld(t)
			c.change(t, w, applied, msgs)
			err := w.ended(w.restart())
			if !errors.Is(err, ErrStreamDiverged) {
				t.Fatalf("Run: %v, want ErrStreamDiverged", err)
			}
			if errors.Is(err, ErrStreamBehind) != c.behind {
				t.Errorf("Run: %v: ErrStreamBehind is %v, want %v", err, !c.behind, c.behind)
			}
			var se *StreamError
			if !errors.As(err, &se) || se.Diverged == nil || se.Diverged.Seq == 0 || se.Diverged.Seq > applied {
				t.Fatalf("Run: %v, want a *StreamError naming a sequence up to %d", err, applied)
			}
			for _, want := range []string{fmt.Sprintf("sequence %d", se.Diverged.Seq), "pedigree recover"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestStreamCheckRefusesATruncatedStream(t *testing.T) {
	w, applied, msgs := streamWorld(t)
	// What a power loss leaves: the stream's synced head.
	w.recreateStream(subjects.ScanStream, msgs[:applied-3])
	err := w.ended(w.restart())
	if !errors.Is(err, ErrStreamBehind) || errors.Is(err, ErrStreamDiverged) {
		t.Fatalf("Run: %v, want ErrStreamBehind only", err)
	}
	want := fmt.Sprintf("ends at sequence %d and the ledger applied up to %d", applied-3, applied)
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "pedigree recover") {
		t.Errorf("error %q does not say %q and what to run", err, want)
	}
}

// TestStreamCheckStopsWaiters checks that a writer waiting for a sequence
// learns that consumption stopped rather than wait for its deadline.
func TestStreamCheckStopsWaiters(t *testing.T) {
	w, applied, msgs := streamWorld(t)
	w.recreateStream(subjects.ScanStream, msgs[:applied-1])
	n := w.restart()
	err := n.p.WaitApplied(testCtx(t), applied+1)
	if !errors.Is(err, ErrStreamBehind) {
		t.Fatalf("WaitApplied: %v, want ErrStreamBehind", err)
	}
	if err := w.ended(n); !errors.Is(err, ErrStreamBehind) {
		t.Fatalf("Run: %v", err)
	}
}

func TestStreamSamples(t *testing.T) {
	for _, c := range []struct{ first, anchor uint64 }{{1, 1}, {1, 2}, {1, 1000}, {5, 1 << 40}, {0, 3}, {9, 3}} {
		seqs := streamSamples(c.first, c.anchor)
		if seqs[0] != c.anchor || seqs[len(seqs)-1] != 1 {
			t.Errorf("samples(%d, %d) = %v: want the anchor first and 1 last", c.first, c.anchor, seqs)
		}
		for i := 1; i < len(seqs); i++ {
			if seqs[i] >= seqs[i-1] {
				t.Fatalf("samples(%d, %d) = %v: not strictly descending", c.first, c.anchor, seqs)
			}
		}
		for d := uint64(1); d < c.anchor; d *= 2 {
			if !containsSeq(seqs, c.anchor-d) {
				t.Errorf("samples(%d, %d) lacks anchor−%d", c.first, c.anchor, d)
			}
		}
		if c.first >= 1 && c.first <= c.anchor && !containsSeq(seqs, c.first) {
			t.Errorf("samples(%d, %d) lacks the stream's first sequence", c.first, c.anchor)
		}
		if limit := 2 + 64 + sampleRandom + 1; len(seqs) > limit {
			t.Errorf("samples(%d, %d): %d sequences", c.first, c.anchor, len(seqs))
		}
	}
}

func containsSeq(seqs []uint64, s uint64) bool {
	for _, x := range seqs {
		if x == s {
			return true
		}
	}
	return false
}

// TestParseEntryFields checks the partial decoding against the full one,
// and that hostile bytes give an error, not a panic.
func TestParseEntryFields(t *testing.T) {
	w := newWorld(t)
	w.market()
	ctx := testCtx(t)
	err := w.n.log.Entries(ctx, 0, w.n.log.Size(), func(e ledger.Entry) error {
		full := &pb.LedgerEntry{}
		if err := proto.Unmarshal(e.Data, full); err != nil {
			return err
		}
		f, err := parseEntryFields(e.Data)
		if err != nil {
			return fmt.Errorf("entry %d: %w", e.Index, err)
		}
		if f.seq != full.GetStreamSequence() || !bytes.Equal(f.env, full.GetEnvelope()) || f.party != full.GetPartyGln() {
			return fmt.Errorf("entry %d: parsed %d %q, want %d %q", e.Index, f.seq, f.party, full.GetStreamSequence(), full.GetPartyGln())
		}
		for cut := range len(e.Data) {
			_, _ = parseEntryFields(e.Data[:cut])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{{0xff}, {0x12, 0x05, 1}, {0x38}, {}, {0x0b}} {
		if _, err := parseEntryFields(bad); err == nil {
			t.Errorf("parseEntryFields(%x): no error", bad)
		}
	}
}

// openDir opens a stopped node's Pebble and ledger.
func openDir(t *testing.T, dir string) (*state.Store, *ledger.Log) {
	t.Helper()
	opts := ledger.PebbleOptions()
	opts.Logger = quietPebble{}
	store, err := state.Open(filepath.Join(dir, "pebble"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	l, err := ledger.Open(store.DB(), ledger.Options{Origin: "test/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	return store, l
}

// TestStreamCheckAcceptsRetentionAndRefusesALedgerBehindIt: a stream
// created for retention (natsbus.StreamLimits.AllowPurge) whose head was
// purged up to what the ledger applied passes the check (the purged
// sequences are not compared); a ledger that needs a purged message is
// too far behind.
func TestStreamCheckAcceptsRetentionAndRefusesALedgerBehindIt(t *testing.T) {
	w, applied, msgs := streamWorld(t)
	w.recreateStreamWith(subjects.ScanStream, natsbus.StreamLimits{AllowPurge: true}, msgs)
	w.n = w.restart()
	ctx := testCtx(t)
	st, err := w.js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSequence(applied)); err != nil {
		t.Fatal(err)
	}
	sl := streamLedger{lg: w.n.log, st: w.n.store}
	compared, err := checkStream(ctx, w.js, sl, applied)
	if err != nil || compared != 1 {
		t.Fatalf("a stream purged below the applied sequence %d: compared %d, %v; want the one message kept compared", applied, compared, err)
	}
	_, err = checkStream(ctx, w.js, sl, applied-2)
	var se *StreamError
	if !errors.Is(err, ErrTooFarBehind) || errors.Is(err, ErrStreamDiverged) || !errors.As(err, &se) || se.First != applied {
		t.Fatalf("a ledger at %d, the stream starting at %d: %v, want ErrTooFarBehind", applied-2, applied, err)
	}
	want := fmt.Sprintf("too far behind: the stream %s starts at %d, this node applied %d", subjects.ScanStream, applied, applied-2)
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "pedigree restore") {
		t.Fatalf("error %q, want %q and what to do", err, want)
	}
}
