package simulate

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pedigree-project/pedigree/client"
	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Run plans the market cfg describes, registers its parties, products and
// lots with the node at cfg.Server, plays every phase against it and
// returns what was injected and what the node detected. Progress, when not
// nil, gets one line per phase.
//
// Run returns an error when the node cannot be reached, refuses a request
// as malformed, or does not answer a scan within cfg.StepTimeout; a case
// the node fails to detect, or a false alert, is not an error but shows in
// the Report (see Report.OK).
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if progress == nil {
		progress = io.Discard
	}
	admin, err := client.New(cfg.Server, cfg.Token)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	began := time.Now()
	ns, run, err := freeNamespace(ctx, admin, cfg.Seed)
	if err != nil {
		return nil, err
	}
	p := newPlan(cfg, ns)
	fmt.Fprintf(progress, "simulate: seed %d, run %d on this server: identifiers 952%s…; %d phases planned\n", cfg.Seed, run, ns, len(p.phases))
	parties := p.allParties()
	if cfg.NATSURL != "" {
		for _, pa := range parties {
			if _, pa.key, err = envelope.GenerateKey(); err != nil {
				return nil, err
			}
		}
	}
	defer closeClients(parties)
	if err := p.register(ctx, admin, parties); err != nil {
		return nil, err
	}
	var d driver = apiDriver{}
	if cfg.NATSURL != "" {
		nd, err := newNATSDriver(ctx, cfg.NATSURL, cfg.NodeKeys, parties)
		if err != nil {
			return nil, err
		}
		defer func() { _ = nd.close() }()
		d = nd
	}
	setup := time.Since(began)
	fmt.Fprintf(progress, "simulate: registered %d parties, %d products, %d lots in %.2f s\n",
		len(parties), len(p.products), len(p.batches), setup.Seconds())

	start, events := time.Now(), 0
	for _, ph := range p.phases {
		t, n := time.Now(), 0
		for _, c := range ph.chains {
			n += len(c)
		}
		if err := execute(ctx, cfg, d, ph); err != nil {
			return nil, err
		}
		events += n
		fmt.Fprintf(progress, "simulate: %-46s %6d events in %6.2f s\n", ph.name, n, time.Since(t).Seconds())
	}
	rep := p.report(run, cfg.NATSURL != "")
	rep.Events = events
	rep.Seconds = time.Since(start).Seconds()
	rep.SetupSeconds = setup.Seconds()
	if rep.Seconds > 0 {
		rep.EventsPerSecond = float64(events) / rep.Seconds
	}
	return rep, nil
}

// freeNamespace finds the first run of seed whose identifiers the server
// does not know yet: its first manufacturer is not registered.
func freeNamespace(ctx context.Context, admin *client.Client, seed uint64) (string, int, error) {
	const maxRuns = 1000
	for run := range maxRuns {
		ns := namespace(seed, run)
		_, err := admin.Registry.GetParty(ctx, &pb.GetPartyRequest{Gln: glnOf(ns, roleDigitManufacturer, 1)})
		switch {
		case status.Code(err) == grpccodes.NotFound:
			return ns, run, nil
		case err != nil:
			return "", 0, fmt.Errorf("simulate: look up the market's first party: %w", err)
		}
	}
	return "", 0, fmt.Errorf("simulate: seed %d already ran %d times against this server: choose another seed", seed, maxRuns)
}

// closeClients closes the parties' API clients.
func closeClients(parties []*party) {
	for _, pa := range parties {
		if pa.api != nil {
			_ = pa.api.Close()
		}
	}
}

func (p *plan) allParties() []*party {
	out := make([]*party, 0, len(p.mfrs)+len(p.whss)+len(p.phas))
	out = append(out, p.mfrs...)
	out = append(out, p.whss...)
	return append(out, p.phas...)
}

// register creates the parties (with their public keys in NATS mode), then
// the products and lots, through the Registry API.
func (p *plan) register(ctx context.Context, admin *client.Client, parties []*party) error {
	workers := p.cfg.Concurrency
	err := parallel(ctx, len(parties), workers, func(ctx context.Context, i int) error {
		pa := parties[i]
		in := &pb.Party{Gln: pa.gln, Name: pa.name, Role: pa.role}
		if pa.key != nil {
			in.PublicKeys = [][]byte{pa.key.Public().(ed25519.PublicKey)}
		}
		resp, err := retry(ctx, &pb.CreatePartyRequest{Party: in}, admin.Registry.CreateParty)
		if err != nil {
			return fmt.Errorf("simulate: register party %s: %w", pa.gln, err)
		}
		pa.api, err = client.New(p.cfg.Server, resp.GetToken())
		return err
	})
	if err != nil {
		return err
	}
	err = parallel(ctx, len(p.products), workers, func(ctx context.Context, i int) error {
		pr := p.products[i]
		in := &pb.Product{Gtin: pr.gtin, Name: pr.name, Form: "film-coated tablet", PackSize: 30}
		if _, err := retry(ctx, &pb.CreateProductRequest{Product: in}, pr.mfr.api.Registry.CreateProduct); err != nil {
			return fmt.Errorf("simulate: register product %s: %w", pr.gtin, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return parallel(ctx, len(p.batches), workers, func(ctx context.Context, i int) error {
		b := p.batches[i]
		in := &pb.Batch{Lot: b.lot, Expiry: b.expiry}
		if _, err := retry(ctx, &pb.CreateBatchRequest{Gtin: b.prod.gtin, Batch: in}, b.prod.mfr.api.Registry.CreateBatch); err != nil {
			return fmt.Errorf("simulate: register lot %s of %s: %w", b.lot, b.prod.gtin, err)
		}
		return nil
	})
}

// execute runs a phase's chains, cfg.Concurrency at a time; the steps of a
// chain run in order. The first error stops the phase.
func execute(ctx context.Context, cfg Config, d driver, ph *phase) error {
	return parallel(ctx, len(ph.chains), cfg.Concurrency, func(ctx context.Context, i int) error {
		for _, s := range ph.chains[i] {
			sctx, cancel := context.WithTimeout(ctx, cfg.StepTimeout)
			res, err := d.do(sctx, s)
			cancel()
			if err != nil {
				return fmt.Errorf("simulate: %s: %s: %w", ph.name, s.describe(), err)
			}
			s.res = res
		}
		return nil
	})
}

// parallel calls fn for 0..n-1 from at most workers goroutines and returns
// the first error, after which no new call starts.
func parallel(ctx context.Context, n, workers int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}
