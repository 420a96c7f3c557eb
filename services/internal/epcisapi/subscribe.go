package epcisapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pedigree-project/pedigree/epcis"
)

// subscribe answers GET /epcis/events?…&stream=true: a text/event-stream
// (Server-Sent Events) of the events that match the query and that the
// caller may see, each as it commits, as an EPCISQueryDocument holding it
// (JSON-LD, or XML on Accept: application/xml) with "id:" its ledger
// index. A client that reconnects with Last-Event-ID: N gets every
// matching event of the entries after N, so no event is missed nor sent
// twice (the events of one entry go out in one write); without it the
// stream starts with the entries committed after the subscription. A
// comment line every Heartbeat keeps proxies from closing an idle stream.
// The stream ends when the client goes, when the node shuts down
// (Shutdown), or when the ledger cannot be read.
//
// The walk wakes on the ingest pipeline's commit notification
// (Commits.WaitApplied), never on a timer: the heartbeat's deadline only
// bounds each wait.
func (q *Query) subscribe(w http.ResponseWriter, r *http.Request, req *request) {
	if req.params.PageToken != "" || r.URL.Query().Has("perPage") {
		queryProblem(w, http.StatusBadRequest, "epcisException:QueryParameterException", "stream", "a stream takes neither perPage nor nextPageToken")
		return
	}
	next := q.cfg.Ledger.Size()
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		i, err := strconv.ParseUint(last, 10, 63)
		if err != nil {
			queryProblem(w, http.StatusBadRequest, "epcisException:QueryParameterException", "Last-Event-ID", "a ledger index this stream sent, got "+strconv.Quote(last))
			return
		}
		next = i + 1
	}
	rc := http.NewResponseController(w)
	// The stream lasts as long as the client watches: no write deadline.
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-q.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	send := func() error {
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	// Headers out at once: a client that has them misses nothing committed
	// afterwards.
	if _, err := bw.WriteString(": subscribed\n\n"); err != nil || send() != nil {
		return
	}
	for {
		applied := q.cfg.Commits.Applied()
		var err error
		if next, err = q.streamEntries(ctx, bw, req, next); err != nil {
			if ctx.Err() == nil {
				q.cfg.Logger.WarnContext(ctx, "EPCIS stream", "err", err)
			}
			return
		}
		if err := send(); err != nil {
			return
		}
		wait, done := context.WithTimeout(ctx, q.cfg.Heartbeat)
		err = q.cfg.Commits.WaitApplied(wait, applied+1)
		done()
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded):
			if _, err := bw.WriteString(": heartbeat\n\n"); err != nil || send() != nil {
				return
			}
		case err != nil:
			q.cfg.Logger.WarnContext(ctx, "EPCIS stream: the ledger stopped", "err", err)
			return
		}
	}
}

// streamEntries writes the matching events of the entries from next to
// the ledger's size; it returns the entry to go on from.
func (q *Query) streamEntries(ctx context.Context, bw *bufio.Writer, req *request, next uint64) (uint64, error) {
	size := q.cfg.Ledger.Size()
	for ; next < size; next++ {
		if err := ctx.Err(); err != nil {
			return next, err
		}
		e, err := q.cfg.Ledger.Entry(ctx, next)
		if err != nil {
			return next, err
		}
		recs, _, err := entryRecords(e)
		if err != nil {
			return next, err
		}
		for k := range recs {
			rec := &recs[k]
			if !visible(req.caller, rec) {
				continue
			}
			ev, err := rec.event()
			if err != nil {
				return next, err
			}
			if !req.params.Match(ev, rec.rec) {
				continue
			}
			data, err := encodeQueryDocument([]epcis.Event{*ev}, q.cfg.Now(), req.xml)
			if err != nil {
				return next, err
			}
			fmt.Fprintf(bw, "id: %d\nevent: event\n", rec.index)
			for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
				fmt.Fprintf(bw, "data: %s\n", line)
			}
			bw.WriteByte('\n')
		}
	}
	return next, nil
}
