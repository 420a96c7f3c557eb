package bench

import (
	"bufio"
	"context"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Machine describes where a run took place.
type Machine struct {
	// NumCPU is runtime.NumCPU.
	NumCPU int `json:"num_cpu"`
	// GOMAXPROCS is runtime.GOMAXPROCS(0) during the run.
	GOMAXPROCS int `json:"gomaxprocs"`
	// GoVersion is runtime.Version.
	GoVersion string `json:"go_version"`
	// OS and Arch are runtime.GOOS and runtime.GOARCH.
	OS   string `json:"os"`
	Arch string `json:"arch"`
	// LoadStart and LoadEnd are the 1, 5 and 15 minute load averages at
	// the start and at the end (zero where /proc/loadavg is missing).
	LoadStart [3]float64 `json:"load_avg_start"`
	LoadEnd   [3]float64 `json:"load_avg_end"`
}

func machineNow() Machine {
	return Machine{NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		OS: runtime.GOOS, Arch: runtime.GOARCH, LoadStart: loadAvg()}
}

// loadAvg reads /proc/loadavg; zeros where it is missing.
func loadAvg() [3]float64 {
	var out [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return out
	}
	for i, f := range strings.Fields(string(b)) {
		if i == 3 {
			break
		}
		out[i], _ = strconv.ParseFloat(f, 64)
	}
	return out
}

// peakRSS returns the process's peak resident set size (VmHWM) in bytes,
// or 0 where /proc/self/status is missing.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// dirSize returns the apparent size in bytes of the regular files under
// dir.
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	return total, err
}

// rssSampler polls a server's Prometheus endpoint for
// process_resident_memory_bytes and keeps the largest value seen: the
// peak RSS of a server in another process, to the sampling interval.
type rssSampler struct {
	url  string
	http *http.Client
	peak atomic.Int64
	done chan struct{}
}

func startRSSSampler(ctx context.Context, metricsAddr string, every time.Duration) *rssSampler {
	s := &rssSampler{url: "http://" + metricsAddr + "/metrics", http: &http.Client{Timeout: 5 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if v := s.sample(ctx); v > s.peak.Load() {
				s.peak.Store(v)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// wait returns the peak once ctx (given to startRSSSampler) has ended.
func (s *rssSampler) wait() int64 {
	<-s.done
	return s.peak.Load()
}

func (s *rssSampler) sample(ctx context.Context) int64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return 0
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "process_resident_memory_bytes "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return int64(v)
		}
	}
	return 0
}
