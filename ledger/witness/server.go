package witness

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
)

// SizeContentType is the media type of a 409 answer's body: the size the
// witness last cosigned, in decimal, and a newline.
const SizeContentType = "text/x.tlog.size"

// A cosigner answers add-checkpoint requests: *Witness and *Replica.
type cosigner interface {
	AddCheckpoint(ctx context.Context, req Request) ([]byte, error)
}

// Handler serves the witness's HTTP interface: POST /add-checkpoint. To
// serve it under a prefix, strip the prefix first (http.StripPrefix).
func Handler(w *Witness) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", func(rw http.ResponseWriter, r *http.Request) { addCheckpoint(rw, r, w, w.logger) })
	return mux
}

// ReplicaHandler serves a replica's HTTP interface: POST /add-checkpoint,
// and GET /vkey, its cosignature verifier key and a newline (for the
// other nodes, which check it against the keys the ledger trusts). To
// serve it under a prefix, strip the prefix first (http.StripPrefix).
func ReplicaHandler(rep *Replica) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", func(rw http.ResponseWriter, r *http.Request) { addCheckpoint(rw, r, rep, rep.logger) })
	mux.HandleFunc("GET /vkey", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(rw, rep.vkey+"\n")
	})
	return mux
}

// addCheckpoint answers one add-checkpoint request with c.
func addCheckpoint(rw http.ResponseWriter, r *http.Request, c cosigner, logger *slog.Logger) {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, MaxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(rw, "request body over "+strconv.Itoa(MaxRequestBytes)+" bytes", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(rw, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	req, err := ParseRequest(body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	sigs, err := c.AddCheckpoint(r.Context(), req)
	var refused *Error
	switch {
	case errors.As(err, &refused) && refused.Status == http.StatusConflict:
		rw.Header().Set("Content-Type", SizeContentType)
		rw.WriteHeader(http.StatusConflict)
		_, _ = io.WriteString(rw, strconv.FormatUint(refused.Size, 10)+"\n")
	case errors.As(err, &refused):
		http.Error(rw, refused.Err.Error(), refused.Status)
	case err != nil:
		logger.Error("witness: add-checkpoint", "err", err)
		http.Error(rw, "internal error", http.StatusInternalServerError)
	default:
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = rw.Write(sigs)
	}
}
