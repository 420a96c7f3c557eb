package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// maxResponseBytes bounds a witness's answer: a few signature lines.
const maxResponseBytes = 16 << 10

// A Client asks one witness for cosignatures.
type Client struct {
	// URL is the witness's add-checkpoint URL.
	URL string
	// Verifier checks the witness's cosignatures.
	Verifier note.Verifier
	// HTTP makes the requests.
	HTTP *http.Client
}

// A ConflictError is a witness's 409 answer: it last cosigned a
// checkpoint of Size for the log.
type ConflictError struct {
	// Size is the size the witness holds.
	Size uint64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("witness: conflict: the witness last cosigned size %d", e.Size)
}

// A StatusError is any other refusal of a witness.
type StatusError struct {
	// Status is the HTTP status code.
	Status int
	// Message is the start of the answer's body.
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("witness: %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// NewClient returns a client of the witness whose submission prefix is
// prefix (an http or https URL without query) and whose cosignatures
// vkey checks.
func NewClient(prefix, vkey string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(prefix)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("witness URL %q: must be an http(s) URL without query", prefix)
	}
	v, err := NewCosignatureVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", prefix, err)
	}
	if hc == nil {
		return nil, errors.New("witness: nil HTTP client")
	}
	return &Client{URL: u.JoinPath("add-checkpoint").String(), Verifier: v, HTTP: hc}, nil
}

// AddCheckpoint submits the checkpoint note cp with the consistency proof
// from oldSize, and returns the witness's cosignatures on it, checked with
// c.Verifier (signatures by other keys are dropped).
func (c *Client) AddCheckpoint(ctx context.Context, oldSize uint64, proof tlog.TreeProof, cp []byte) ([]note.Signature, error) {
	body := Request{OldSize: oldSize, Proof: proof, Checkpoint: cp}.Marshal()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("witness: %w", err)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("witness: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("witness: read the answer: %w", err)
	}
	if len(answer) > maxResponseBytes {
		return nil, fmt.Errorf("witness: answer over %d bytes", maxResponseBytes)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusConflict:
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		num, ok := strings.CutSuffix(string(answer), "\n")
		size, err := strconv.ParseUint(num, 10, 64)
		if mt != SizeContentType || !ok || err != nil {
			return nil, &StatusError{Status: resp.StatusCode, Message: "conflict without a size"}
		}
		return nil, &ConflictError{Size: size}
	default:
		msg := strings.TrimSpace(string(answer))
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return nil, &StatusError{Status: resp.StatusCode, Message: msg}
	}
	n, err := note.Open(append(append([]byte(nil), cp...), answer...), note.VerifierList(c.Verifier))
	if err != nil {
		return nil, fmt.Errorf("witness: its cosignature does not verify: %w", err)
	}
	return n.Sigs, nil
}

// maxVerifierKeyBytes bounds a replica's GET vkey answer.
const maxVerifierKeyBytes = 1024

// FetchVerifierKey asks the replica whose submission prefix is prefix for
// its cosignature verifier key (GET prefix/vkey). The answer says only
// which key to expect: the caller checks that the key is one it trusts.
func FetchVerifierKey(ctx context.Context, hc *http.Client, prefix string) (string, error) {
	u, err := url.Parse(prefix)
	if err != nil {
		return "", fmt.Errorf("replica %s: %w", prefix, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.JoinPath("vkey").String(), nil)
	if err != nil {
		return "", fmt.Errorf("replica %s: %w", prefix, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("replica %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxVerifierKeyBytes+1))
	if err != nil {
		return "", fmt.Errorf("replica %s: read its key: %w", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK || len(body) > maxVerifierKeyBytes {
		return "", fmt.Errorf("replica %s: its key: HTTP %d", u.Redacted(), resp.StatusCode)
	}
	return strings.TrimSpace(string(body)), nil
}
