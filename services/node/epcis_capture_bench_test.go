package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"google.golang.org/grpc/metadata"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/epcis"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/epcisapi"
	"github.com/pedigree-project/pedigree/services/internal/writer"
)

// benchEvents is the size of the benchmark's capture document.
const benchEvents = 10_000

// BenchmarkEPCISCapture measures, on one node, the capture of a
// 10,000-event document (commissioning events, each of a new pack) end to
// end: POST /epcis/capture as JSON-LD and as XML, then GET of the job
// every 5 ms until it has finished, its view read with its receipt
// (checkpoint and inclusion proofs; the client decodes and checks it
// outside the timed part); beside the native capture of the same events in 100-event
// captures through the API's write path (publish, wait until the ledger
// applied them, read each capture's outcomes). The per-event variant
// publishes one envelope per event.
//
//	go test ./services/node/ -run '^$' -bench BenchmarkEPCISCapture -benchtime 3x
func BenchmarkEPCISCapture(b *testing.B) {
	// Each variant runs on a node of its own, started empty, so that none
	// runs on the data another left: a node's compactions follow its size.
	node := func(b *testing.B, chunk int) *benchFixture {
		cfg := testConfig(b.TempDir())
		cfg.EPCISCapture = epcisapi.Limits{MaxEvents: benchEvents, MaxBytes: 64 << 20}
		cfg.EPCISChunkSize = chunk
		return newBenchFixture(b, cfg)
	}
	run := 0
	fresh := func() []byte {
		run++
		return commissionDoc(serials(fmt.Sprintf("B%d", run), benchEvents), -1)
	}
	b.Run("native-100", func(b *testing.B) {
		f := node(b, 0)
		var cpu time.Duration
		for b.Loop() {
			b.StopTimer()
			evs := f.native(b, fresh())
			b.StartTimer()
			c := cpuTime(b)
			f.captureNative(b, evs)
			cpu += cpuTime(b) - c
		}
		reportRates(b, cpu)
	})
	for _, tc := range []struct {
		name, ctype string
		xml         bool
	}{{"epcis-json", "application/ld+json", false}, {"epcis-xml", "application/xml", true}} {
		b.Run(tc.name, func(b *testing.B) {
			f := node(b, 0)
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				doc := fresh()
				if tc.xml {
					doc = toXML(b, doc)
				}
				b.StartTimer()
				c := cpuTime(b)
				view := f.captureEPCIS(b, f.n, tc.ctype, doc)
				cpu += cpuTime(b) - c
				b.StopTimer()
				checkReceipt(b, view)
				b.StartTimer()
			}
			reportRates(b, cpu)
		})
	}
	b.Run("epcis-json-per-event", func(b *testing.B) {
		g := node(b, 1)
		var cpu time.Duration
		for b.Loop() {
			b.StopTimer()
			doc := fresh()
			b.StartTimer()
			c := cpuTime(b)
			view := g.captureEPCIS(b, g.n, "application/ld+json", doc)
			cpu += cpuTime(b) - c
			b.StopTimer()
			checkReceipt(b, view)
			b.StartTimer()
		}
		reportRates(b, cpu)
	})
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRates reports events per second of wall time and per second of
// CPU time of the whole node (the figure that holds on a shared machine).
func reportRates(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(benchEvents*b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(benchEvents*b.N)/cpu.Seconds(), "events/cpu-s")
}

// benchFixture is a node with a manufacturer that registered apiGTIN
// and its lot L1, and a writer for native captures.
type benchFixture struct {
	n     *Node
	token string
	w     *writer.Writer
}

func newBenchFixture(b *testing.B, cfg Config) *benchFixture {
	b.Helper()
	n := startNode(b, cfg)
	b.Cleanup(func() { shutdown(b, n) })
	a := &api{t: b, n: n}
	f := &benchFixture{n: n, token: a.party(apiMfr, pb.Role_ROLE_MANUFACTURER)}
	ctx := context.Background()
	if err := a.as(f.token).Post(ctx, "/v1/products", &pb.Product{Gtin: apiGTIN, Name: "Paracetamol"}, nil); err != nil {
		b.Fatal(err)
	}
	if err := a.as(f.token).Post(ctx, "/v1/products/"+apiGTIN+"/batches", &pb.Batch{Lot: "L1", Expiry: "281200"}, nil); err != nil {
		b.Fatal(err)
	}
	var err error
	if f.w, err = writer.New(n.store, n.submitter, n.logger); err != nil {
		b.Fatal(err)
	}
	return f
}

// native projects a document's events as a native client sends them:
// scan events without the captured EPCIS bytes.
func (f *benchFixture) native(b *testing.B, doc []byte) []*pb.ScanEvent {
	d, err := epcis.Decode(doc)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]*pb.ScanEvent, len(d.Events))
	for i := range d.Events {
		if out[i], err = envelope.FromEPCIS(&d.Events[i], apiMfr); err != nil {
			b.Fatal(err)
		}
	}
	return out
}

// captureNative captures evs in 100-event captures through the API's write
// path and reads each capture's outcomes.
func (f *benchFixture) captureNative(b *testing.B, evs []*pb.ScanEvent) {
	ctx := context.Background()
	p, err := f.n.authn.Authenticate(metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+f.token)))
	if err != nil {
		b.Fatal(err)
	}
	var msgs []string
	var last uint64
	for from := 0; from < len(evs); from += 100 {
		env := writer.Envelope(p)
		env.Body = &pb.Envelope_Capture{Capture: &pb.Capture{Events: evs[from:min(from+100, len(evs))]}}
		res, err := f.w.Publish(ctx, env)
		if err != nil {
			b.Fatal(err)
		}
		msgs, last = append(msgs, res.MsgID), res.Sequence
	}
	if err := f.w.Durable(ctx, last); err != nil {
		b.Fatal(err)
	}
	for _, m := range msgs {
		e, ok, err := f.n.lookupEntry(ctx, m)
		if err != nil || !ok {
			b.Fatalf("capture %s: %v %v", m, ok, err)
		}
		for _, o := range e.GetOutcomes() {
			if !o.GetApplied() {
				b.Fatalf("native capture refused: %s", o.GetReason())
			}
		}
	}
}

// captureEPCIS captures doc and waits for the job's receipt, and returns
// the job's view as read last: the node's work ends when the client has
// it; the caller checks it (checkReceipt) outside the timed part, since
// decoding a receipt of 10,000 events is the client's work.
func (f *benchFixture) captureEPCIS(b *testing.B, n *Node, ctype string, doc []byte) []byte {
	resp, body := epcisDo(b, n, http.MethodPost, "/epcis/capture", f.token, ctype, doc, nil)
	if resp.StatusCode != http.StatusAccepted {
		b.Fatalf("capture: HTTP %d %s", resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, body := epcisDo(b, n, http.MethodGet, loc, f.token, "", nil, nil)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: HTTP %d %s", loc, resp.StatusCode, body)
		}
		if !jobRunning(b, body) {
			return body
		}
		if time.Now().After(deadline) {
			b.Fatalf("job %s still running", loc)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
}

// jobRunning reads the "running" member of a job's view, and none of the
// members after it (the receipt).
func jobRunning(b *testing.B, view []byte) bool {
	dec := jsontext.NewDecoder(bytes.NewReader(view))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		b.Fatalf("job view: %v %s", err, view)
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			b.Fatalf("job view: %v", err)
		}
		if name.String() == "running" {
			v, err := dec.ReadToken()
			if err != nil {
				b.Fatalf("job view: running: %v", err)
			}
			return v.Kind() == 't'
		}
		if err := dec.SkipValue(); err != nil {
			b.Fatalf("job view: %v", err)
		}
	}
	b.Fatalf("job view without running: %s", view)
	return false
}

// checkReceipt fails b unless the job's view says it succeeded, with a
// receipt of every event.
func checkReceipt(b *testing.B, view []byte) {
	var v epcisapi.JobView
	if err := json.Unmarshal(view, &v); err != nil {
		b.Fatal(err)
	}
	if !v.Success || v.Receipt == nil || len(v.Receipt.Events) != benchEvents || len(v.Receipt.Entries) == 0 {
		s, _ := json.Marshal(v.Errors)
		b.Fatalf("capture: success %v, errors %s", v.Success, s)
	}
}
