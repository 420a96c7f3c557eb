package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pedigree-project/pedigree/ledger"
	ledgerentry "github.com/pedigree-project/pedigree/ledger/entry"
)

// captureJob is a capture job as GET /epcis/capture/{captureID} answers
// it (the binding's CaptureJob and the node's receipt).
type captureJob struct {
	CaptureID             string           `json:"captureID"`
	CreatedAt             string           `json:"createdAt"`
	FinishedAt            string           `json:"finishedAt,omitempty"`
	Running               bool             `json:"running"`
	Success               bool             `json:"success"`
	CaptureErrorBehaviour string           `json:"captureErrorBehaviour"`
	Errors                []captureProblem `json:"errors"`
	Receipt               *captureReceipt  `json:"receipt,omitempty"`
}

type captureProblem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	Pointer  string `json:"pointer,omitempty"`
	Line     int    `json:"line,omitempty"`
	EventID  string `json:"eventID,omitempty"`
}

type captureReceipt struct {
	Checkpoint struct {
		Note        string `json:"note"`
		Size        uint64 `json:"size"`
		RootHash    []byte `json:"rootHash"`
		VerifierKey string `json:"verifierKey"`
	} `json:"checkpoint"`
	Events []struct {
		EventID     string  `json:"eventID"`
		Position    int     `json:"position"`
		LedgerIndex *uint64 `json:"ledgerIndex"`
		Outcome     string  `json:"outcome"`
		DuplicateOf *uint64 `json:"duplicateOf"`
		Code        string  `json:"code"`
		Reason      string  `json:"reason"`
		Alerts      []struct {
			AlertID string `json:"alertID"`
			Code    string `json:"code"`
		} `json:"alerts"`
	} `json:"events"`
	Entries []struct {
		LedgerIndex    uint64   `json:"ledgerIndex"`
		LeafHash       []byte   `json:"leafHash"`
		InclusionProof [][]byte `json:"inclusionProof"`
		Data           []byte   `json:"data"`
	} `json:"entries"`
}

// epcisCaptureOptions are the flags of `pedigree epcis capture`.
type epcisCaptureOptions struct {
	http, token, format, behaviour, verifierKey string
	wait, verify, json                          bool
	timeout                                     time.Duration
}

func newEPCISCaptureCommand() *cobra.Command {
	o := &epcisCaptureOptions{}
	cmd := &cobra.Command{
		Use:   "capture FILE",
		Short: "Capture an EPCIS document on the node (POST /epcis/capture) and check its receipt",
		Long: `Send an EPCIS document, JSON-LD (EPCIS 2.0) or XML (EPCIS 2.0 or 1.2, with or without
a StandardBusinessDocumentHeader), to the node's EPCIS capture interface as the party
of --token, and print the capture job. With --wait (the default) it then waits until
the job has finished and prints its receipt: for each event its ID, ledger index,
outcome (recorded, duplicate of an earlier entry, or refused with its code) and the
alerts it raised; with --verify (the default) it checks the receipt offline: the
checkpoint's signature with the ledger's verifier key (--verifier-key, or the one the
receipt names), and every entry's RFC 6962 inclusion proof against it.

The format comes from the file's extension (.jsonld, .json, .xml) unless --format
says. It exits non-zero when the job did not capture every event.`,
		Example: `  pedigree epcis capture --token "$TOKEN" shipment.jsonld
  pedigree epcis capture --token "$TOKEN" --behaviour proceed GS1_US_Pharma_Example.xml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return epcisCapture(cmd.Context(), cmd.OutOrStdout(), cmd.InOrStdin(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.http, "http", "127.0.0.1:8080", "HTTP address (or http(s):// URL) of the node, as `serve` prints it")
	f.StringVar(&o.token, "token", "", "API token (Bearer) of the capturing party")
	f.StringVar(&o.format, "format", "", "json or xml (default: from the file's extension)")
	f.StringVar(&o.behaviour, "behaviour", "rollback", "what to do when some events cannot be captured: rollback (none is) or proceed (the others are)")
	f.BoolVar(&o.wait, "wait", true, "wait until the job has finished and print its receipt")
	f.BoolVar(&o.verify, "verify", true, "check the receipt's checkpoint signature and inclusion proofs")
	f.StringVar(&o.verifierKey, "verifier-key", "", "note verifier key of the ledger's checkpoints to trust (default: the one the receipt names)")
	f.BoolVar(&o.json, "json", false, "print the job as JSON")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for the job")
	return cmd
}

// epcisCapture posts the document of path and reports its job.
func epcisCapture(ctx context.Context, out io.Writer, stdin io.Reader, path string, o *epcisCaptureOptions) error {
	ctype, err := captureContentType(path, o.format)
	if err != nil {
		return err
	}
	doc, err := readEPCISInput(stdin, path)
	if err != nil {
		return err
	}
	return epcisCaptureDoc(ctx, out, doc, ctype, o)
}

// epcisCaptureDoc posts doc (of media type ctype) and reports its job.
func epcisCaptureDoc(ctx context.Context, out io.Writer, doc []byte, ctype string, o *epcisCaptureOptions) error {
	base := o.http
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		base = "http://" + base
	}
	base = strings.TrimSuffix(base, "/")
	resp, body, err := epcisRequest(ctx, http.MethodPost, base+"/epcis/capture", o.token, ctype, o.behaviour, doc)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("epcis capture: the node answered %s: %s", resp.Status, problemText(body))
	}
	loc := resp.Header.Get("Location")
	fmt.Fprintf(out, "capture job %s%s (%s)\n", base, loc, o.behaviour)
	if strings.ContainsAny(loc, "?#") || !strings.HasPrefix(loc, "/epcis/capture/") {
		return fmt.Errorf("epcis capture: the node answered an unexpected Location %q", loc)
	}
	if !o.wait {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var job captureJob
	for {
		resp, body, err := epcisRequest(ctx, http.MethodGet, base+loc, o.token, "", "", nil)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("epcis capture: job %s: %s: %s", loc, resp.Status, problemText(body))
		}
		if err := json.Unmarshal(body, &job); err != nil {
			return fmt.Errorf("epcis capture: job %s: %w", loc, err)
		}
		if !job.Running && (!o.verify || strings.HasSuffix(loc, entriesQuery)) {
			break
		}
		if !job.Running {
			// Once more, with the bytes of the entries the receipt proves.
			loc += entriesQuery
			continue
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("epcis capture: job %s still running after %s", loc, o.timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if o.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(job); err != nil {
			return err
		}
	} else {
		printCaptureJob(out, &job)
	}
	if o.verify && job.Receipt != nil && len(job.Receipt.Entries) > 0 {
		if err := verifyCaptureReceipt(job.Receipt, o.verifierKey); err != nil {
			return fmt.Errorf("epcis capture: the receipt does NOT verify: %w", err)
		}
		cp := job.Receipt.Checkpoint
		fmt.Fprintf(out, "receipt verified: every event in its ledger entry, %d entries proven against checkpoint of size %d, root %s\n",
			len(job.Receipt.Entries), cp.Size, base64.StdEncoding.EncodeToString(cp.RootHash))
	}
	if !job.Success {
		return fmt.Errorf("epcis capture: the job did not capture every event (%d errors)", len(job.Errors))
	}
	return nil
}

// entriesQuery asks for a job's receipt with the bytes of its entries.
const entriesQuery = "?entries=true"

// captureContentType is the media type of a capture file.
func captureContentType(path, format string) (string, error) {
	if format == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".xml":
			format = "xml"
		case ".json", ".jsonld":
			format = "json"
		default:
			return "", fmt.Errorf("--format: json or xml (the extension of %q does not say)", path)
		}
	}
	switch format {
	case "json":
		return "application/ld+json", nil
	case "xml":
		return "application/xml", nil
	}
	return "", fmt.Errorf("--format: json or xml, got %q", format)
}

// maxCaptureAnswer bounds an answer of the capture interface (a job's
// receipt names each event).
const maxCaptureAnswer = 256 << 20

// epcisRequest sends one request to the capture interface.
func epcisRequest(ctx context.Context, method, url, token, ctype, behaviour string, body []byte) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("epcis capture: %w", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if behaviour != "" {
		req.Header.Set("GS1-Capture-Error-Behaviour", behaviour)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("epcis capture: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxCaptureAnswer))
	if err != nil {
		return nil, nil, fmt.Errorf("epcis capture: %w", err)
	}
	return resp, b, nil
}

// problemText is the detail of a problem answer, with its location.
func problemText(body []byte) string {
	var p captureProblem
	if err := json.Unmarshal(body, &p); err != nil || p.Title == "" {
		return strings.TrimSpace(string(body))
	}
	s := p.Title
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	if p.Pointer != "" {
		s += " (at " + p.Pointer + ")"
	}
	if p.Line > 0 {
		s += fmt.Sprintf(" (line %d)", p.Line)
	}
	return s
}

// printCaptureJob prints a finished job and its receipt, one event a line.
func printCaptureJob(w io.Writer, j *captureJob) {
	state := "captured every event"
	if !j.Success {
		state = "FAILED"
	}
	fmt.Fprintf(w, "job %s %s (%s), created %s, finished %s\n", j.CaptureID, state, j.CaptureErrorBehaviour, j.CreatedAt, j.FinishedAt)
	for _, e := range j.Errors {
		fmt.Fprintf(w, "  error at %s %s: %s\n", e.Instance, e.EventID, e.Detail)
	}
	if j.Receipt == nil {
		return
	}
	for _, e := range j.Receipt.Events {
		at := "       -"
		if e.LedgerIndex != nil {
			at = fmt.Sprintf("#%-7d", *e.LedgerIndex)
		}
		what := e.Outcome
		switch {
		case e.DuplicateOf != nil:
			what += fmt.Sprintf(" of #%d", *e.DuplicateOf)
		case e.Code != "":
			what += " " + e.Code + ": " + e.Reason
		}
		var alerts []string
		for _, a := range e.Alerts {
			alerts = append(alerts, a.Code)
		}
		if len(alerts) > 0 {
			what += "  alerts " + strings.Join(alerts, ",")
		}
		fmt.Fprintf(w, "  %s %s  %s\n", at, e.EventID, what)
	}
}

// verifyCaptureReceipt checks the checkpoint's signature with key (empty:
// the one the receipt names) and each entry's inclusion proof against the
// root the signed note states.
func verifyCaptureReceipt(rc *captureReceipt, key string) error {
	if key == "" {
		key = rc.Checkpoint.VerifierKey
	}
	v, err := note.NewVerifier(key)
	if err != nil {
		return fmt.Errorf("verifier key: %w", err)
	}
	cp, err := ledger.ParseCheckpoint([]byte(rc.Checkpoint.Note), v)
	if err != nil {
		return fmt.Errorf("the checkpoint's signature: %w", err)
	}
	if cp.Size != rc.Checkpoint.Size || !bytes.Equal(cp.Root[:], rc.Checkpoint.RootHash) {
		return errors.New("the checkpoint's size and root hash are not those its signed note states")
	}
	held := map[uint64][]string{} // the event IDs of each entry whose bytes came
	for _, e := range rc.Entries {
		var leaf tlog.Hash
		if len(e.LeafHash) != len(leaf) {
			return fmt.Errorf("entry %d: a leaf hash of %d bytes", e.LedgerIndex, len(e.LeafHash))
		}
		copy(leaf[:], e.LeafHash)
		proof := make(tlog.RecordProof, len(e.InclusionProof))
		for i, p := range e.InclusionProof {
			if len(p) != len(proof[i]) {
				return fmt.Errorf("entry %d: a proof hash of %d bytes", e.LedgerIndex, len(p))
			}
			copy(proof[i][:], p)
		}
		if err := tlog.CheckRecord(proof, int64(cp.Size), cp.Root, int64(e.LedgerIndex), leaf); err != nil {
			return fmt.Errorf("entry %d: %w", e.LedgerIndex, err)
		}
		if e.Data == nil {
			continue
		}
		if tlog.RecordHash(e.Data) != leaf {
			return fmt.Errorf("entry %d: its bytes are not those of its leaf hash", e.LedgerIndex)
		}
		entry, err := ledgerentry.Decode(e.Data)
		if err != nil {
			return fmt.Errorf("entry %d: %w", e.LedgerIndex, err)
		}
		held[e.LedgerIndex] = entry.GetEventIds()
	}
	// Each event is in the entries it names, when their bytes came.
	for _, ev := range rc.Events {
		for _, i := range []*uint64{ev.LedgerIndex, ev.DuplicateOf} {
			if i == nil {
				continue
			}
			if ids, ok := held[*i]; ok && !slices.Contains(ids, ev.EventID) {
				return fmt.Errorf("event %s is not in ledger entry %d", ev.EventID, *i)
			}
		}
	}
	return nil
}
