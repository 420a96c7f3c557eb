package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Latency summarises the latencies of one kind of request, in
// microseconds.
type Latency struct {
	// Count is the number of requests that succeeded.
	Count int `json:"count"`
	// Errors is the number that failed (not in the percentiles).
	Errors int `json:"errors"`
	// Unanswered counts, in an open-loop run, the scheduled requests still
	// unsent a grace period after the schedule ended: they are not sent,
	// and the time they had waited by then, a lower bound of their
	// latency, is in the percentiles.
	Unanswered int `json:"unanswered,omitempty"`
	// Seconds is the wall time the requests were sent over.
	Seconds float64 `json:"seconds"`
	// Rate is Count/Seconds.
	Rate float64 `json:"requests_per_s"`
	// Percentiles (nearest rank) and extremes, µs.
	P50  float64 `json:"p50_us"`
	P99  float64 `json:"p99_us"`
	P999 float64 `json:"p999_us"`
	Mean float64 `json:"mean_us"`
	Max  float64 `json:"max_us"`
}

// summarize sorts d and returns its summary.
func summarize(d []time.Duration, errs int, wall time.Duration) Latency {
	l := Latency{Count: len(d), Errors: errs, Seconds: wall.Seconds()}
	if wall > 0 {
		l.Rate = float64(len(d)) / wall.Seconds()
	}
	if len(d) == 0 {
		return l
	}
	slices.Sort(d)
	rank := func(q float64) float64 {
		i := int(q*float64(len(d))+0.999999) - 1
		return us(d[min(max(i, 0), len(d)-1)])
	}
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	l.P50, l.P99, l.P999 = rank(0.50), rank(0.99), rank(0.999)
	l.Mean = us(sum / time.Duration(len(d)))
	l.Max = us(d[len(d)-1])
	return l
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// call is one request; i numbers the requests of a run from 0.
type call func(ctx context.Context, i int) error

// maxErrorsShown bounds the errors a run keeps for its report.
const maxErrorsShown = 3

// recorder collects the latencies of one worker.
type recorder struct {
	lat        []time.Duration
	errs       int
	unanswered int
	msgs       []string
}

func (r *recorder) add(start time.Time, err error) {
	if err != nil {
		r.errs++
		if len(r.msgs) < maxErrorsShown {
			r.msgs = append(r.msgs, err.Error())
		}
		return
	}
	r.lat = append(r.lat, time.Since(start))
}

func merge(rs []*recorder, wall time.Duration) (Latency, error) {
	var all []time.Duration
	var errs, unanswered int
	var msgs []string
	for _, r := range rs {
		all = append(all, r.lat...)
		errs += r.errs
		unanswered += r.unanswered
		msgs = append(msgs, r.msgs...)
	}
	l := summarize(all, errs, wall)
	l.Count -= unanswered
	l.Unanswered = unanswered
	if errs > 0 && len(all) == 0 {
		return l, fmt.Errorf("every request failed, e.g.: %s", msgs[0])
	}
	if errs > 0 && errs*100 > len(all) {
		return l, fmt.Errorf("%d of %d requests failed, e.g.: %s", errs, errs+len(all), msgs[0])
	}
	return l, nil
}

// closedLoop runs workers that each send one request after another for
// dur, and returns the latency of each request. More than 1% failed
// requests is an error.
func closedLoop(ctx context.Context, dur time.Duration, workers int, fn call) (Latency, error) {
	deadline := time.Now().Add(dur)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var next atomic.Int64
	rs := make([]*recorder, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		rs[w] = &recorder{}
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				t := time.Now()
				err := fn(ctx, i)
				if ctx.Err() != nil || !time.Now().Before(deadline) {
					return // cut short by the end of the phase: not a sample
				}
				rs[w].add(t, err)
			}
		})
	}
	wg.Wait()
	return merge(rs, time.Since(start))
}

// openLoopCallTimeout is how long after the grace period an open-loop
// run waits for requests still in flight before it cancels them (they
// count as failed).
const openLoopCallTimeout = 10 * time.Second

// openLoop sends requests on a fixed schedule, rate per second for dur,
// whatever the answers, through workers goroutines. The latency of a
// request runs from the time it was scheduled to be sent, not from the
// time a worker got round to sending it, so that a server that stalls is
// charged for the requests that queued behind the stall (no coordinated
// omission). A server that cannot keep up leaves a queue behind: what is
// still unsent grace after the schedule ends is not sent but counted as
// unanswered, with the time it had waited as its latency, so that the phase
// ends on time; what is still in flight openLoopCallTimeout after that is
// cancelled. More than 1% failed requests is an error.
//
// The generator is cheap per request, since it shares the CPUs with the
// server it measures: each worker passes fn a context of its own, without
// a deadline (a per-request deadline costs a timer on both ends and
// contends on a shared parent context), cancelled only to end the run.
func openLoop(ctx context.Context, rate int, dur, grace time.Duration, workers int, fn call) (Latency, error) {
	total := max(1, int(math.Round(float64(rate)*dur.Seconds())))
	interval := time.Second / time.Duration(rate)
	due := make(chan time.Time, total)
	rs := make([]*recorder, workers)
	var wg sync.WaitGroup
	var next atomic.Int64
	var cutoff atomic.Int64 // UnixNano after which due requests are not sent; 0 while scheduling
	calls, cancelCalls := context.WithCancel(ctx)
	defer cancelCalls()
	for w := range workers {
		rs[w] = &recorder{lat: make([]time.Duration, 0, total/workers+1)}
		wctx, cancel := context.WithCancel(calls)
		wg.Go(func() {
			defer cancel()
			for at := range due {
				if c := cutoff.Load(); c != 0 && time.Now().UnixNano() > c {
					rs[w].lat = append(rs[w].lat, time.Since(at))
					rs[w].unanswered++
					continue
				}
				i := int(next.Add(1) - 1)
				rs[w].add(at, fn(wctx, i))
			}
		})
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	start := time.Now().Add(time.Millisecond)
	for i := range total {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		due <- at
	}
	cutoff.Store(time.Now().Add(grace).UnixNano())
	close(due)
	stuck := time.AfterFunc(grace+openLoopCallTimeout, cancelCalls)
	wg.Wait()
	stuck.Stop()
	l, err := merge(rs, time.Since(start))
	// The rate answered, per second of the schedule: exactly rate when
	// every request was answered, however late.
	l.Seconds = float64(total) / float64(rate)
	l.Rate = float64(l.Count) / l.Seconds
	return l, err
}
