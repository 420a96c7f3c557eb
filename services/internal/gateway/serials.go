package gateway

import (
	"bufio"
	"fmt"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
)

// The batch's serials as a file: one serial a line (.txt) or serial,status
// (.csv), read page by page through ListBatchPacks, so the file is
// authorised as that method is and memory is bounded by one page.
const (
	serialsTxt = "/v1/products/{gtin}/batches/{lot}/serials.txt"
	serialsCSV = "/v1/products/{gtin}/batches/{lot}/serials.csv"
	// serialsPage is the page the file is read in (ListBatchPacks' maximum).
	serialsPage = 10_000
)

// fileRoutes adds the serials files to rs as reads of ListBatchPacks whose
// answer is streamed (no write deadline).
func fileRoutes(rs routes) {
	rt := rs["GET /v1/products/{gtin}/batches/{lot}/packs"]
	rt.stream = true
	rs["GET "+serialsTxt] = rt
	rs["GET "+serialsCSV] = rt
}

// handleSerials registers the serials files on the gateway's mux, behind
// the guard like every route.
func (g *guard) handleSerials() error {
	for _, f := range []struct {
		path string
		csv  bool
	}{{serialsTxt, false}, {serialsCSV, true}} {
		if err := g.mux.HandlePath(http.MethodGet, f.path, func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			g.serveSerials(w, r, params, f.csv)
		}); err != nil {
			return fmt.Errorf("gateway: route %s: %w", f.path, err)
		}
	}
	return nil
}

// serveSerials writes the file. An error before the first byte is answered
// as any refusal (403, 404, …); one after it can no longer change the
// status, so the body ends with a line "# error: …" and the transfer is
// aborted, which a client sees as a truncated response.
func (g *guard) serveSerials(w http.ResponseWriter, r *http.Request, params map[string]string, csv bool) {
	req := &pb.ListBatchPacksRequest{Gtin: params["gtin"], Lot: params["lot"], PageSize: serialsPage}
	if s := r.URL.Query().Get("status"); s != "" {
		st, ok := pb.ParsePackStatus(s)
		if !ok {
			g.fail(w, r, apierr.Invalid("status", "unknown pack status %q", s))
			return
		}
		req.Status = st
	}
	ctx, err := runtime.AnnotateContext(r.Context(), g.mux, r, pb.RegistryService_ListBatchPacks_FullMethodName)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	client := pb.NewRegistryServiceClient(g.cfg.Conn)
	out := bufio.NewWriterSize(w, 64<<10)
	rc := http.NewResponseController(w)
	started := false
	var line []byte
	for {
		resp, err := client.ListBatchPacks(ctx, req)
		if err != nil {
			if !started {
				g.fail(w, r, err)
				return
			}
			// The status line is gone: end the file with a line no serial
			// can be (set 82 has no space) and abort the transfer.
			_, _ = fmt.Fprintf(out, "# error: %v\n", err)
			_ = out.Flush()
			panic(http.ErrAbortHandler)
		}
		if !started {
			started = true
			if csv {
				w.Header().Set("Content-Type", "text/csv; charset=utf-8")
				_, _ = out.WriteString("serial,status\n")
			} else {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			}
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusOK)
		}
		for _, p := range resp.GetPacks() {
			line = p.AppendLine(line[:0], csv)
			_, _ = out.Write(line)
		}
		if err := out.Flush(); err != nil {
			return // the client went away
		}
		_ = rc.Flush()
		if resp.GetNextPageToken() == "" {
			return
		}
		req.PageToken = resp.GetNextPageToken()
	}
}
