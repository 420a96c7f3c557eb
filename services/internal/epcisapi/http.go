package epcisapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/edge"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/services/internal/submit"
	"github.com/pedigree-project/pedigree/services/internal/writer"
)

// Versions the node speaks (headers GS1-EPCIS-Version, GS1-CBV-Version,
// GS1-EPCIS-Min and GS1-EPCIS-Max).
const (
	EPCISVersion    = "2.0.0"
	CBVVersion      = "2.0.0"
	EPCISMinVersion = "1.2.0"
)

// Root is the path under which the node serves the binding.
const Root = "/epcis"

// Config are the capture interface's dependencies.
type Config struct {
	// Preparer reads capture bodies, with the node's limits.
	Preparer *Preparer
	// Writer waits for the ledger, and holds the state the envelopes are
	// checked against.
	Writer *writer.Writer
	// Seal seals an envelope for publishing (submit.Submitter.Seal); it
	// must be safe for concurrent use.
	Seal func(env *pb.Envelope) (submit.Sealed, error)
	// Publish publishes an envelope Seal sealed, its events checked
	// (submit.Submitter.PublishSealed).
	Publish func(ctx context.Context, m submit.Sealed) (submit.Result, error)
	// Checked is the node's memory of envelopes whose captured events
	// were checked, which its ledger's pipeline consults; nil: none.
	Checked *envelope.CheckedEPCIS
	// Log is the ledger: the entries and proofs of receipts.
	Log *ledger.Log
	// Checkpoint returns a signed checkpoint whose tree holds entry index
	// (witness.Collector.Covering).
	Checkpoint func(ctx context.Context, index uint64) (ledger.Checkpoint, error)
	// Lookup finds the ledger entry that recorded a message ID.
	Lookup submit.Lookup
	// Authenticator checks bearer tokens, as for the REST API.
	Authenticator *auth.Authenticator
	// Limits charges each request to its caller's budget; nil: none.
	Limits *edge.Limits
	// Logger logs failures (never bodies or tokens).
	Logger *slog.Logger
	// Now is the clock of job times.
	Now func() time.Time
	// ChunkSize is the number of events per published envelope (1–1,000);
	// 0: DefaultChunkSize.
	ChunkSize int
	// JobRetention is how long a finished capture job is kept; 0 keeps
	// every job. Start sweeps older ones hourly.
	JobRetention time.Duration
}

// DefaultJobRetention is how long a node keeps a finished capture job
// unless configured: a trading partner reads a job's state soon after
// capturing, and keeps its receipt.
const DefaultJobRetention = 30 * 24 * time.Hour

// jobSweepEvery is how often finished capture jobs past their retention
// are deleted, and sweepBatch how many at most in one go.
const (
	jobSweepEvery = time.Hour
	sweepBatch    = 10_000
)

// DefaultChunkSize is the number of events per envelope a capture is
// published in, the size of a native bulk capture.
const DefaultChunkSize = 100

// Handler serves the EPCIS 2.0 REST binding under Root: the capture
// interface itself (/epcis/capture…, POST /epcis/events, OPTIONS), and
// the rest of /epcis through Query.
type Handler struct {
	// Query serves the requests under Root that are not capture's (GET
	// /epcis/events…, /epcis/eventTypes, …); nil: 404.
	Query http.Handler

	cfg   Config
	store *state.Store

	// Jobs that run: started by requests or by Start, finished in the
	// background under ctx. running holds them by capture ID, so that a
	// client polling a job does not read its stored events each time.
	mu      sync.Mutex
	ctx     context.Context
	jobs    sync.WaitGroup
	running map[string]*runningJob
	// finished holds the encoded views of the jobs this node finished
	// last, so that the client that waited for one reads its receipt
	// without the ledger being read and proven again.
	finished viewCache
}

// runningJob is a job being finished: its summary, and done, closed once
// it is stored finished.
type runningJob struct {
	view  JobView
	party string
	done  chan struct{}
}

// New returns the handler. Call Start before serving, so that the jobs a
// previous run left running finish.
func New(cfg Config) (*Handler, error) {
	if cfg.Preparer == nil || cfg.Writer == nil || cfg.Seal == nil || cfg.Publish == nil || cfg.Log == nil || cfg.Checkpoint == nil || cfg.Lookup == nil || cfg.Authenticator == nil || cfg.Logger == nil {
		return nil, errors.New("epcisapi: preparer, writer, seal, publish, log, checkpoint, lookup, authenticator and logger are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = DefaultChunkSize
	}
	if cfg.ChunkSize < 1 || cfg.ChunkSize > 1000 {
		return nil, fmt.Errorf("epcisapi: chunk size: 1–1,000 events, got %d", cfg.ChunkSize)
	}
	return &Handler{cfg: cfg, store: cfg.Writer.Store(), running: map[string]*runningJob{}}, nil
}

// Start resumes the jobs a previous run left running; they and every job
// started later finish under ctx. Wait returns once they have, after ctx
// ended.
func (h *Handler) Start(ctx context.Context) error {
	h.mu.Lock()
	h.ctx = ctx
	h.mu.Unlock()
	if h.cfg.JobRetention > 0 {
		h.jobs.Go(func() { h.sweepJobs(ctx) })
	}
	return h.store.RunningCaptureJobs(func(j *pb.EpcisCaptureJob) error {
		h.finishLater(j)
		return nil
	})
}

// sweepJobs deletes the finished capture jobs older than the retention,
// at once and then every jobSweepEvery, until ctx ends.
func (h *Handler) sweepJobs(ctx context.Context) {
	t := time.NewTicker(jobSweepEvery)
	defer t.Stop()
	for {
		if _, err := h.SweepJobs(); err != nil {
			h.cfg.Logger.Warn("capture jobs past their retention were not deleted", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepJobs deletes the finished capture jobs created more than the
// retention ago (by the handler's clock) and returns how many it deleted.
func (h *Handler) SweepJobs() (int, error) {
	if h.cfg.JobRetention <= 0 {
		return 0, nil
	}
	cutoff := h.cfg.Now().Add(-h.cfg.JobRetention)
	h.finished.dropBefore(cutoff)
	total := 0
	for {
		n, err := h.store.DeleteCaptureJobsBefore(cutoff, sweepBatch)
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
	}
}

// Wait blocks until every job goroutine has returned; call it once no
// request is served any more and the context of Start has ended.
func (h *Handler) Wait() { h.jobs.Wait() }

// Wrap returns a handler serving the capture interface, the rest of Root
// through Query, and everything else through next.
func (h *Handler) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != Root && !strings.HasPrefix(r.URL.Path, Root+"/") {
			next.ServeHTTP(w, r)
			return
		}
		versionHeaders(w.Header())
		h.route(w, r)
	})
}

// route dispatches a request under Root.
func (h *Handler) route(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodOptions:
		h.options(w, r, path)
	case path == Root+"/capture" && r.Method == http.MethodPost:
		h.serveAuthenticated(w, r, pb.CaptureService_CaptureEvent_FullMethodName, h.postCapture)
	case path == Root+"/events" && r.Method == http.MethodPost:
		h.serveAuthenticated(w, r, pb.CaptureService_CaptureEvent_FullMethodName, h.postEvent)
	case path == Root+"/capture" && r.Method == http.MethodGet:
		h.serveAuthenticated(w, r, pb.LedgerService_GetInclusionProof_FullMethodName, h.listJobs)
	case strings.HasPrefix(path, Root+"/capture/") && r.Method == http.MethodGet:
		h.serveAuthenticated(w, r, pb.LedgerService_GetInclusionProof_FullMethodName, h.getJob)
	case path == Root+"/capture" || strings.HasPrefix(path, Root+"/capture/"):
		w.Header().Set("Allow", allowOf(path))
		writeProblem(w, r, http.StatusMethodNotAllowed, "epcisException:MethodNotAllowed", "Method not allowed", r.Method+" is not served on "+path, "")
	case h.Query != nil:
		h.Query.ServeHTTP(w, r)
	default:
		writeProblem(w, r, http.StatusNotFound, "epcisException:NoSuchResourceException", "Resource not found", "no resource "+path, "")
	}
}

// allowOf is the Allow header of a path: the collections capture and
// events take POST, everything else is read.
func allowOf(path string) string {
	if path == Root+"/capture" || path == Root+"/events" {
		return "OPTIONS, GET, POST"
	}
	return "OPTIONS, GET"
}

// options answers OPTIONS: what the node supports, with the capture
// limits on the capture resources. It needs no token.
func (h *Handler) options(w http.ResponseWriter, r *http.Request, path string) {
	if secs, err := h.cfg.Limits.Admit(pb.LedgerService_GetCheckpoint_FullMethodName, "", r.RemoteAddr); err != nil {
		w.Header().Set("Retry-After", secs)
		h.fail(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Allow", allowOf(path))
	hd.Set("GS1-EPCIS-Min", EPCISMinVersion)
	hd.Set("GS1-EPCIS-Max", EPCISVersion)
	hd.Set("GS1-CBV-Min", CBVVersion)
	hd.Set("GS1-CBV-Max", CBVVersion)
	hd.Set("GS1-Extensions", "")
	hd.Set("GS1-EPC-Format", "Always_GS1_Digital_Link")
	if path == Root || path == Root+"/capture" || path == Root+"/events" {
		l := h.cfg.Preparer.Limits()
		hd.Set("GS1-EPCIS-Capture-Limit", strconv.Itoa(l.MaxEvents))
		hd.Set("GS1-EPCIS-Capture-File-Size-Limit", strconv.FormatInt(l.MaxBytes, 10))
		hd.Set("GS1-Capture-Error-Behaviour", "rollback, proceed")
	}
	w.WriteHeader(http.StatusNoContent)
}

// versionHeaders sets the headers every response under Root carries.
func versionHeaders(h http.Header) {
	h.Set("GS1-EPCIS-Version", EPCISVersion)
	h.Set("GS1-CBV-Version", CBVVersion)
}

// serveAuthenticated authenticates the bearer token, charges the caller's
// budget of method, and calls fn with the caller.
func (h *Handler) serveAuthenticated(w http.ResponseWriter, r *http.Request, method string, fn func(http.ResponseWriter, *http.Request, *auth.Principal)) {
	p, err := h.cfg.Authenticator.Authenticate(metadata.NewIncomingContext(r.Context(), metadata.MD{"authorization": r.Header.Values("Authorization")}))
	if err != nil {
		// Charged to the address, as the REST API does.
		if secs, lerr := h.cfg.Limits.Admit(method, "", r.RemoteAddr); lerr != nil {
			w.Header().Set("Retry-After", secs)
			err = lerr
		}
		h.fail(w, r, err)
		return
	}
	if secs, err := h.cfg.Limits.Admit(method, p.Party.GetGln(), r.RemoteAddr); err != nil {
		w.Header().Set("Retry-After", secs)
		h.fail(w, r, err)
		return
	}
	fn(w, r.WithContext(auth.WithPrincipal(r.Context(), p)), p)
}

// problem is an RFC 7807 problem, as the binding's errors are, with the
// location of the fault when known.
type problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Pointer is the JSON pointer, XML element path or header at fault.
	Pointer string `json:"pointer,omitempty"`
	// Line is the XML line at fault.
	Line int `json:"line,omitempty"`
	// EventID names the event at fault, in a capture job's errors.
	EventID string `json:"eventID,omitempty"`
}

// writeProblem answers a problem as application/problem+json.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, typ, title, detail, pointer string) {
	writeProblemBody(w, status, problem{Type: typ, Title: title, Status: status, Detail: detail, Instance: r.URL.Path, Pointer: pointer})
}

func writeProblemBody(w http.ResponseWriter, status int, p problem) {
	b, err := json.Marshal(p)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// docProblem answers a refused document.
func docProblem(w http.ResponseWriter, r *http.Request, de *DocError) {
	p := problem{Status: de.Status, Detail: de.Msg, Instance: r.URL.Path, Pointer: de.Field, Line: de.Line}
	switch de.Status {
	case http.StatusRequestEntityTooLarge:
		p.Type, p.Title = "epcisException:CaptureLimitExceededException", "Capture Payload too large"
		w.Header().Set("Connection", "close")
	case http.StatusUnsupportedMediaType:
		p.Type, p.Title = "epcisException:UnsupportedMediaTypeException", "Unsupported Media Type"
	default:
		p.Type, p.Title = "epcisException:ValidationException", "EPCIS document validation failed"
	}
	writeProblemBody(w, de.Status, p)
}

// fail answers an error of the node's API (an *apierr.Error, a gRPC
// status, or an internal error, which is logged and not shown).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var de *DocError
	if errors.As(err, &de) {
		if de.Status == http.StatusRequestEntityTooLarge {
			l := h.cfg.Preparer.Limits()
			w.Header().Set("GS1-EPCIS-Capture-Limit", strconv.Itoa(l.MaxEvents))
			w.Header().Set("GS1-EPCIS-Capture-File-Size-Limit", strconv.FormatInt(l.MaxBytes, 10))
		}
		docProblem(w, r, de)
		return
	}
	code, msg, field := codes.Internal, "internal error", ""
	var ae *apierr.Error
	if errors.As(err, &ae) {
		code, msg, field = ae.Code, ae.Msg, ae.Field
	} else if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		code, msg = st.Code(), st.Message()
	}
	if code == codes.Internal || code == codes.Unknown {
		h.cfg.Logger.ErrorContext(r.Context(), "epcis request failed", "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	st := runtime.HTTPStatusFromCode(code)
	writeProblem(w, r, st, problemType(st), http.StatusText(st), msg, field)
}

// problemType is the binding's problem type of an HTTP status.
func problemType(st int) string {
	switch st {
	case http.StatusBadRequest:
		return "epcisException:ValidationException"
	case http.StatusUnauthorized, http.StatusForbidden:
		return "epcisException:SecurityException"
	case http.StatusNotFound:
		return "epcisException:NoSuchResourceException"
	case http.StatusConflict:
		return "epcisException:ResourceAlreadyExistsException"
	case http.StatusRequestEntityTooLarge:
		return "epcisException:CaptureLimitExceededException"
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return "epcisException:ServiceUnavailableException"
	}
	return "epcisException:ImplementationException"
}

// writeJSON answers v as JSON with status st.
func writeJSON(w http.ResponseWriter, st int, v any) {
	b, err := encodeJSON(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeEncoded(w, st, b)
}

// encodeJSON is v as writeJSON writes it.
func encodeJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// writeEncoded writes b, encoded by encodeJSON, with status st.
func writeEncoded(w http.ResponseWriter, st int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st)
	_, _ = w.Write(b)
}
