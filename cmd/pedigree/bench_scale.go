package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pedigree-project/pedigree/bench"
)

// longRunFlags are the flags of `pedigree bench --scale` and `--soak`.
type longRunFlags struct {
	scale      string
	scalePhase time.Duration
	scaleSkip  []string
	retention  bool
	soak       time.Duration
	soakBucket time.Duration
	soakSize   string
	soakEvents int
	html       string
	profiles   string
	scaleProfs string
	scaleData  string
}

func (l *longRunFlags) addFlags(f *pflag.FlagSet) {
	sc, so := bench.DefaultScaleConfig(), bench.DefaultSoakConfig()
	f.StringVar(&l.scale, "scale", "", `grow the data in steps of this many events and measure at each, e.g. 1M,10M,30M,100M ("default": `+stepsWord(sc.Steps)+`, about 15 minutes)`)
	f.DurationVar(&l.scalePhase, "scale-phase", sc.Phase, "with --scale: how long each timed measurement of a step runs")
	f.StringSliceVar(&l.scaleSkip, "scale-skip", nil, "with --scale: parts of each step to leave out: "+strings.Join(bench.ScaleParts(), ", "))
	f.BoolVar(&l.retention, "scale-retention", false, "with --scale: run the node with --stream-retention after-backup and take a verified backup as each step begins, so that the stream drops what the backup holds before the step's restart and disk are measured")
	f.StringVar(&l.scaleProfs, "scale-profiles", "", "with --scale: write the node's CPU profiles at each step to this directory: while it verifies with the background ingest, verifies alone, and answers bare gRPC calls alone; and its heap")
	f.StringVar(&l.scaleData, "scale-data", "", "with --scale: keep the node's data in this directory, with the run's state; the first interrupt (SIGINT or SIGTERM) then pauses the run at the next block or step, and the same command on the same directory resumes it")
	f.DurationVar(&l.soak, "soak", 0, "run a steady mixed load this long on a node filled to --soak-size, e.g. 30m")
	f.DurationVar(&l.soakBucket, "soak-bucket", so.Bucket, "with --soak: the length of one row of the report")
	f.StringVar(&l.soakSize, "soak-size", stepsWord([]int64{so.Size}), "with --soak: events the node holds before the load starts")
	f.IntVar(&l.soakEvents, "soak-event-rate", so.EventRate, "with --soak: market events a second (captures of shipments, receipts, verifications, dispenses)")
	f.StringVar(&l.profiles, "soak-profiles", "", "with --soak: write CPU profiles and runtime traces of the idle bare gRPC probes before and after the fill to this directory")
	f.StringVar(&l.html, "html", "", "with --scale or --soak: write the HTML report (inline SVG charts) to this file")
}

// stepsWord prints steps as --scale reads them.
func stepsWord(steps []int64) string {
	var w []string
	for _, s := range steps {
		switch {
		case s%1_000_000 == 0:
			w = append(w, fmt.Sprintf("%dM", s/1_000_000))
		case s%1000 == 0:
			w = append(w, fmt.Sprintf("%dk", s/1000))
		default:
			w = append(w, fmt.Sprint(s))
		}
	}
	return strings.Join(w, ",")
}

// longResult is a scale or soak result.
type longResult interface {
	WriteJSON(io.Writer) error
	WriteTable(io.Writer) error
	Report(command string) *bench.Report
}

// run runs --scale or --soak and writes the table, --json and --html.
func (l *longRunFlags) run(cmd *cobra.Command, cfg bench.Config, jsonOut string) error {
	ctx := cmd.Context()
	var res longResult
	var paused error
	switch {
	case l.scale != "" && l.soak > 0:
		return errors.New("bench: --scale and --soak are separate runs; give one")
	case l.scale != "":
		steps := bench.DefaultScaleSteps
		if l.scale != "default" {
			var err error
			if steps, err = bench.ParseSteps(l.scale); err != nil {
				return err
			}
		}
		sc := bench.DefaultScaleConfig()
		sc.Steps, sc.Target, sc.Phase, sc.Skip, sc.Logger, sc.Progress = steps, cfg.Target, l.scalePhase, l.scaleSkip, cfg.Logger, cfg.Progress
		sc.Retention, sc.ProfileDir, sc.DataDir = l.retention, l.scaleProfs, l.scaleData
		sc.VerifyRate, sc.VerifyIngestRate = cfg.VerifyRate, max(cfg.VerifyIngestRate, 1)
		if !cfg.Target.External() {
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("bench: the pedigree binary, to run the node: %w", err)
			}
			sc.ServeArgv = []string{exe, "serve"}
		}
		runCtx := ctx
		if sc.DataDir != "" {
			var cancel context.CancelFunc
			runCtx, cancel = pausable(ctx)
			defer cancel()
			sc.Pause = ctx.Done()
		}
		r, err := bench.RunScale(runCtx, sc)
		switch {
		case errors.Is(err, bench.ErrScalePaused):
			paused = err
		case err != nil:
			return err
		}
		res = r
	case l.soak > 0:
		if cfg.Target.External() {
			return errors.New("bench: --soak runs an embedded node (it reads the node's GC pauses in its own process); leave out --server")
		}
		size, err := bench.ParseSteps(l.soakSize)
		if err != nil || len(size) != 1 {
			return fmt.Errorf("--soak-size: %q: want one number of events, e.g. 3M", l.soakSize)
		}
		so := bench.DefaultSoakConfig()
		so.Duration, so.Bucket, so.Size, so.EventRate, so.Logger, so.Progress = l.soak, l.soakBucket, size[0], l.soakEvents, cfg.Logger, cfg.Progress
		so.ProfileDir = l.profiles
		if cmd.Flags().Changed("verify-rate") {
			so.VerifyRate = cfg.VerifyRate
		}
		r, err := bench.RunSoak(ctx, so)
		if err != nil {
			return err
		}
		res = r
	default:
		return errors.New("bench: --html needs --scale or --soak")
	}
	command := "pedigree " + strings.Join(os.Args[1:], " ")
	if l.html != "" {
		if err := writeFile(l.html, func(w io.Writer) error { return res.Report(command).WriteHTML(w) }); err != nil {
			return err
		}
	}
	if err := printResult(cmd.OutOrStdout(), jsonOut, res.WriteTable, res.WriteJSON); err != nil {
		return err
	}
	return paused
}

// pausable returns a context that outlives ctx, the command's, which the
// first interrupt cancels: a scale run with a kept data directory reads
// that as the request to pause at a point it can resume from. A second
// interrupt cancels the returned context: the run stops at once.
func pausable(ctx context.Context) (context.Context, context.CancelFunc) {
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		select {
		case <-ctx.Done():
		case <-run.Done():
			return
		}
		fmt.Fprintln(os.Stderr, "bench: pausing after the block or step under way; interrupt again to stop at once (the data directory then cannot be resumed)")
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sig)
		select {
		case <-sig:
			cancel()
		case <-run.Done():
		}
	}()
	return run, cancel
}

// printResult prints a bench result as its table, or as JSON with --json
// (jsonOut "-"); --json=FILE writes the JSON to FILE and prints the table.
func printResult(out io.Writer, jsonOut string, table, asJSON func(io.Writer) error) error {
	switch jsonOut {
	case "":
	case "-":
		return asJSON(out)
	default:
		if err := writeFile(jsonOut, asJSON); err != nil {
			return err
		}
	}
	return table(out)
}

// writeFile writes a file through fn.
func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	return nil
}
