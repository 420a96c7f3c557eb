package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/bench"
)

// TestBenchScalePausesAndResumes runs `pedigree bench --scale 20k,40k
// --scale-data DIR`, interrupts it once its first step is grown, and runs
// the same command again: the first run pauses after the step with its
// figures and state, the second resumes on the same node and market and
// measures the second step. A state left mid-change, or a command that
// differs from the run's, is refused.
func TestBenchScalePausesAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("grows a node to 40,000 events")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	data, jsonPath, htmlPath := filepath.Join(dir, "data"), filepath.Join(dir, "scale.json"), filepath.Join(dir, "scale.html")
	args := []string{"bench", "--scale", "20k,40k", "--scale-data", data, "--scale-skip", "dispense,reads,proofs,restart,offline",
		"--scale-phase", "300ms", "--verify-rate", "200", "--verify-ingest-rate", "50", "--json=" + jsonPath, "--html", htmlPath, "--log-level", "warn"}

	cmd := pedigreeCmd(ctx, t, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { pw.CloseWithError(cmd.Wait()) }()
	var out strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "bench: step 20k:") {
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
		}
	}
	var ee *exec.ExitError
	if err := sc.Err(); !errors.As(err, &ee) || !strings.Contains(out.String(), "the same command resumes from "+data) {
		t.Fatalf("the interrupted run: %v, want a pause\n%s", err, out.String())
	}
	first := readScale(t, jsonPath)
	if len(first.Steps) != 1 || first.Steps[0].Verify.Count == 0 {
		t.Fatalf("the paused run reports %d steps, want the first, measured: %+v", len(first.Steps), first.Steps)
	}
	statePath := filepath.Join(data, bench.ScaleStateFile)
	if fi, err := os.Stat(statePath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, %v; want mode 0600 (it holds the parties' keys)", fi, err)
	}

	// A different command is refused before the node starts.
	other := append(append([]string{}, args...), "--scale-retention")
	if b, err := pedigreeCmd(ctx, t, other...).CombinedOutput(); err == nil || !strings.Contains(string(b), "scale-retention: the run began with false") {
		t.Errorf("a resume with other serve flags: %v\n%s", err, b)
	}

	if b, err := pedigreeCmd(ctx, t, args...).CombinedOutput(); err != nil {
		t.Fatalf("the resumed run: %v\n%s", err, b)
	} else if !strings.Contains(string(b), "resumed at ") {
		t.Errorf("the resumed run does not say it resumed:\n%s", b)
	}
	second := readScale(t, jsonPath)
	if second.Resumed != 1 || len(second.Steps) != 2 {
		t.Fatalf("resumed %d times, %d steps; want 1 and 2", second.Resumed, len(second.Steps))
	}
	if page, err := os.ReadFile(htmlPath); err != nil || !strings.Contains(string(page), "paused and resumed once") {
		t.Errorf("the HTML report does not say the run was resumed: %v", err)
	}
	s0, s1 := second.Steps[0], second.Steps[1]
	if s0 != first.Steps[0] {
		t.Errorf("the first step is reported as %+v after the resume, %+v before", s0, first.Steps[0])
	}
	// The market's captures after the resume were accepted: the ledger
	// (an entry per capture) grew about as it did before.
	grown := float64(s1.LedgerEntries) - float64(s0.LedgerEntries)
	if s1.Events < 40_000 || grown < 0.5*float64(s0.LedgerEntries)*float64(s1.Events-s0.Events)/float64(s0.Events) {
		t.Errorf("after the resume: %d events, ledger %d → %d entries", s1.Events, s0.LedgerEntries, s1.LedgerEntries)
	}

	// A state written while the run was changing the node is refused.
	b, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	st["pending"] = "growing pallets 130 to 210"
	if b, err = json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(statePath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	longer := append(append([]string{}, args...), "--scale", "20k,40k,60k")
	if b, err := pedigreeCmd(ctx, t, longer...).CombinedOutput(); err == nil || !strings.Contains(string(b), "the run stopped while growing pallets 130 to 210") {
		t.Errorf("a resume of a run stopped mid-block: %v\n%s", err, b)
	}
}

type scaleSteps struct {
	Resumed int `json:"resumed"`
	Steps   []struct {
		Events        int64   `json:"events"`
		LedgerEntries uint64  `json:"ledger_entries"`
		GrowSeconds   float64 `json:"grow_s"`
		Verify        struct{ Count int }
	}
}

func readScale(t *testing.T, path string) scaleSteps {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var res scaleSteps
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return res
}
