package epcisapi

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/epcis"
	"github.com/pedigree-project/pedigree/ledger"
	ledgerentry "github.com/pedigree-project/pedigree/ledger/entry"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// Shape of the benchmark ledger: benchPacks packs, each named by
// benchSteps events (commissioning, shipping, receiving, dispensing), the
// packs' events interleaved as a market's are; every other event is
// captured as EPCIS (its JSON-LD on the ledger), the others native.
const (
	benchPacks = 1 << 18
	benchSteps = 4
	benchGTIN  = "09506000134352"
	benchParty = "4000001000005"
)

var benchStepNames = [benchSteps]pb.BizStep{pb.BizStep_BIZ_STEP_COMMISSIONING, pb.BizStep_BIZ_STEP_SHIPPING,
	pb.BizStep_BIZ_STEP_RECEIVING, pb.BizStep_BIZ_STEP_DISPENSING}

// noCommits is the Commits of a ledger nothing appends to while the
// benchmark runs (only streams wait on it).
type noCommits struct{}

func (noCommits) Applied() uint64 { return 0 }
func (noCommits) WaitApplied(ctx context.Context, _ uint64) error {
	<-ctx.Done()
	return ctx.Err()
}

func benchSerial(p int) string { return fmt.Sprintf("SN%08d", p) }

// benchScanEvent is event k (step k%benchSteps of pack k/benchSteps).
func benchScanEvent(k int, at time.Time) *pb.ScanEvent {
	return &pb.ScanEvent{
		EventId: fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", k), Type: pb.EventType_EVENT_TYPE_OBJECT,
		Action: pb.Action_ACTION_OBSERVE, BizStep: benchStepNames[k%benchSteps], EventTime: timestamppb.New(at),
		Epcs: []*pb.Epc{{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: benchGTIN, Serial: benchSerial(k / benchSteps)}}}},
	}
}

// buildBenchLedger writes a ledger of packs*benchSteps entries, one
// event each, with the indexes ingest writes for them (the pack log and
// the EPCIS event index), straight into the store: the ledger entries are
// encoded as ingest encodes them, their envelopes are not signed (the
// query does not check signatures).
func buildBenchLedger(b testing.TB, store *state.Store, log *ledger.Log, packs int) {
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	chunk := min(1<<15, packs)
	entries := make([][]byte, 0, chunk)
	batch := store.DB().NewBatch()
	total := packs * benchSteps
	for i := range total {
		// Pack p's step s is entry s*benchPacks/… interleaved: packs in
		// order within a step, steps one after the other by blocks.
		block := i / (chunk * benchSteps)
		r := i % (chunk * benchSteps)
		p, s := block*chunk+r%chunk, r/chunk
		k := p*benchSteps + s
		at := start.Add(time.Duration(i) * time.Second)
		se := benchScanEvent(k, at)
		if i%2 == 0 {
			ev, err := envelope.EPCIS(se, benchParty)
			if err != nil {
				b.Fatal(err)
			}
			if se.Epcis, err = envelope.EncodeCaptured(ev, nil); err != nil {
				b.Fatal(err)
			}
		}
		env, err := proto.Marshal(&pb.Envelope{PartyGln: benchParty, Body: &pb.Envelope_Capture{Capture: &pb.Capture{Events: []*pb.ScanEvent{se}}}})
		if err != nil {
			b.Fatal(err)
		}
		signed, err := proto.Marshal(&pb.SignedEnvelope{Envelope: env, Signature: make([]byte, 64)})
		if err != nil {
			b.Fatal(err)
		}
		data, err := ledgerentry.Append(nil, &pb.LedgerEntry{Index: uint64(i), PartyGln: benchParty, RecordTime: timestamppb.New(at),
			EventIds: []string{se.GetEventId()}, Outcomes: []*pb.Outcome{{Applied: true}}, Envelope: signed})
		if err != nil {
			b.Fatal(err)
		}
		entries = append(entries, data)
		if err := state.PutPackLog(batch, benchGTIN, benchSerial(p), uint64(i)); err != nil {
			b.Fatal(err)
		}
		if err := state.PutEPCISEvent(batch, uint64(i), se.GetEventId(), nil); err != nil {
			b.Fatal(err)
		}
		if len(entries) == chunk || i == total-1 {
			if _, err := log.Append(ctx, entries); err != nil {
				b.Fatal(err)
			}
			if err := batch.Commit(nil); err != nil {
				b.Fatal(err)
			}
			batch = store.DB().NewBatch()
			entries = entries[:0]
		}
	}
	_ = batch.Close()
	if err := store.DB().Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkQueryByEPC measures GET /epcis/events?MATCH_epc=<pack> through
// the query handler (parameters, the pack log, the ledger entries, their
// events decoded and filtered, the EPCISQueryDocument encoded) on a ledger
// of 1,048,576 events, for packs drawn at random; it reports p50 and p99.
// Beside it, a bare Pebble point read of a random ledger entry of the
// same store. BENCHMARKS.md (EPCIS query) gives the command.
func BenchmarkQueryByEPC(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a ledger of a million events")
	}
	dir := b.TempDir()
	store, err := state.Open(dir, ledger.PebbleOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	log, err := ledger.Open(store.DB(), ledger.Options{Origin: "bench.example/ledger"})
	if err != nil {
		b.Fatal(err)
	}
	built := time.Now()
	buildBenchLedger(b, store, log, benchPacks)
	b.Logf("ledger of %d events built in %v", log.Size(), time.Since(built).Round(time.Second))
	authn, err := auth.NewAuthenticator(store)
	if err != nil {
		b.Fatal(err)
	}
	q, err := NewQuery(QueryConfig{Store: store, Ledger: log, Authenticator: authn, Commits: noCommits{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{Party: &pb.Party{Gln: benchParty, Role: pb.Role_ROLE_MANUFACTURER}})
	rng := rand.New(rand.NewPCG(1, 2))

	b.Run("MATCH_epc", func(b *testing.B) {
		var lat []time.Duration
		b.ReportAllocs()
		for b.Loop() {
			p := rng.IntN(benchPacks)
			u := "/epcis/events?MATCH_epc=" + url.QueryEscape("https://id.gs1.org/01/"+benchGTIN+"/21/"+benchSerial(p))
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			w := httptest.NewRecorder()
			t0 := time.Now()
			q.ServeHTTP(w, r)
			lat = append(lat, time.Since(t0))
			if w.Code != http.StatusOK {
				b.Fatalf("%s: %d %s", u, w.Code, w.Body)
			}
			if n := bytes.Count(w.Body.Bytes(), []byte(`"type": "ObjectEvent"`)); n != benchSteps {
				b.Fatalf("%s: %d events, want %d", u, n, benchSteps)
			}
		}
		reportPercentiles(b, lat)
	})
	b.Run("pebble-point-read", func(b *testing.B) {
		var lat []time.Duration
		size := log.Size()
		for b.Loop() {
			i := rng.Uint64N(size)
			t0 := time.Now()
			if _, err := log.Entry(context.Background(), i); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		reportPercentiles(b, lat)
	})
	// The events come back as captured.
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/epcis/events?MATCH_epc="+url.QueryEscape("https://id.gs1.org/01/"+benchGTIN+"/21/"+benchSerial(7)), nil)
	w := httptest.NewRecorder()
	q.ServeHTTP(w, r)
	doc, err := epcis.Decode(w.Body.Bytes())
	if err != nil || len(doc.Events) != benchSteps {
		b.Fatalf("%v %s", err, w.Body)
	}
}

// reportPercentiles reports the p50 and p99 of lat in µs.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1e3 }
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}
