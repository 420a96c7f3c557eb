package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/sdk"
)

type scanOptions struct {
	step, disposition, reason string
	parent, to                string
	batch                     int
	batchWait                 time.Duration
	keyFile, newKey, party    string
	gs                        string
	natsURL, queueDir         string
	publishTimeout, drainWait time.Duration
	json                      bool
}

func newScanCommand(root *rootOptions) *cobra.Command {
	o := &scanOptions{}
	cmd := &cobra.Command{
		Use:   "scan --step STEP --party GLN --key FILE [barcode]",
		Short: "Send scan events, signed with the party's key, straight to NATS JetStream",
		Long: `Send one scan event for the barcode given, or, with no barcode, one per line of
standard input as a keyboard-wedge scanner types them. Empty lines are skipped; a line
that is not a valid GS1 barcode is reported on standard error and skipped. Each
barcode is a pack (GTIN + serial) or a case or pallet (SSCC), in any GS1 form.

Events are signed with the party's Ed25519 key (--key, a PKCS #8 PEM file; make one
with --new-key and register its public key with the node) and published on
pedigree.scan.<party GLN>. When NATS cannot be reached they are kept in a local queue
(--queue) and sent, in order, by the next pedigree scan that can reach it.

Prints one line per event: its event ID and "published" or "queued". Exits non-zero
if any line was refused.`,
		Example: `  pedigree scan --new-key party.key
  pedigree scan --step dispensing --party 4098765000003 --key party.key '(01)09506000134352(21)S1(10)LOT1(17)281231'
  pedigree scan --step packing --parent 340123450000000000 --batch 50 --party 4012345000009 --key mfr.key < cases.txt
  pedigree scan --step decommissioning --reason stolen --party 4023456000000 --key whs.key`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.newKey != "" {
				return writeNewKey(cmd.OutOrStdout(), o.newKey, o.json)
			}
			return o.run(cmd, root, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.step, "step", "", "business step: commissioning, packing, unpacking, shipping, receiving, dispensing, "+
		"decommissioning, destroying, inspecting, returning or undo")
	f.StringVar(&o.disposition, "disposition", "", "CBV disposition after the event, overriding the step's usual one (e.g. in_transit)")
	f.StringVar(&o.reason, "reason", "", "decommissioning: why (destroyed, stolen, sample, free_sample, exported, locked, checked_out)")
	f.StringVar(&o.parent, "parent", "", "packing and unpacking: SSCC of the container; every barcode is a child")
	f.StringVar(&o.to, "to", "", "shipping: GLN of the destination party")
	f.IntVar(&o.batch, "batch", 1, "send up to N events per signed capture (1–1000)")
	f.DurationVar(&o.batchWait, "batch-wait", 2*time.Second, "send a partial batch when no line arrives for this long")
	f.StringVar(&o.keyFile, "key", "", "the party's Ed25519 private key (PKCS #8 PEM)")
	f.StringVar(&o.newKey, "new-key", "", "write a new key to FILE, print its public key and key ID, and exit")
	f.StringVar(&o.party, "party", "", "GLN of the party that scans")
	f.StringVar(&o.natsURL, "nats", "nats://127.0.0.1:4222", "NATS server URL")
	f.StringVar(&o.queueDir, "queue", "", "store-and-forward queue directory (default: the user cache directory)")
	f.DurationVar(&o.publishTimeout, "publish-timeout", sdk.DefaultPublishTimeout, "how long to try publishing before queueing")
	f.DurationVar(&o.drainWait, "drain-wait", 10*time.Second, "at exit, how long to wait for queued events while NATS is connected")
	f.StringVar(&o.gs, "gs", "", "a character the scanner types in place of GS (ASCII 29), e.g. '|' or '^'")
	f.BoolVar(&o.json, "json", false, "print JSON lines instead of text")
	return cmd
}

// writeNewKey makes a key file and prints what the node needs to register
// it.
func writeNewKey(w io.Writer, path string, asJSON bool) error {
	pub, priv, err := envelope.GenerateKey()
	if err != nil {
		return err
	}
	if err := envelope.WriteKeyFile(path, priv); err != nil {
		return err
	}
	b64 := base64.StdEncoding.EncodeToString(pub)
	if asJSON {
		return json.NewEncoder(w).Encode(map[string]string{"key_file": path, "public_key": b64, "key_id": envelope.KeyID(pub)})
	}
	_, err = fmt.Fprintf(w, "Wrote %s (keep it secret).\nPublic key: %s\nKey ID:     %s\n", path, b64, envelope.KeyID(pub))
	return err
}

// details checks the flags and returns the step and its details.
func (o *scanOptions) details() (pb.BizStep, sdk.Details, error) {
	var d sdk.Details
	if o.step == "" {
		return 0, d, errors.New("--step is required")
	}
	step, err := sdk.ParseStep(o.step)
	if err != nil {
		return 0, d, fmt.Errorf("--step: %w", err)
	}
	if o.disposition != "" && o.reason != "" {
		return 0, d, errors.New("give --reason or --disposition, not both")
	}
	if o.reason != "" && step != pb.BizStep_BIZ_STEP_DECOMMISSIONING {
		return 0, d, errors.New("--reason applies to --step decommissioning; use --disposition for other steps")
	}
	for _, w := range []string{o.disposition, o.reason} {
		if w != "" {
			if d.Disposition, err = sdk.ParseDisposition(w); err != nil {
				return 0, d, err
			}
		}
	}
	d.Parent, d.To = o.parent, o.to
	if o.batch < 1 || o.batch > envelope.MaxEventsPerCapture {
		return 0, d, fmt.Errorf("--batch %d: want 1 to %d", o.batch, envelope.MaxEventsPerCapture)
	}
	if o.party == "" || o.keyFile == "" {
		return 0, d, errors.New("--party and --key are required")
	}
	if o.gs != "" {
		if err := checkGSStandIn(o.gs); err != nil {
			return 0, d, err
		}
	}
	return step, d, nil
}

func (o *scanOptions) run(cmd *cobra.Command, root *rootOptions, args []string) error {
	step, details, err := o.details()
	if err != nil {
		return err
	}
	key, err := envelope.ReadKeyFile(o.keyFile)
	if err != nil {
		return err
	}
	logger, err := root.newLogger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if o.queueDir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("--queue: no default: %w", err)
		}
		o.queueDir = filepath.Join(cache, "pedigree", "queue", o.party)
	}
	ctx := cmd.Context()
	c, err := sdk.New(ctx, sdk.Config{
		NATSURL: o.natsURL, PartyGLN: o.party, Key: key, QueueDir: o.queueDir, Logger: logger,
		PublishTimeout: o.publishTimeout, Name: "pedigree scan",
	})
	if err != nil {
		return err
	}
	s := &scanSession{opts: o, client: c, step: step, details: details, out: cmd.OutOrStdout(), errw: cmd.ErrOrStderr()}
	if len(args) == 1 {
		err = s.line(ctx, args[0])
		if err == nil {
			err = s.flush(ctx)
		}
	} else {
		err = s.stream(ctx, cmd.InOrStdin())
	}
	return errors.Join(err, s.finish(ctx, key.Public().(ed25519.PublicKey)))
}

// scanSession turns barcodes into events and sends them in batches.
type scanSession struct {
	opts      *scanOptions
	client    *sdk.Client
	step      pb.BizStep
	details   sdk.Details
	out, errw io.Writer
	batch     []*pb.ScanEvent
	lines     int // lines read, empty ones included
	refused   int
}

// line makes the event of one barcode and adds it to the batch, sending
// the batch when full. A barcode that cannot be made into an event is
// returned as an error for the caller to report.
func (s *scanSession) line(ctx context.Context, barcode string) error {
	barcode, err := replaceGS(barcode, s.opts.gs)
	if err != nil {
		return err
	}
	obj, err := sdk.ParseObject(barcode)
	if err != nil {
		return err
	}
	ev, err := s.client.Builder().Event(s.step, s.details, obj)
	if err != nil {
		return err
	}
	s.batch = append(s.batch, ev)
	if len(s.batch) >= s.opts.batch {
		return s.flush(ctx)
	}
	return nil
}

// flush sends the batch as one capture and prints a line per event.
func (s *scanSession) flush(ctx context.Context) error {
	if len(s.batch) == 0 {
		return nil
	}
	if ctx.Err() != nil {
		// Interrupted: what was scanned is still sent, or queued.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), s.opts.publishTimeout+time.Second)
		defer cancel()
	}
	rc, err := s.client.Send(ctx, s.batch...)
	s.batch = s.batch[:0]
	if err != nil {
		return &sendError{err}
	}
	for _, id := range rc.EventIDs {
		if s.opts.json {
			err = json.NewEncoder(s.out).Encode(map[string]string{"event_id": id, "status": rc.Status.String()})
		} else {
			_, err = fmt.Fprintf(s.out, "%s %s\n", id, rc.Status)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sendError is a failure to send or queue: it stops the session, unlike a
// bad line.
type sendError struct{ err error }

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// stream reads barcodes line by line from r until it ends or ctx is
// cancelled, sending a partial batch when no line arrives for batchWait.
func (s *scanSession) stream(ctx context.Context, r io.Reader) error {
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
		close(lines)
	}()
	var wait <-chan time.Time
	for {
		select {
		case text, ok := <-lines:
			if !ok {
				err := s.flush(ctx)
				if rerr := <-readErr; rerr != nil {
					err = errors.Join(err, fmt.Errorf("read standard input: %w", rerr))
				}
				return errors.Join(err, s.refusedError())
			}
			s.lines++
			if trimmed := trimLine(text); trimmed != "" {
				if err := s.line(ctx, trimmed); err != nil {
					var se *sendError
					if errors.As(err, &se) {
						return err
					}
					s.refused++
					fmt.Fprintf(s.errw, "line %d: %v\n", s.lines, err)
				}
			}
			wait = nil
			if len(s.batch) > 0 {
				wait = time.After(s.opts.batchWait)
			}
		case <-wait:
			wait = nil
			if err := s.flush(ctx); err != nil {
				return err
			}
		case <-ctx.Done():
			return errors.Join(s.flush(ctx), s.refusedError(), ctx.Err())
		}
	}
}

// trimLine removes the spaces and line ends around a typed barcode (GS,
// ASCII 29, is not a space and is kept).
func trimLine(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\r' || s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

func (s *scanSession) refusedError() error {
	if s.refused == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d lines refused (see above); the others were sent", s.refused, s.lines)
}

// finish gives queued events a moment to go out while NATS is connected,
// says what is left, and closes the client.
func (s *scanSession) finish(ctx context.Context, pub ed25519.PublicKey) error {
	if s.client.Pending() > 0 && s.client.Connected() && s.opts.drainWait > 0 {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.drainWait)
		_ = s.client.Flush(wctx)
		cancel()
	}
	if n := s.client.Pending(); n > 0 {
		fmt.Fprintf(s.errw, "%d events are queued in %s; the next pedigree scan with --party %s sends them (key ID %s).\n",
			n, s.opts.queueDir, s.opts.party, envelope.KeyID(pub))
	}
	return s.client.Close()
}
