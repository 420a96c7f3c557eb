package epcisapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/pedigree-project/pedigree/services/internal/auth"
)

// postCapture is POST /epcis/capture: the document is checked whole, its
// events are published, the job is stored, and the answer is 202 with the
// job's Location; the job finishes in the background.
func (h *Handler) postCapture(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	body, f, b, err := h.readCapture(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	prep, err := h.cfg.Preparer.Prepare(body, f, p.Party.GetGln(), b)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	j, err := h.startJob(r.Context(), p, prep, b)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", jobPath(j.GetCaptureId()))
	w.WriteHeader(http.StatusAccepted)
}

// postEvent is POST /epcis/events: one event (a JSON-LD event, or a
// document of one event), captured as a job of its own. The binding's
// answer is synchronous: once the ledger recorded the event, 201 with the
// event's Location and the job with its receipt; refused, the problem (409
// for an event ID this party used for another event); when the ledger
// does not answer in time, 202 with the job's Location.
func (h *Handler) postEvent(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	body, f, b, err := h.readCapture(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if f == JSON {
		if body, err = asDocument(body, h.cfg.Now()); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	prep, err := h.cfg.Preparer.Prepare(body, f, p.Party.GetGln(), b)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if prep.Total != 1 {
		h.fail(w, r, &DocError{Status: http.StatusBadRequest, Field: "epcisBody/eventList", Msg: fmt.Sprintf("one event, got %d: capture several with POST %s/capture", prep.Total, Root)})
		return
	}
	j, err := h.startJob(r.Context(), p, prep, b)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	loc := jobPath(j.GetCaptureId())
	done, err := h.awaitJob(r.Context(), p.Party.GetGln(), j.GetCaptureId(), eventWait)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Location", loc)
	if done == nil {
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	view, err := h.jobView(r.Context(), done, false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(view.Errors) > 0 {
		pr := view.Errors[0]
		pr.Instance = loc
		if ev := view.Receipt; ev != nil && len(ev.Events) == 1 && ev.Events[0].Code == "ALREADY_EXISTS" {
			pr.Status, pr.Type, pr.Title = http.StatusConflict, problemType(http.StatusConflict), "Event ID already used"
		}
		writeProblemBody(w, pr.Status, pr)
		return
	}
	w.Header().Set("Location", Root+"/events/"+url.PathEscape(view.Receipt.Events[0].EventID))
	writeJSON(w, http.StatusCreated, view)
}

// eventWait bounds how long POST /epcis/events waits for the ledger.
const eventWait = 10 * time.Second

// jobPath is the Location of a capture job.
func jobPath(id string) string { return Root + "/capture/" + id }

// preallocBytes bounds the buffer reserved for a capture body ahead of
// reading it.
const preallocBytes = 4 << 20

// readCapture reads a capture request: its format, its behaviour, and its
// body, refused with 413 before it is read when it declares more than the
// limit, and read no further than the limit.
func (h *Handler) readCapture(w http.ResponseWriter, r *http.Request) ([]byte, Format, Behaviour, error) {
	f, err := FormatOf(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, 0, 0, err
	}
	b, err := ParseBehaviour(r.Header.Get("GS1-Capture-Error-Behaviour"))
	if err != nil {
		return nil, 0, 0, err
	}
	limit := h.cfg.Preparer.Limits().MaxBytes
	if r.ContentLength > limit {
		return nil, 0, 0, tooLarge(r.ContentLength, limit)
	}
	// A declared length is read into a buffer of that size, not one
	// grown by doubling, up to preallocBytes: a client that declares more
	// than it sends reserves no more than that.
	buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 0), preallocBytes)+bytes.MinRead))
	_, err = buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	body := buf.Bytes()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, 0, 0, tooLarge(mbe.Limit+1, limit)
		}
		return nil, 0, 0, &DocError{Status: http.StatusBadRequest, Msg: "reading the body: " + err.Error()}
	}
	if int64(len(body)) > limit {
		return nil, 0, 0, tooLarge(int64(len(body)), limit)
	}
	return body, f, b, nil
}

// tooLarge refuses a body of n bytes (at least) over limit.
func tooLarge(n, limit int64) *DocError {
	return &DocError{Status: http.StatusRequestEntityTooLarge, Field: "GS1-EPCIS-Capture-File-Size-Limit",
		Msg: fmt.Sprintf("the document is more than %d bytes (at least %d)", limit, n)}
}

// asDocument makes a JSON-LD body that is one event into a document of that
// event; a document is returned as it is.
func asDocument(body []byte, now time.Time) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, &DocError{Status: http.StatusBadRequest, Msg: "not a JSON object: " + err.Error()}
	}
	var typ string
	if raw, ok := top["type"]; ok {
		_ = json.Unmarshal(raw, &typ)
	}
	if typ == "EPCISDocument" || typ == "EPCISQueryDocument" {
		return body, nil
	}
	ctx, ok := top["@context"]
	if !ok {
		ctx = json.RawMessage(`"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"`)
	}
	delete(top, "@context")
	ev, err := json.Marshal(top)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"@context":`)
	b.Write(ctx)
	b.WriteString(`,"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"`)
	b.WriteString(now.UTC().Format(time.RFC3339))
	b.WriteString(`","epcisBody":{"eventList":[`)
	b.Write(ev)
	b.WriteString(`]}}`)
	return b.Bytes(), nil
}
