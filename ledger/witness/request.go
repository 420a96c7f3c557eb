package witness

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"
)

// Limits of an add-checkpoint request.
const (
	// MaxProofHashes is the most consistency proof lines a request may
	// carry (the protocol's limit).
	MaxProofHashes = 63
	// MaxRequestBytes bounds a request body: the old size line, 63 proof
	// lines and a checkpoint with its signatures fit well within it.
	MaxRequestBytes = 64 << 10
)

// A Request is the body of an add-checkpoint call: the size of the
// checkpoint the witness last cosigned for the log, a consistency proof
// from that size to the checkpoint's, and the signed checkpoint note.
type Request struct {
	// OldSize is the size of the previous checkpoint (0: none).
	OldSize uint64
	// Proof is the RFC 6962 consistency proof from OldSize to the
	// checkpoint's size; empty when OldSize is 0 or equals that size.
	Proof tlog.TreeProof
	// Checkpoint is the signed checkpoint note.
	Checkpoint []byte
}

// Marshal encodes r as an add-checkpoint request body.
func (r Request) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("old ")
	b.WriteString(strconv.FormatUint(r.OldSize, 10))
	b.WriteByte('\n')
	for _, h := range r.Proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(r.Checkpoint)
	return b.Bytes()
}

// ParseRequest decodes an add-checkpoint request body. It checks the form
// only (the old size line, at most MaxProofHashes canonical base64 hashes,
// an empty proof when the old size is 0, an empty line, a non-empty
// checkpoint); the witness checks the checkpoint and the proof.
func ParseRequest(body []byte) (Request, error) {
	if len(body) > MaxRequestBytes {
		return Request{}, fmt.Errorf("request: %d bytes, more than %d", len(body), MaxRequestBytes)
	}
	line, rest, ok := bytes.Cut(body, []byte("\n"))
	if !ok {
		return Request{}, errors.New("request: old size line: missing newline")
	}
	num, ok := bytes.CutPrefix(line, []byte("old "))
	if !ok {
		return Request{}, errors.New(`request: old size line: must be "old <size>"`)
	}
	old, err := strconv.ParseUint(string(num), 10, 64)
	if err != nil || strconv.FormatUint(old, 10) != string(num) {
		return Request{}, fmt.Errorf("request: old size %q: must be a decimal number without leading zeroes", num)
	}
	r := Request{OldSize: old}
	for {
		line, rest, ok = bytes.Cut(rest, []byte("\n"))
		if !ok {
			return Request{}, errors.New("request: missing the empty line before the checkpoint")
		}
		if len(line) == 0 {
			break
		}
		if len(r.Proof) == MaxProofHashes {
			return Request{}, fmt.Errorf("request: more than %d consistency proof lines", MaxProofHashes)
		}
		h, err := base64.StdEncoding.DecodeString(string(line))
		if err != nil || len(h) != tlog.HashSize || base64.StdEncoding.EncodeToString(h) != string(line) {
			return Request{}, fmt.Errorf("request: consistency proof line %d: must be a %d-byte hash in base64", len(r.Proof)+1, tlog.HashSize)
		}
		r.Proof = append(r.Proof, tlog.Hash(h))
	}
	if old == 0 && len(r.Proof) != 0 {
		return Request{}, errors.New("request: the consistency proof must be empty when the old size is 0")
	}
	if len(rest) == 0 {
		return Request{}, errors.New("request: missing the checkpoint")
	}
	r.Checkpoint = rest
	return r, nil
}
