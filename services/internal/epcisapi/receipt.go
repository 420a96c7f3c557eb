package epcisapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
	ledgerentry "github.com/pedigree-project/pedigree/ledger/entry"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/pagetoken"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// JobView is a capture job as the binding shows it (CaptureJob), with the
// node's receipt once it has finished.
type JobView struct {
	CaptureID             string    `json:"captureID"`
	CreatedAt             string    `json:"createdAt"`
	FinishedAt            string    `json:"finishedAt,omitempty"`
	Running               bool      `json:"running"`
	Success               bool      `json:"success"`
	CaptureErrorBehaviour string    `json:"captureErrorBehaviour"`
	Errors                []problem `json:"errors"`
	// Receipt is what the ledger made of the job's events, provable
	// offline; set once the job has finished, when it published any.
	Receipt *Receipt `json:"receipt,omitempty"`
}

// Receipt proves what became of a capture's events: each event's outcome
// and ledger entry, a checkpoint signed by the node (with any witness
// cosignatures), and the RFC 6962 inclusion proof of every entry named
// against that checkpoint. An event's proof is that of the entry its
// ledgerIndex (or, for a duplicate, duplicateOf) names. The entry's bytes,
// whose leaf hash is SHA-256(0x00 ‖ bytes), come with the receipt when
// asked (?entries=true), and are at /v1/ledger/entries/{index}: they hold
// the signed envelope with each event as captured.
type Receipt struct {
	Checkpoint CheckpointView `json:"checkpoint"`
	Events     []EventReceipt `json:"events"`
	Entries    []EntryProof   `json:"entries"`
}

// CheckpointView is a signed checkpoint (C2SP tlog-checkpoint note).
type CheckpointView struct {
	Note        string `json:"note"`
	Size        uint64 `json:"size"`
	RootHash    []byte `json:"rootHash"`
	VerifierKey string `json:"verifierKey,omitempty"`
}

// Outcomes of an event in a receipt.
const (
	outcomeRecorded  = "recorded"
	outcomeDuplicate = "duplicate"
	outcomeRefused   = "refused"
)

// EventReceipt is one published event's outcome.
type EventReceipt struct {
	EventID  string `json:"eventID"`
	Position int    `json:"position"`
	// LedgerIndex is the entry that holds the event as this capture sent
	// it; absent when the ledger has no entry of it.
	LedgerIndex *uint64 `json:"ledgerIndex,omitempty"`
	// Outcome is "recorded", "duplicate" (the party had recorded it
	// already, at DuplicateOf) or "refused" (Code, Reason).
	Outcome     string      `json:"outcome"`
	DuplicateOf *uint64     `json:"duplicateOf,omitempty"`
	Code        string      `json:"code,omitempty"`
	Reason      string      `json:"reason,omitempty"`
	Alerts      []AlertView `json:"alerts,omitempty"`
}

// AlertView is an alert an event raised.
type AlertView struct {
	AlertID string `json:"alertID"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// EntryProof is the inclusion proof of one ledger entry against the
// receipt's checkpoint.
type EntryProof struct {
	LedgerIndex    uint64   `json:"ledgerIndex"`
	LeafHash       []byte   `json:"leafHash"`
	InclusionProof [][]byte `json:"inclusionProof"`
	// Data is the entry as the ledger stores it (docs/ledger-format.md),
	// when asked.
	Data []byte `json:"data,omitempty"`
}

// getJob is GET /epcis/capture/{captureID}: the caller's job; another
// party's is not found. With ?entries=true the receipt carries the bytes
// of the entries it proves.
func (h *Handler) getJob(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, Root+"/capture/"), "/")
	if v, _, ok := h.runningView(p.Party.GetGln(), id); ok {
		writeJSON(w, http.StatusOK, v)
		return
	}
	withData := r.URL.Query().Get("entries") == "true"
	if b, ok := h.finished.get(p.Party.GetGln(), id); ok && !withData {
		writeEncoded(w, http.StatusOK, b)
		return
	}
	j, err := h.store.CaptureJob(p.Party.GetGln(), id)
	if errors.Is(err, state.ErrNotFound) {
		err = apierr.NotFound("%v: %s", errNoJob, id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.jobView(r.Context(), j, withData)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// listJobs is GET /epcis/capture: the caller's jobs, newest first, perPage
// (1–100, default 30) at a time, without their receipts; the next page's
// URL is in the Link header.
func (h *Handler) listJobs(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	q := pagetoken.For(Root+"/capture", p.Party.GetGln())
	per := 30
	if s := r.URL.Query().Get("perPage"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			h.fail(w, r, &DocError{Status: http.StatusBadRequest, Field: "perPage", Msg: "1–100, got " + strconv.Quote(s)})
			return
		}
		per = n
	}
	after, err := q.After(r.URL.Query().Get("nextPageToken"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	jobs, err := h.store.CaptureJobs(p.Party.GetGln(), after, per+1)
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		h.fail(w, r, err)
		return
	}
	out := make([]JobView, 0, len(jobs))
	for i, j := range jobs {
		if i == per {
			v := url.Values{"perPage": {strconv.Itoa(per)}, "nextPageToken": {q.Token(jobs[per-1].GetCaptureId())}}
			w.Header().Set("Link", "<"+Root+"/capture?"+v.Encode()+`>; rel="next"`)
			break
		}
		out = append(out, summary(j))
	}
	writeJSON(w, http.StatusOK, out)
}

// summary is a job without its receipt, its errors those found before
// publishing.
func summary(j *pb.EpcisCaptureJob) JobView {
	v := JobView{
		CaptureID: j.GetCaptureId(), CreatedAt: timeString(j.GetCreatedAt().AsTime()),
		Running: j.GetFinishedAt() == nil, Success: !j.GetFailed() && len(j.GetErrors()) == 0,
		CaptureErrorBehaviour: j.GetCaptureErrorBehaviour(), Errors: []problem{},
	}
	if j.GetFinishedAt() != nil {
		v.FinishedAt = timeString(j.GetFinishedAt().AsTime())
	}
	for _, e := range j.GetErrors() {
		v.Errors = append(v.Errors, problem{Type: "epcisException:ValidationException", Title: "Event not captured",
			Status: http.StatusBadRequest, Detail: e.GetMessage(), Instance: eventPointer(e.GetPosition()),
			Pointer: e.GetField(), EventID: e.GetEventId()})
	}
	return v
}

// eventPointer is the JSON pointer of the event at position i.
func eventPointer(i uint32) string {
	return "/epcisBody/eventList/" + strconv.FormatUint(uint64(i), 10)
}

func timeString(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// jobView is j with, once it has finished, its receipt; the events the
// ledger refused are among its errors.
func (h *Handler) jobView(ctx context.Context, j *pb.EpcisCaptureJob, withData bool) (JobView, error) {
	v := summary(j)
	if v.Running || len(j.GetChunks()) == 0 {
		return v, nil
	}
	evs, err := h.outcomes(ctx, j)
	if err != nil {
		return v, err
	}
	return h.viewWith(ctx, j, evs, withData)
}

// viewWith is jobView of a finished job j whose events' outcomes are evs
// (outcomes).
func (h *Handler) viewWith(ctx context.Context, j *pb.EpcisCaptureJob, evs []EventReceipt, withData bool) (JobView, error) {
	v := summary(j)
	rc := &Receipt{Events: evs}
	var indexes []uint64
	for _, e := range evs {
		if e.Outcome == outcomeRefused {
			v.Errors = append(v.Errors, problem{Type: "epcisException:ValidationException", Title: "Event refused by the ledger",
				Status: http.StatusBadRequest, Detail: e.Reason, Instance: eventPointer(uint32(e.Position)), EventID: e.EventID})
		}
		for _, i := range []*uint64{e.LedgerIndex, e.DuplicateOf} {
			if i != nil {
				indexes = append(indexes, *i)
			}
		}
	}
	slices.Sort(indexes)
	indexes = slices.Compact(indexes)
	if len(indexes) > 0 {
		if err := h.prove(ctx, rc, indexes, withData); err != nil {
			return v, err
		}
	}
	v.Receipt = rc
	return v, nil
}

// prove adds to rc a checkpoint covering every index, and each index's
// inclusion proof against it (withData: and the entry's bytes).
func (h *Handler) prove(ctx context.Context, rc *Receipt, indexes []uint64, withData bool) error {
	cp, err := h.cfg.Checkpoint(ctx, indexes[len(indexes)-1])
	if err != nil {
		return err
	}
	rc.Checkpoint = CheckpointView{Note: string(cp.Note), Size: cp.Size, RootHash: cp.Root[:], VerifierKey: cp.VerifierKey}
	rc.Entries = make([]EntryProof, len(indexes))
	return inParallel(len(indexes), func(k int) error {
		i := indexes[k]
		proof, err := h.cfg.Log.InclusionProof(ctx, i, cp.Size)
		if err != nil {
			return err
		}
		ep := EntryProof{LedgerIndex: i, InclusionProof: make([][]byte, len(proof))}
		if err := h.cfg.Log.Entries(ctx, i, i+1, func(e ledger.Entry) error {
			leaf := e.LeafHash()
			ep.LeafHash = leaf[:]
			if withData {
				ep.Data = bytes.Clone(e.Data) // e.Data is the ledger's until this returns
			}
			return nil
		}); err != nil {
			return err
		}
		for k := range proof {
			ep.InclusionProof[k] = proof[k][:]
		}
		rc.Entries[k] = ep
		return nil
	})
}

// inParallel calls fn(k) for every k in [0, n) on up to GOMAXPROCS
// goroutines and returns the error of the lowest k that failed; a panic in
// fn is an error.
func inParallel(n int, fn func(k int) error) error {
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= n {
					return
				}
				errs[k] = func() (err error) {
					defer func() {
						if r := recover(); r != nil {
							err = fmt.Errorf("epcisapi: %v", r)
						}
					}()
					return fn(k)
				}()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// outcomes reads what the ledger made of each published event of a job
// whose chunks have their entries (finish).
func (h *Handler) outcomes(ctx context.Context, j *pb.EpcisCaptureJob) ([]EventReceipt, error) {
	entries := make([]*pb.LedgerEntry, len(j.GetChunks()))
	err := inParallel(len(entries), func(k int) error {
		c := j.GetChunks()[k]
		if !c.GetRecorded() {
			return nil
		}
		// Read in place, without the envelope: only the outcomes count.
		i := c.GetLedgerIndex()
		return h.cfg.Log.Entries(ctx, i, i+1, func(e ledger.Entry) error {
			var err error
			if entries[k], err = ledgerentry.DecodeMeta(e.Data); err != nil {
				return fmt.Errorf("epcisapi: ledger entry %d: %w", i, err)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return h.outcomesOf(j, entries)
}

// outcomesOf is outcomes of a job whose chunks' entries (without their
// envelopes) are entries, nil for a chunk not recorded.
func (h *Handler) outcomesOf(j *pb.EpcisCaptureJob, entries []*pb.LedgerEntry) ([]EventReceipt, error) {
	size := int(max(j.GetChunkSize(), 1))
	out := make([]EventReceipt, 0, len(j.GetEvents()))
	for k, c := range j.GetChunks() {
		from := k * size
		if from >= len(j.GetEvents()) {
			break
		}
		evs := j.GetEvents()[from:min(from+size, len(j.GetEvents()))]
		entry := entries[k]
		// The entry is this capture's own unless the stream or the ledger
		// took the envelope for a retry of one recorded before.
		own := entry != nil && !c.GetStreamDuplicate() && entry.GetStreamSequence() == c.GetStreamSequence()
		for off, ev := range evs {
			er, err := h.outcome(j.GetPartyGln(), ev, off, entry, own)
			if err != nil {
				return nil, err
			}
			if c.GetConflict() != "" {
				er = EventReceipt{EventID: er.EventID, Position: er.Position, Outcome: outcomeRefused, Code: "ALREADY_EXISTS", Reason: c.GetConflict()}
			}
			out = append(out, er)
		}
	}
	return out, nil
}

// outcome is the receipt of event ev, at offset off of its envelope, from
// entry (nil: the ledger has none), which is the capture's own or the one
// that recorded it first.
func (h *Handler) outcome(party string, ev *pb.EpcisCaptureEvent, off int, entry *pb.LedgerEntry, own bool) (EventReceipt, error) {
	er := EventReceipt{EventID: ev.GetEventId(), Position: int(ev.GetPosition())}
	ids := entry.GetEventIds()
	if off >= len(ids) || ids[off] != ev.GetEventId() {
		off = slices.Index(ids, ev.GetEventId())
	}
	if entry == nil || off < 0 || off >= len(entry.GetOutcomes()) {
		er.Outcome, er.Code, er.Reason = outcomeRefused, "NOT_RECORDED", "the ledger has no entry of this event: the node refused its envelope (dead letter)"
		return er, nil
	}
	o := entry.GetOutcomes()[off]
	index := entry.GetIndex()
	switch {
	case !o.GetApplied() && !o.GetDuplicate():
		er.Outcome, er.Code, er.Reason = outcomeRefused, strings.TrimPrefix(o.GetCode().String(), "OUTCOME_CODE_"), o.GetReason()
		if own {
			er.LedgerIndex = &index
		}
	case own && o.GetApplied():
		er.Outcome, er.LedgerIndex = outcomeRecorded, &index
		for _, a := range o.GetAlerts() {
			er.Alerts = append(er.Alerts, AlertView{AlertID: a.GetAlertId(), Code: strings.TrimPrefix(a.GetCode().String(), "ALERT_CODE_"), Message: a.GetMessage()})
		}
	default:
		er.Outcome = outcomeDuplicate
		if own {
			er.LedgerIndex = &index
		}
		first, ok, err := h.store.EventIndex(envelope.ScopedEventID(party, ev.GetEventId()))
		if err != nil {
			return er, err
		}
		if !ok {
			first = index
		}
		er.DuplicateOf = &first
	}
	return er, nil
}
