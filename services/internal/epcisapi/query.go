package epcisapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/pedigree-project/pedigree/epcis"
	"github.com/pedigree-project/pedigree/ledger"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/auth"
	"github.com/pedigree-project/pedigree/services/internal/pagetoken"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// Defaults of QueryConfig.
const (
	// DefaultPageWork bounds the ledger entries one page examines.
	DefaultPageWork = 10_000
	// DefaultTokenTTL is how long a nextPageToken is taken.
	DefaultTokenTTL = time.Hour
	// DefaultHeartbeat is the interval of a stream's heartbeat comments.
	DefaultHeartbeat = 15 * time.Second
)

// Commits tells of the ledger's commits: ingest.Pipeline implements it.
type Commits interface {
	// Applied returns the last stream sequence committed.
	Applied() uint64
	// WaitApplied blocks until stream sequence seq is committed, or ctx
	// ends, or consumption stopped.
	WaitApplied(ctx context.Context, seq uint64) error
}

// QueryConfig is what the query interface reads and how.
type QueryConfig struct {
	Store         *state.Store
	Ledger        *ledger.Log
	Authenticator *auth.Authenticator
	// Commits wakes subscriptions when the ledger grows.
	Commits Commits
	// Now is the clock of creation dates and token expiries (default
	// time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// PageWork bounds the ledger entries a page examines (default
	// DefaultPageWork): a page whose filters match few events may come
	// back short, or empty, with a next link.
	PageWork int
	// TokenTTL is how long a nextPageToken is taken (default
	// DefaultTokenTTL).
	TokenTTL time.Duration
	// Heartbeat is the interval of a stream's heartbeat comments (default
	// DefaultHeartbeat).
	Heartbeat time.Duration
}

// Query serves the EPCIS 2.0 query interface of the REST binding: GET
// /epcis/events (and ?stream=true), /epcis/events/{eventID},
// /epcis/epcs/{epc}/events, the vocabulary lists and their
// /{value}/events. It is safe for concurrent use.
type Query struct {
	cfg  QueryConfig
	rd   reader
	done chan struct{}
	stop sync.Once
}

// NewQuery returns the query handler; Store, Ledger, Authenticator,
// Commits and Logger are required.
func NewQuery(cfg QueryConfig) (*Query, error) {
	if cfg.Store == nil || cfg.Ledger == nil || cfg.Authenticator == nil || cfg.Commits == nil || cfg.Logger == nil {
		return nil, errors.New("epcisapi: Store, Ledger, Authenticator, Commits and Logger are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PageWork <= 0 {
		cfg.PageWork = DefaultPageWork
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	return &Query{cfg: cfg, rd: reader{store: cfg.Store, log: cfg.Ledger, work: cfg.PageWork}, done: make(chan struct{})}, nil
}

// Shutdown ends every stream being served (the node calls it when its
// HTTP server shuts down); later streams end at once.
func (q *Query) Shutdown() { q.stop.Do(func() { close(q.done) }) }

// Wrap serves the query requests and hands every other request to next.
func (q *Query) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q.route(r) == nil {
			next.ServeHTTP(w, r)
			return
		}
		q.ServeHTTP(w, r)
	})
}

// route is a query request's resource: the handler and the parameters the
// path adds to the query string.
type route struct {
	serve func(*Query, http.ResponseWriter, *http.Request, *request)
	param string // the parameter the path value is, for /{kind}/{value}/events
	value string
}

// route returns the resource of r, nil when r is no query request.
func (q *Query) route(r *http.Request) *route {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/epcis/")
	if !ok {
		return nil
	}
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	for i, s := range segs {
		v, err := url.PathUnescape(s)
		if err != nil {
			return nil
		}
		segs[i] = v
	}
	byValue := map[string]string{"eventTypes": "eventType", "bizSteps": "EQ_bizStep", "dispositions": "EQ_disposition",
		"readPoints": "EQ_readPoint", "bizLocations": "EQ_bizLocation", "epcs": "MATCH_anyEPC"}
	switch {
	case len(segs) == 1 && segs[0] == "events":
		return &route{serve: (*Query).events}
	case len(segs) == 2 && segs[0] == "events" && segs[1] != "":
		return &route{serve: (*Query).event, param: "EQ_eventID", value: segs[1]}
	case len(segs) == 1 && byValue[segs[0]] != "" && segs[0] != "epcs":
		return &route{serve: (*Query).collection, param: segs[0]}
	case len(segs) == 3 && byValue[segs[0]] != "" && segs[1] != "" && segs[2] == "events":
		return &route{serve: (*Query).events, param: byValue[segs[0]], value: segs[1]}
	}
	return nil
}

// request is an authenticated, parsed query request.
type request struct {
	caller   *pb.Party
	params   *Params
	resource string // the list a collection request names (bizSteps, …)
	xml      bool
}

// ServeHTTP answers a query request.
func (q *Query) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt := q.route(r)
	if rt == nil {
		queryProblem(w, http.StatusNotFound, "epcisException:NoSuchResourceException", "no such resource", r.URL.Path)
		return
	}
	caller, err := q.caller(r)
	if err != nil {
		queryProblem(w, http.StatusUnauthorized, "epcisException:SecurityException", "authorization", err.Error())
		return
	}
	req := &request{caller: caller, xml: wantsXML(r.Header.Get("Accept"))}
	all := r.URL.Query()
	if rt.value == "" {
		req.resource = rt.param
	} else {
		if _, dup := all[rt.param]; dup {
			queryProblem(w, http.StatusBadRequest, "epcisException:QueryParameterException", rt.param, "given both in the path and in the query")
			return
		}
		all[rt.param] = []string{rt.value}
	}
	if req.params, err = ParseParams(all); err != nil {
		paramProblem(w, err)
		return
	}
	w.Header().Set("GS1-EPCIS-Version", "2.0.0")
	w.Header().Set("GS1-CBV-Version", "2.0.0")
	rt.serve(q, w, r, req)
}

// caller authenticates r: the principal an outer handler put in its
// context, or its bearer token.
func (q *Query) caller(r *http.Request) (*pb.Party, error) {
	if p, ok := auth.FromContext(r.Context()); ok && p.Party != nil {
		return p.Party, nil
	}
	p, err := q.cfg.Authenticator.Authenticate(metadata.NewIncomingContext(r.Context(), metadata.MD{"authorization": r.Header.Values("Authorization")}))
	if err != nil {
		return nil, err
	}
	return p.Party, nil
}

// wantsXML reads an Accept header: XML when it names application/xml or
// text/xml before any JSON type.
func wantsXML(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "application/xml", "text/xml":
			return true
		case "application/json", "application/ld+json", "*/*", "application/*":
			return false
		}
	}
	return false
}

// events answers a list of events: one page, or a stream.
func (q *Query) events(w http.ResponseWriter, r *http.Request, req *request) {
	if req.params.Stream {
		q.subscribe(w, r, req)
		return
	}
	bind := pagetoken.For("epcis/events", append([]string{req.caller.GetGln()}, req.params.filters()...)...)
	start, err := q.tokenPos(bind, req.params.PageToken)
	if err != nil {
		paramProblem(w, err)
		return
	}
	var events []epcis.Event
	limit := req.params.PerPage
	var more *pos
	next, err := q.rd.walk(r.Context(), req.caller, req.params, start, func(rec *record, ev *epcis.Event) bool {
		if len(events) == limit {
			more = &pos{index: rec.index, n: rec.n}
			return false
		}
		events = append(events, *ev)
		return true
	})
	if err != nil {
		q.internal(w, r, err)
		return
	}
	if more != nil {
		next = more
	}
	if next != nil {
		q.setNext(w, r, bind, *next)
	}
	q.document(w, r, req, events)
}

// setNext sets the headers of the next page, which starts at next.
func (q *Query) setNext(w http.ResponseWriter, r *http.Request, bind pagetoken.Query, next pos) {
	expires := q.cfg.Now().Add(q.cfg.TokenTTL).UTC().Truncate(time.Second)
	token := bind.Token(fmt.Sprintf("%d.%d.%d", next.index, next.n, expires.Unix()))
	w.Header().Set("Link", "<"+nextURL(r, token)+`>; rel="next"`)
	w.Header().Set("GS1-Next-Page-Token-Expires", expires.Format(time.RFC3339))
}

// event answers one event by its ID.
func (q *Query) event(w http.ResponseWriter, r *http.Request, req *request) {
	var found *epcis.Event
	_, err := q.rd.walk(r.Context(), req.caller, req.params, pos{}, func(_ *record, ev *epcis.Event) bool {
		found = ev
		return false
	})
	if err != nil {
		q.internal(w, r, err)
		return
	}
	if found == nil {
		queryProblem(w, http.StatusNotFound, "epcisException:NoSuchResourceException", "EQ_eventID", "no event with that ID that you may see")
		return
	}
	q.document(w, r, req, []epcis.Event{*found})
}

// tokenPos reads a nextPageToken: the position its page starts at.
func (q *Query) tokenPos(bind pagetoken.Query, token string) (pos, error) {
	if token == "" {
		return pos{}, nil
	}
	key, err := bind.After(token)
	if err != nil {
		return pos{}, &ParamError{Param: "nextPageToken", Msg: "not a token of this query: repeat the parameters of the request that returned it"}
	}
	parts := strings.Split(key, ".")
	var v [3]uint64
	if len(parts) != 3 {
		return pos{}, &ParamError{Param: "nextPageToken", Msg: "not a token this repository returned"}
	}
	for i, s := range parts {
		if v[i], err = strconv.ParseUint(s, 10, 63); err != nil || (i == 1 && v[i] > 1<<30) {
			return pos{}, &ParamError{Param: "nextPageToken", Msg: "not a token this repository returned"}
		}
	}
	if !q.cfg.Now().Before(time.Unix(int64(v[2]), 0)) {
		return pos{}, &ParamError{Param: "nextPageToken", Msg: "the token has expired: query again from the first page"}
	}
	return pos{index: v[0], n: int(v[1])}, nil
}

// nextURL is the request's URL with its nextPageToken set to token.
func nextURL(r *http.Request, token string) string {
	v := r.URL.Query()
	v.Set("nextPageToken", token)
	return r.URL.EscapedPath() + "?" + v.Encode()
}

// document writes events as an EPCISQueryDocument, JSON-LD or XML.
func (q *Query) document(w http.ResponseWriter, r *http.Request, req *request, events []epcis.Event) {
	data, err := encodeQueryDocument(events, q.cfg.Now(), req.xml)
	if err != nil {
		q.internal(w, r, err)
		return
	}
	ct := "application/ld+json"
	if req.xml {
		ct = "application/xml"
	} else if strings.Contains(r.Header.Get("Accept"), "application/json") && !strings.Contains(r.Header.Get("Accept"), "application/ld+json") {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
}

// encodeQueryDocument writes events as an EPCISQueryDocument created at
// now; the ignoreFields of the events are the document's.
func encodeQueryDocument(events []epcis.Event, now time.Time, asXML bool) ([]byte, error) {
	doc := &epcis.Document{Type: "EPCISQueryDocument", CreationDate: now.UTC().Format(recordTimeLayout), Events: events}
	seen := map[epcis.Name]bool{}
	for _, ev := range events {
		for _, n := range ev.IgnoreFields {
			if !seen[n] {
				seen[n] = true
				doc.IgnoreFields = append(doc.IgnoreFields, n)
			}
		}
	}
	if asXML {
		return epcis.EncodeXML(doc)
	}
	events = slices.Clone(events)
	for i := range events {
		compactTerms(&events[i])
	}
	doc.Events = events
	return epcis.EncodeJSONLD(doc)
}

// gs1Voc is the namespace of the GS1 Web vocabulary.
const gs1Voc = "https://gs1.org/voc/"

// bareTerm returns the term of a standard vocabulary value given as its
// Web URI or CBV URN, and any other value as it is.
func bareTerm(v string, k vocabKind) string {
	f := vocabForms[k]
	for _, prefix := range []string{f.web, f.urn} {
		if w, ok := strings.CutPrefix(v, prefix); ok && bareWord(w) {
			return w
		}
	}
	return v
}

// compactTerms writes the standard vocabulary values of ev (CBV steps,
// dispositions, transaction and source/destination types, error reasons,
// GS1 sensor measurement types and alerts) as bare terms, the JSON
// schema's form for them (it refuses their URNs and some of their IRIs);
// decoding expands them back, and the event hash reads them alike. The
// lists ev shares with the caller are copied, not changed in place.
func compactTerms(ev *epcis.Event) {
	ev.BizStep = bareTerm(ev.BizStep, vocabBizStep)
	ev.Disposition = bareTerm(ev.Disposition, vocabDisp)
	if pd := ev.PersistentDisposition; pd != nil {
		c := *pd
		c.Set, c.Unset = slices.Clone(c.Set), slices.Clone(c.Unset)
		for _, l := range [][]string{c.Set, c.Unset} {
			for i := range l {
				l[i] = bareTerm(l[i], vocabDisp)
			}
		}
		ev.PersistentDisposition = &c
	}
	ev.BizTransactionList = slices.Clone(ev.BizTransactionList)
	for i := range ev.BizTransactionList {
		ev.BizTransactionList[i].Type = bareTerm(ev.BizTransactionList[i].Type, vocabBTT)
	}
	for _, l := range []*[]epcis.SourceDest{&ev.SourceList, &ev.DestinationList} {
		*l = slices.Clone(*l)
		for i := range *l {
			(*l)[i].Type = bareTerm((*l)[i].Type, vocabSDT)
		}
	}
	if ed := ev.ErrorDeclaration; ed != nil {
		c := *ed
		c.Reason = bareTerm(c.Reason, vocabER)
		ev.ErrorDeclaration = &c
	}
	list := slices.Clone(ev.SensorElementList)
	for i := range list {
		reports := slices.Clone(list[i].Reports)
		for k := range reports {
			reports[k].Type = strings.TrimPrefix(reports[k].Type, gs1Voc)
			reports[k].Exception = strings.TrimPrefix(reports[k].Exception, gs1Voc)
		}
		list[i].Reports = reports
	}
	ev.SensorElementList = list
}

// internal answers an error of the node's own.
func (q *Query) internal(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	q.cfg.Logger.ErrorContext(r.Context(), "EPCIS query", "path", r.URL.Path, "err", err)
	queryProblem(w, http.StatusInternalServerError, "epcisException:ImplementationException", "internal error", "the query failed; the node's log has the cause")
}

// paramProblem answers a refused parameter.
func paramProblem(w http.ResponseWriter, err error) {
	var pe *ParamError
	if errors.As(err, &pe) {
		queryProblem(w, http.StatusBadRequest, "epcisException:QueryParameterException", pe.Param, pe.Msg)
		return
	}
	queryProblem(w, http.StatusBadRequest, "epcisException:QueryParameterException", "query", err.Error())
}

// queryProblem writes an RFC 7807 problem: title names the parameter or
// the concern, detail says what is wrong.
func queryProblem(w http.ResponseWriter, status int, typ, title, detail string) {
	writeProblemBody(w, status, problem{Type: typ, Title: title, Status: status, Detail: detail})
}
