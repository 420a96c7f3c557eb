package ingest

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
	"github.com/pedigree-project/pedigree/subjects"
)

// benchWorld is a world with n commissioned packs B000000… .
func benchWorld(b *testing.B, n int) *world { return benchWorldWith(b, n, natsbus.EmbeddedConfig{}) }

// benchWorldWith is benchWorld with the NATS server configured by cfg.
func benchWorldWith(b *testing.B, n int, cfg natsbus.EmbeddedConfig) *world {
	w := newWorldWith(b, cfg)
	w.market()
	for i := 0; i < n; i += MaxEpcsPerEvent {
		var epcs []*pb.Epc
		for j := i; j < min(i+MaxEpcsPerEvent, n); j++ {
			epcs = append(epcs, pack(fmt.Sprintf("B%07d", j)))
		}
		ev := w.event(pb.BizStep_BIZ_STEP_COMMISSIONING, pb.Action_ACTION_ADD, epcs...)
		ev.Ilmd = &pb.Ilmd{Lot: lotA, Expiry: expA}
		w.mustApply(mfrGLN, capture(ev))
	}
	return w
}

// dispenses returns n signed envelopes, each dispensing perEnvelope packs
// at one of two pharmacies: the commissioned packs B0000000… in
// commissioning order, or, with shuffled, in a random order (fixed seed)
// as real traffic names them.
func (w *world) dispenses(n, perEnvelope int, shuffled bool) (wires [][]byte, ids []string, subs []string) {
	order := make([]int, n*perEnvelope)
	for i := range order {
		order[i] = i
	}
	if shuffled {
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	for i := range n {
		who := []string{pharmGLN, pharm2}[i%2]
		var evs []*pb.ScanEvent
		for j := range perEnvelope {
			ev := w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, pack(fmt.Sprintf("B%07d", order[i*perEnvelope+j])))
			ev.EventId = fmt.Sprintf("urn:uuid:bench-%d-%d", i, j)
			evs = append(evs, ev)
		}
		env := capture(evs...)
		env.PartyGln = who
		wire, err := envelope.Seal(env, who, w.keys[who])
		if err != nil {
			w.t.Fatal(err)
		}
		body, _ := envelope.Marshal(env)
		wires = append(wires, wire)
		ids = append(ids, envelope.MsgID(env, body))
		subs = append(subs, subjects.ScanSubject(who))
	}
	return wires, ids, subs
}

// BenchmarkRulesAndAppend measures the rules-and-append path alone:
// decoded, authenticated single-pack dispense events in, committed Pebble
// batches of 1,000 out (ledger entries, pack state, indexes, dedupe keys,
// one Sync per batch), the packs named in commissioning order or in a
// random order. Run with -benchtime=200000x.
func BenchmarkRulesAndAppend(b *testing.B) {
	for _, order := range []string{"commissioning", "random"} {
		b.Run("order="+order, func(b *testing.B) { rulesAndAppend(b, order == "random") })
	}
}

func rulesAndAppend(b *testing.B, shuffled bool) {
	w := benchWorld(b, b.N)
	w.n.cancel()
	if err := <-w.n.done; err != nil {
		b.Fatal(err)
	}
	w.n.cancel = nil
	b.Cleanup(func() { _ = w.n.store.Close() })
	wires, _, subs := w.dispenses(b.N, 1, shuffled)
	p := w.n.p
	seq := p.Applied()
	items := make([]item, len(wires))
	for i, wire := range wires {
		op, err := envelope.Open(wire)
		if err != nil {
			b.Fatal(err)
		}
		pub := w.keys[subs[i][len(subjects.ScanSubjectPrefix):]].Public().(ed25519.PublicKey)
		seq++
		items[i] = item{subject: subs[i], data: wire, seq: seq, record: w.clock, op: op, early: &sigCheck{pub: pub, ok: true}}
	}
	ctx := context.Background()
	defer profileTimed(b)()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	wr := &writer{p: p}
	for i := 0; i < len(items); i += DefaultBatchSize {
		batch := items[i:min(i+DefaultBatchSize, len(items))]
		work, err := wr.submit(ctx, batch, nil)
		if err != nil {
			b.Fatal(err)
		}
		if work.events != len(batch) {
			b.Fatalf("batch recorded %d events, want %d", work.events, len(batch))
		}
	}
	if err := wr.wait(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "events/cpu-s")
}

// BenchmarkEndToEnd publishes signed single-pack dispense events to the
// embedded JetStream and waits until the ledger has committed them all
// (authentication, rules, append, ack). It first measures the raw
// JetStream publish rate of the same messages into a stream nobody
// consumes. Sub-benchmarks: one event per envelope, and captures of 100
// events under one signature; each with JetStream's default sync (every
// 2 minutes) and with every write synced. Run with -benchtime=50000x
// (one per envelope) and 500000x (100 per envelope).
func BenchmarkEndToEnd(b *testing.B) {
	for _, sync := range []string{"default", "always"} {
		for _, per := range []int{1, 100} {
			b.Run(fmt.Sprintf("sync=%s/events_per_envelope=%d", sync, per), func(b *testing.B) {
				endToEnd(b, per, natsbus.EmbeddedConfig{SyncAlways: sync == "always"})
			})
		}
	}
}

func endToEnd(b *testing.B, per int, cfg natsbus.EmbeddedConfig) {
	envelopes := max(1, b.N/per)
	w := benchWorldWith(b, envelopes*per, cfg)
	wires, ids, subs := w.dispenses(envelopes, per, true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := w.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "RAW", Subjects: []string{"raw.>"},
		Storage: jetstream.FileStorage, Duplicates: subjects.DefaultDuplicateWindow}); err != nil {
		b.Fatal(err)
	}
	rawStart := time.Now()
	publishAll(ctx, b, w.js, wires, ids, func(i int) string { return "raw." + subs[i][len(subjects.ScanSubjectPrefix):] })
	raw := float64(len(wires)*per) / time.Since(rawStart).Seconds()

	stopProfile := profileTimed(b)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	last := publishAll(ctx, b, w.js, wires, ids, func(i int) string { return subs[i] })
	if err := w.n.p.WaitApplied(ctx, last); err != nil {
		b.Fatal(err)
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	stopProfile()
	if e := w.entryOf(w.n, ids[len(ids)-1]); e == nil || !e.GetOutcomes()[0].GetApplied() {
		b.Fatalf("last envelope not applied: %v", e)
	}
	e2e := float64(len(wires)*per) / elapsed.Seconds()
	b.ReportMetric(raw, "raw-publish-events/s")
	b.ReportMetric(e2e, "end-to-end-events/s")
	b.ReportMetric(e2e/raw, "ratio")
	b.ReportMetric(float64(len(wires)*per)/cpu.Seconds(), "events/cpu-s")
}

// publishAll publishes asynchronously with bounded pending acks and
// returns the last stream sequence.
func publishAll(ctx context.Context, b *testing.B, js jetstream.JetStream, wires [][]byte, ids []string, subject func(int) string) uint64 {
	b.Helper()
	futures := make([]jetstream.PubAckFuture, 0, len(wires))
	for i, wire := range wires {
		m := nats.NewMsg(subject(i))
		m.Data = wire
		m.Header.Set(jetstream.MsgIDHeader, ids[i])
		f, err := js.PublishMsgAsync(m, jetstream.WithStallWait(time.Minute))
		if err != nil {
			b.Fatal(err)
		}
		futures = append(futures, f)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		b.Fatal("async publish did not complete")
	}
	var last uint64
	for _, f := range futures {
		select {
		case ack := <-f.Ok():
			last = max(last, ack.Sequence)
		case err := <-f.Err():
			b.Fatalf("publish: %v", err)
		}
	}
	return last
}

// cpuTime returns the CPU time (user and system) the process has used:
// events per CPU second is steadier than events per second on a shared
// machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// profileTimed starts the profiles the environment asks for, of the timed
// part alone (-cpuprofile and -memprofile would include the setup), and
// returns the function that stops them:
//
//	PEDIGREE_BENCH_CPUPROFILE=f  CPU profile into f
//	PEDIGREE_BENCH_MEMPROFILE=f  allocations: pprof -diff_base f.base f
func profileTimed(b *testing.B) (stop func()) {
	var stops []func()
	if f := os.Getenv("PEDIGREE_BENCH_CPUPROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			b.Fatal(err)
		}
		stops = append(stops, pprof.StopCPUProfile)
	}
	if f := os.Getenv("PEDIGREE_BENCH_MEMPROFILE"); f != "" {
		writeHeapProfile(b, f+".base")
		stops = append(stops, func() { writeHeapProfile(b, f) })
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

func writeHeapProfile(b *testing.B, name string) {
	runtime.GC() // the profile is as of the last collection
	out, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	if err := pprof.Lookup("allocs").WriteTo(out, 0); err != nil {
		b.Fatal(err)
	}
}
