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
	"sync"
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
	nodeKey                   string
	gs                        string
	natsURL, queueDir         string
	natsCA, natsCert, natsKey string
	publishTimeout, drainWait time.Duration
	json                      bool
}

func newScanCommand(root *rootOptions) *cobra.Command {
	o := &scanOptions{}
	cmd := &cobra.Command{
		Use:   "scan --step STEP --party GLN --key FILE [barcode]",
		Short: "Send scan events, signed with the party's key, straight to NATS JetStream, and print the ledger's answers",
		Long: `Send one scan event for the barcode given, or, with no barcode, one per line of
standard input as a keyboard-wedge scanner types them. Empty lines are skipped; a line
that is not a valid GS1 barcode is reported on standard error and skipped. Each
barcode is a pack (GTIN + serial) or a case or pallet (SSCC), in any GS1 form.

Events are signed with the party's Ed25519 key (--key, a PKCS #8 PEM file; make one
with --new-key and have the node's admin register its public key) and published on
pedigree.scan.<party GLN>; the connection logs in to NATS with the same key (NKey),
over TLS with --nats-ca. Each event stays in a local queue (--queue) until the
ledger's answer, signed by the node key (--node-key, the node's DATA/keys/node.pub),
has arrived and verified: when NATS cannot be reached, or the answer does not come,
the next pedigree scan with that queue sends it again.

Prints one line per event once its answer arrives: its event ID and "applied",
"refused: <reason>" or "duplicate: <reason>", and an "ALERT" line per alert it
raised; "queued" for an event still without answer at exit (after --drain-wait
while NATS is connected). Exits 3 if the ledger refused an event, 1 if a line was
refused or on errors.`,
		Example: `  pedigree scan --new-key party.key      # then: pedigree party create ... --public-key-file party.key.pub
  pedigree scan --step dispensing --party 4098765000003 --key party.key --node-key node.pub '(01)09506000134352(21)S1(10)LOT1(17)281231'
  pedigree scan --step packing --parent 340123450000000000 --batch 50 --party 4012345000009 --key mfr.key --node-key node.pub < cases.txt
  pedigree scan --step decommissioning --reason stolen --party 4023456000000 --key whs.key --node-key node.pub \
      --nats tls://pedigree.example.net:4222 --nats-ca nats-ca.pem`,
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
	f.StringVar(&o.newKey, "new-key", "", "write a new key to FILE and its public key to FILE.pub, print the public key and key ID, and exit")
	f.StringVar(&o.party, "party", "", "GLN of the party that scans")
	f.StringVar(&o.nodeKey, "node-key", "", "the node's public key file (DATA/keys/node.pub on the node): answers are believed only when signed with it")
	f.StringVar(&o.natsURL, "nats", "nats://127.0.0.1:4222", "NATS server URL")
	f.StringVar(&o.natsCA, "nats-ca", "", "PEM file of the CA that signed the NATS server's certificate: connect with TLS")
	f.StringVar(&o.natsCert, "nats-cert", "", "PEM client certificate, for a NATS server that requires one (with --nats-key)")
	f.StringVar(&o.natsKey, "nats-key", "", "PEM key of --nats-cert")
	f.StringVar(&o.queueDir, "queue", "", "store-and-forward queue directory (default: the user cache directory)")
	f.DurationVar(&o.publishTimeout, "publish-timeout", sdk.DefaultPublishTimeout, "how long to try publishing before queueing")
	f.DurationVar(&o.drainWait, "drain-wait", 10*time.Second, "at exit, how long to wait for the answers still to come while NATS is connected")
	f.StringVar(&o.gs, "gs", "", "a character the scanner types in place of GS (ASCII 29), e.g. '|' or '^'")
	f.BoolVar(&o.json, "json", false, "print JSON lines instead of text")
	return cmd
}

// writeNewKey makes a key file, and beside it the public key file the
// node's admin registers (party create --public-key-file).
func writeNewKey(w io.Writer, path string, asJSON bool) error {
	pub, priv, err := envelope.GenerateKey()
	if err != nil {
		return err
	}
	b64 := base64.StdEncoding.EncodeToString(pub)
	pubPath := path + ".pub"
	if _, err := os.Lstat(pubPath); err == nil {
		return fmt.Errorf("--new-key: %s exists", pubPath)
	}
	if err := envelope.WriteKeyFile(path, priv); err != nil {
		return err
	}
	f, err := os.OpenFile(pubPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("--new-key: %w", err)
	}
	_, err = fmt.Fprintln(f, b64)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--new-key: write %s: %w", pubPath, err)
	}
	if asJSON {
		return json.NewEncoder(w).Encode(map[string]string{"key_file": path, "public_key_file": pubPath, "public_key": b64, "key_id": envelope.KeyID(pub)})
	}
	_, err = fmt.Fprintf(w, "Wrote %s (keep it secret) and %s (for the node's admin: party create --public-key-file).\nPublic key: %s\nKey ID:     %s\n",
		path, pubPath, b64, envelope.KeyID(pub))
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
	if o.nodeKey == "" {
		return 0, d, errors.New("--node-key is required: the node's public key (DATA/keys/node.pub), which its answers must be signed with")
	}
	if (o.natsCert == "") != (o.natsKey == "") {
		return 0, d, errors.New("--nats-cert and --nats-key go together")
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
	nodeKeys, err := sdk.ReadNodeKeys(o.nodeKey)
	if err != nil {
		return fmt.Errorf("--node-key: %w", err)
	}
	ctx := cmd.Context()
	s := &scanSession{opts: o, step: step, details: details, out: cmd.OutOrStdout(), errw: cmd.ErrOrStderr(), answered: map[string]bool{}}
	c, err := sdk.New(ctx, sdk.Config{
		NATSURL: o.natsURL, TLSCAFile: o.natsCA, TLSCertFile: o.natsCert, TLSKeyFile: o.natsKey,
		PartyGLN: o.party, Key: key, NodeKeys: nodeKeys, QueueDir: o.queueDir, Logger: logger,
		PublishTimeout: o.publishTimeout, Name: "pedigree scan", OnOutcome: s.answer,
	})
	if err != nil {
		return err
	}
	s.client = c
	if len(args) == 1 {
		err = s.line(ctx, args[0])
		if err == nil {
			err = s.flush(ctx)
		}
	} else {
		err = s.stream(ctx, cmd.InOrStdin())
	}
	if err = errors.Join(err, s.finish(ctx, key.Public().(ed25519.PublicKey))); err != nil {
		return err
	}
	if s.refusedEvents > 0 {
		return exitCode(3) // the lines above say which and why
	}
	return nil
}

// scanSession turns barcodes into events, sends them in batches and
// prints the ledger's answers as they come.
type scanSession struct {
	opts      *scanOptions
	client    *sdk.Client
	step      pb.BizStep
	details   sdk.Details
	out, errw io.Writer
	batch     []*pb.ScanEvent
	lines     int // lines read, empty ones included
	refused   int // lines that could not be made into events

	mu            sync.Mutex // guards what follows, and out
	sent          []sdk.Receipt
	answered      map[string]bool // message IDs whose answer was printed
	refusedEvents int             // events the ledger refused
	printErr      error
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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, rc)
	return s.printErr
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

// finish gives the answers still to come a moment while NATS is
// connected, closes the client, prints "queued" for the events still
// without answer and says where they are.
func (s *scanSession) finish(ctx context.Context, pub ed25519.PublicKey) error {
	if s.client.Pending() > 0 && s.client.Connected() && s.opts.drainWait > 0 {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.drainWait)
		_ = s.client.Flush(wctx)
		cancel()
	}
	pending := s.client.Pending()
	err := s.client.Close() // no answer comes after this
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rc := range s.sent {
		if !s.answered[rc.MsgID] {
			for _, id := range rc.EventIDs {
				s.print(scanAnswer{EventID: id, Status: "queued"})
			}
		}
	}
	if pending > 0 {
		fmt.Fprintf(s.errw, "%d events are queued in %s until the ledger answers them; the next pedigree scan with --party %s sends them (key ID %s).\n",
			pending, s.opts.queueDir, s.opts.party, envelope.KeyID(pub))
	}
	return errors.Join(err, s.printErr)
}
