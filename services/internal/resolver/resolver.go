package resolver

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pedigree-project/pedigree/services/internal/edge"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// Config configures the resolver.
type Config struct {
	// Rate is the requests per second each client address may make
	// (token bucket refill); 0 turns the limit off.
	Rate float64
	// Burst is the bucket size: the requests a client may make at once.
	Burst int
	// PublicURL is the resolver's root as printed codes reach it, e.g.
	// "https://verify.example.org" (no trailing slash). Empty: the
	// scheme and Host of each request.
	PublicURL string
}

// DefaultConfig returns 5 requests per second per client, bursts of 20.
func DefaultConfig() Config { return Config{Rate: 5, Burst: 20} }

// Validate names the first wrong field.
func (c Config) Validate() error {
	switch {
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("resolver-rate: must be a finite number >= 0, got %v", c.Rate)
	case c.Rate > 0 && (c.Burst < 1 || c.Burst > 10000):
		return fmt.Errorf("resolver-burst: must be 1–10000 when resolver-rate is set, got %d", c.Burst)
	case c.PublicURL != "" && !validRoot(c.PublicURL):
		return fmt.Errorf("resolver-url: must be http(s)://host[:port] with an optional path and no trailing slash, query or fragment, got %q", c.PublicURL)
	}
	return nil
}

// validRoot accepts http(s)://host[:port][/path] without a trailing slash.
func validRoot(s string) bool {
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "http://"); !ok {
			return false
		}
	}
	host, path, _ := strings.Cut(rest, "/")
	if !validHost(host) || strings.HasSuffix(s, "/") || len(s) > 200 {
		return false
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/", c) >= 0) {
			return false
		}
	}
	return true
}

// validHost accepts a host name, IPv4 or bracketed IPv6, with a port.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-.:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// Resolver serves the resolver's routes.
type Resolver struct {
	cfg     Config
	store   *state.Store
	now     func() time.Time
	logger  *slog.Logger
	limit   *limiter
	answers *prometheus.CounterVec
}

// New returns a resolver reading store, judging expiry at now(). reg
// receives the answers metric (nil: not registered); logger only hears of
// state read failures, never of a request.
func New(cfg Config, store *state.Store, now func() time.Time, reg prometheus.Registerer, logger *slog.Logger) (*Resolver, error) {
	if store == nil || now == nil || logger == nil {
		return nil, errors.New("resolver: store, clock and logger are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("resolver: %w", err)
	}
	r := &Resolver{cfg: cfg, store: store, now: now, logger: logger, limit: newLimiter(cfg.Rate, cfg.Burst),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pedigree_resolver_answers_total",
			Help: "Answers of the public Digital Link resolver by kind (genuine, unknown, mismatch, ...; invalid: unreadable code; limited: rate limited). No identifiers.",
		}, []string{"answer"}),
	}
	for _, k := range kinds {
		r.answers.WithLabelValues(string(k))
	}
	if reg != nil {
		if err := reg.Register(r.answers); err != nil {
			return nil, fmt.Errorf("resolver: register metric: %w", err)
		}
	}
	return r, nil
}

// The resolver's own routes besides Digital Link paths.
const (
	wellKnownPath = "/.well-known/gs1resolver"
	assetPrefix   = "/resolver/assets/"
	recallPrefix  = "/resolver/recall-status"
)

// reserved reports whether path is under the node's own routes on the
// HTTP port, present and planned (the REST API, EPCIS, the console):
// never the resolver's, whatever their IDs look like.
func reserved(path string) bool {
	for _, p := range [...]string{"/v1", "/epcis", "/ui"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// Claims reports whether the resolver serves path: its own routes, a
// Digital Link path with a GTIN key (after any leading path), or what
// looks like a compressed Digital Link. Paths under the node's own
// routes (reserved) are never its.
func Claims(path string) bool {
	if reserved(path) {
		return false
	}
	switch {
	case path == wellKnownPath, strings.HasPrefix(path, "/resolver/"):
		return true
	}
	return hasKeySegment(path) || compressed(path)
}

// Wrap returns a handler that serves the paths the resolver claims and
// passes every other request to next.
func (r *Resolver) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if Claims(req.URL.Path) {
			r.ServeHTTP(w, req)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// ServeHTTP answers one request.
func (r *Resolver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	securityHeaders(h)
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the resolver answers GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	if wait, ok := r.limit.admit(req.RemoteAddr, time.Now()); !ok {
		r.answers.WithLabelValues("limited").Inc()
		h.Set("Retry-After", edge.RetryAfter(wait))
		http.Error(w, "too many requests: try again in a few seconds", http.StatusTooManyRequests)
		return
	}
	path := req.URL.EscapedPath()
	switch {
	case path == wellKnownPath:
		writeJSON(w, "application/json", http.StatusOK, description(r.root(req)))
	case strings.HasPrefix(path, assetPrefix):
		serveAsset(w, req, strings.TrimPrefix(path, assetPrefix))
	case strings.HasPrefix(path, recallPrefix+"/"):
		r.recallStatus(w, req, strings.TrimPrefix(path, recallPrefix))
	case strings.HasPrefix(path, "/resolver/"):
		http.NotFound(w, req)
	default:
		r.pack(w, req, path)
	}
}

// securityHeaders are on every answer: no script, no framing, nothing
// fetched from elsewhere, no referrer, no caching, no sniffing.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// root is the resolver's root URL for links: the configured one, or the
// request's scheme and (validated) Host.
func (r *Resolver) root(req *http.Request) string {
	if r.cfg.PublicURL != "" {
		return r.cfg.PublicURL
	}
	scheme, host := "http://", req.Host
	if req.TLS != nil {
		scheme = "https://"
	}
	if !validHost(host) {
		host = "localhost"
	}
	return scheme + host
}

// wants is the representation a request asks for.
type wants int

const (
	wantsHTML wants = iota
	wantsLinkset
	wantsJSON
)

// negotiate reads the Accept header: a linkset for application/linkset+json
// or application/json (when text/html is not also asked for), else HTML.
func negotiate(req *http.Request) wants {
	accept := strings.ToLower(req.Header.Get("Accept"))
	switch {
	case strings.Contains(accept, linksetMediaType):
		return wantsLinkset
	case strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html"):
		return wantsJSON
	}
	return wantsHTML
}

// pack answers for a pack's Digital Link.
func (r *Resolver) pack(w http.ResponseWriter, req *http.Request, path string) {
	h := w.Header()
	h.Set("Vary", "Accept")
	h.Set("Access-Control-Allow-Origin", "*")
	want := negotiate(req)
	code, err := parsePack(path, req.URL.RawQuery)
	if err != nil {
		r.answers.WithLabelValues("invalid").Inc()
		status := http.StatusBadRequest
		if errors.Is(err, errTooLong) {
			status = http.StatusRequestURITooLong
		}
		if want == wantsHTML {
			renderError(w, status, err.Error())
			return
		}
		writeJSON(w, "application/json", status, map[string]string{"error": err.Error()})
		return
	}
	a, err := decide(r.store, code, r.now())
	if err != nil {
		r.logger.Error("resolver: read state", "err", err)
		if want == wantsHTML {
			renderError(w, http.StatusServiceUnavailable, "The check could not be made just now. Try again in a minute.")
			return
		}
		writeJSON(w, "application/json", http.StatusServiceUnavailable, map[string]string{"error": "the check could not be made just now"})
		return
	}
	r.answers.WithLabelValues(string(a.Kind)).Inc()
	root := r.root(req)
	l := itemLinks(root, a)
	h.Set("Link", linkHeader(l))
	if lt := req.URL.Query().Get("linkType"); lt != "" {
		if lt == "all" || lt == "linkset" {
			writeJSON(w, linksetMediaType, http.StatusOK, linkset(root, a, l))
			return
		}
		// The standard: redirect to the link of the type asked for, or to
		// the default link when the item has none of that type.
		t := l[relDefault]
		if rel, known := requestedRel(lt); known {
			if found, has := l[rel]; has {
				t = found
			}
		}
		http.Redirect(w, req, t.Href, http.StatusTemporaryRedirect)
		return
	}
	switch want {
	case wantsLinkset:
		writeJSON(w, linksetMediaType, http.StatusOK, linkset(root, a, l))
	case wantsJSON:
		writeJSON(w, "application/json", http.StatusOK, linkset(root, a, l))
	default:
		renderAnswer(w, a)
	}
}

// recallStatus answers a batch's recall status: /01/{gtin}/10/{lot}.
func (r *Resolver) recallStatus(w http.ResponseWriter, req *http.Request, path string) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	code, err := parseDL(path, "")
	if err == nil && (code.GTIN == "" || code.Lot == "" || code.Serial != "" || len(code.Elements) != 2) {
		err = errors.New("the recall status is asked as /01/{gtin}/10/{lot}")
	}
	if err != nil {
		writeJSON(w, "application/json", http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	view := r.store.NewView()
	b, ok := view.BatchRecord(code.GTIN, code.Lot)
	if view.Err != nil {
		r.logger.Error("resolver: read state", "err", view.Err)
		writeJSON(w, "application/json", http.StatusServiceUnavailable, map[string]string{"error": "the check could not be made just now"})
		return
	}
	status := "not recalled"
	switch {
	case !ok:
		status = "unknown batch"
	case b.GetRecalled():
		status = "recalled"
	case b.GetWithdrawn():
		status = "withdrawn"
	}
	writeJSON(w, "application/json", http.StatusOK, map[string]any{
		"gtin": code.GTIN, "lot": code.Lot, "status": status,
		"recalled": ok && (b.GetRecalled() || b.GetWithdrawn()),
	})
}

// writeJSON writes v as JSON with content type ct.
func writeJSON(w http.ResponseWriter, ct string, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
