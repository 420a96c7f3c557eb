package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"runtime/trace"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Idle floor probe: the bare gRPC call, open loop, on the idle node.
const (
	floorProbeRate = 2000
	floorProbeTime = 5 * time.Second
)

// FloorProbe is the bare gRPC call on the idle node, with the state of
// the process at the time: what the soak compares before and after the
// bulk ingest that fills the node.
type FloorProbe struct {
	Latency
	HeapLiveBytes int64 `json:"heap_live_bytes"`
	HeapGoalBytes int64 `json:"heap_goal_bytes"`
	Goroutines    int   `json:"goroutines"`
	GCCycles      int64 `json:"gc_cycles_during"`
	// Profile and Trace are the CPU profile and the runtime trace taken
	// meanwhile, when asked for.
	Profile string `json:"cpu_profile,omitempty"`
	Trace   string `json:"trace,omitempty"`
}

// probeFloor measures the bare call at floorProbeRate for floorProbeTime
// and, with dir set, writes a CPU profile and a runtime trace of it named
// after name.
func (s *scaleRun) probeFloor(ctx context.Context, name, dir string) (FloorProbe, error) {
	var p FloorProbe
	ms := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/heap/goal:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(ms)
	cycles := ms[2].Value.Uint64()
	stop := func() {}
	if dir != "" {
		p.Profile, p.Trace = filepath.Join(dir, "cpu-"+name+".pprof"), filepath.Join(dir, "trace-"+name+".out")
		cf, err := os.Create(p.Profile)
		if err != nil {
			return p, fmt.Errorf("bench: profile: %w", err)
		}
		tf, err := os.Create(p.Trace)
		if err != nil {
			cf.Close()
			return p, fmt.Errorf("bench: trace: %w", err)
		}
		if err := pprof.StartCPUProfile(cf); err != nil {
			cf.Close()
			tf.Close()
			return p, fmt.Errorf("bench: profile: %w", err)
		}
		if err := trace.Start(tf); err != nil {
			pprof.StopCPUProfile()
			cf.Close()
			tf.Close()
			return p, fmt.Errorf("bench: trace: %w", err)
		}
		stop = func() {
			trace.Stop()
			pprof.StopCPUProfile()
			tf.Close()
			cf.Close()
		}
	}
	l, err := openLoop(ctx, floorProbeRate, floorProbeTime, verifyGrace, verifyWorkers, func(ctx context.Context, i int) error {
		_, err := healthpb.NewHealthClient(s.conns[i%len(s.conns)]).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	})
	stop()
	if err != nil {
		return p, fmt.Errorf("bench: bare gRPC probe: %w", err)
	}
	metrics.Read(ms)
	p.Latency = l
	p.HeapLiveBytes, p.HeapGoalBytes = int64(ms[0].Value.Uint64()), int64(ms[1].Value.Uint64())
	p.GCCycles = int64(ms[2].Value.Uint64() - cycles)
	p.Goroutines = runtime.NumGoroutine()
	return p, nil
}
