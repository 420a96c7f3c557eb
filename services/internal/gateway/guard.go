package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/pedigree-project/pedigree/services/internal/auth"
)

// guard checks a routed REST request before the gateway reads its body:
// the bearer token (401 unless the route is public), the caller's budget
// (429 with Retry-After), the declared body size (413); then it caps the
// body that will be read and lifts the write deadline of streaming
// routes. Refusals have the gateway's error shape.
type guard struct {
	cfg    Config
	routes routes
	mux    *runtime.ServeMux // set once the mux exists
}

func (g *guard) middleware(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		rt := g.routes.lookup(r.Context(), r.Method)
		var p *auth.Principal
		if vals := r.Header.Values("Authorization"); len(vals) > 0 || !rt.public {
			var err error
			p, err = g.cfg.Authenticator.Authenticate(metadata.NewIncomingContext(r.Context(), metadata.MD{"authorization": vals}))
			if err != nil && !rt.public {
				// Charged to the address: flooding without a token, or
				// guessing tokens, meets the budget of anonymous callers.
				if secs, lerr := g.cfg.Limits.Admit(rt.method, "", r.RemoteAddr); lerr != nil {
					w.Header().Set("Retry-After", secs)
					err = lerr
				}
				g.fail(w, r, err)
				return
			}
		}
		var party string
		if p != nil {
			party = p.Party.GetGln()
		}
		if secs, err := g.cfg.Limits.Admit(rt.method, party, r.RemoteAddr); err != nil {
			w.Header().Set("Retry-After", secs)
			g.fail(w, r, err)
			return
		}
		limit := g.cfg.MaxBody
		if rt.bulk {
			limit = g.cfg.MaxBulkBody
		}
		if r.ContentLength > limit {
			w.Header().Set("Connection", "close")
			g.fail(w, r, tooLarge(limit))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &cappedBody{ReadCloser: http.MaxBytesReader(w, r.Body, limit), limit: limit}
		}
		if rt.stream {
			// The answer lasts as long as the caller watches; WriteTimeout
			// would cut it. ErrNotSupported leaves the deadline as it was.
			_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		}
		next(w, r, params)
	}
}

// fail answers err through the gateway's error handler.
func (g *guard) fail(w http.ResponseWriter, r *http.Request, err error) {
	_, out := runtime.MarshalerForRequest(g.mux, r)
	runtime.HTTPError(r.Context(), g.mux, out, w, r, err)
}

// errorHandler is the gateway's error handler: a body the decoder could
// not finish because it passed the limit is 413, not the decoder's 400.
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if b, ok := r.Body.(*cappedBody); ok && b.over {
		w.Header().Set("Connection", "close")
		err = tooLarge(b.limit)
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// tooLarge is the refusal of a body over limit bytes.
func tooLarge(limit int64) error {
	return &runtime.HTTPStatusError{
		HTTPStatus: http.StatusRequestEntityTooLarge,
		Err:        status.Errorf(codes.ResourceExhausted, "request body: larger than the limit of %d bytes", limit),
	}
}

// cappedBody is a request body read through http.MaxBytesReader that
// remembers whether the limit was passed.
type cappedBody struct {
	io.ReadCloser
	limit int64
	over  bool
}

func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		b.over = true
	}
	return n, err
}
