package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// epcisQueryOptions are the flags of `pedigree epcis query`.
type epcisQueryOptions struct {
	http, token        string
	types, epcs, steps []string
	since, until, page string
	perPage            int
	xml, follow        bool
}

func newEPCISQueryCommand() *cobra.Command {
	o := &epcisQueryOptions{}
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Query the EPCIS events of a node (GET /epcis/events), or follow them as they commit",
		Long: `Query the events a node's ledger records through its EPCIS 2.0 query interface, and
print the EPCISQueryDocument the node answers: JSON-LD, or XML with --xml. The events
are those the token's party may see: the events it captured and those naming it as
source or destination (a regulator's or the admin's token sees all).

Filters combine (all must hold); a filter's values are alternatives. When more events
match than one page holds, the command says on standard error how to ask for the next
page (--page-token). With --follow the command subscribes instead (stream=true) and
prints each matching event, as a query document of one event, as it commits, until
interrupted.`,
		Example: `  pedigree epcis query --token $TOKEN --epc urn:epc:id:sgtin:9506000.013435.A1
  pedigree epcis query --token $TOKEN --type ObjectEvent --biz-step shipping --since 2026-01-01T00:00:00Z
  pedigree epcis query --token $TOKEN --biz-step receiving --follow`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := o.url()
			if err != nil {
				return err
			}
			if o.follow {
				return o.stream(cmd.Context(), cmd.OutOrStdout(), u)
			}
			return o.query(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), u)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.http, "http", "127.0.0.1:8080", "HTTP address of the node (as `serve` prints it; https://… for TLS)")
	f.StringVar(&o.token, "token", "", "API token (Bearer)")
	f.StringSliceVar(&o.types, "type", nil, "event types (ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent)")
	f.StringSliceVar(&o.epcs, "epc", nil, "identifiers an event names (any list or parentID): EPC URN or GS1 Digital Link; repeat for several")
	f.StringSliceVar(&o.steps, "biz-step", nil, "business steps (bare CBV word, URN or URI)")
	f.StringVar(&o.since, "since", "", "events whose eventTime is at or after this RFC 3339 time")
	f.StringVar(&o.until, "until", "", "events whose eventTime is before this RFC 3339 time")
	f.IntVar(&o.perPage, "per-page", 0, "events per page (node default 30, at most 1000)")
	f.StringVar(&o.page, "page-token", "", "the next page's token, as the previous page's answer named it")
	f.BoolVar(&o.xml, "xml", false, "print the query document in XML")
	f.BoolVar(&o.follow, "follow", false, "follow the events as they commit (Server-Sent Events)")
	return cmd
}

// url is the query's URL.
func (o *epcisQueryOptions) url() (string, error) {
	if o.follow && o.page != "" {
		return "", errors.New("--follow takes no --page-token")
	}
	v := url.Values{}
	add := func(name string, vals []string) {
		if len(vals) > 0 {
			v.Set(name, strings.Join(vals, "|"))
		}
	}
	add("eventType", o.types)
	add("MATCH_anyEPC", o.epcs)
	add("EQ_bizStep", o.steps)
	for name, t := range map[string]string{"GE_eventTime": o.since, "LT_eventTime": o.until} {
		if t == "" {
			continue
		}
		if _, err := time.Parse(time.RFC3339Nano, t); err != nil {
			return "", fmt.Errorf("--since/--until: an RFC 3339 time (2026-01-31T00:00:00Z), got %q", t)
		}
		v.Set(name, t)
	}
	if o.perPage != 0 {
		v.Set("perPage", fmt.Sprint(o.perPage))
	}
	if o.page != "" {
		v.Set("nextPageToken", o.page)
	}
	if o.follow {
		v.Set("stream", "true")
	}
	base := o.http
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		base = "http://" + base
	}
	return strings.TrimRight(base, "/") + "/epcis/events?" + v.Encode(), nil
}

// get sends the query and returns the answer, refusing any but 200.
func (o *epcisQueryOptions) get(ctx context.Context, u string, client *http.Client) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	if o.xml {
		req.Header.Set("Accept", "application/xml")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("the node answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return resp, nil
}

// query prints one page and, when there is another, how to ask for it.
func (o *epcisQueryOptions) query(ctx context.Context, out, errOut io.Writer, u string) error {
	resp, err := o.get(ctx, u, &http.Client{Timeout: 2 * time.Minute})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(out, resp.Body); err != nil {
		return err
	}
	if link := resp.Header.Get("Link"); link != "" {
		next, err := url.Parse(strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`))
		if err == nil {
			fmt.Fprintf(errOut, "more events: repeat with --page-token %s\n", next.Query().Get("nextPageToken"))
		}
	}
	return nil
}

// stream prints each streamed event's document until ctx ends or the
// node closes the stream.
func (o *epcisQueryOptions) stream(ctx context.Context, out io.Writer, u string) error {
	resp, err := o.get(ctx, u, &http.Client{})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 64<<20)
	var doc strings.Builder
	for sc.Scan() {
		line := sc.Text()
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			doc.WriteString(data)
			doc.WriteByte('\n')
			continue
		}
		if line == "" && doc.Len() > 0 {
			if _, err := io.WriteString(out, doc.String()); err != nil {
				return err
			}
			doc.Reset()
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("the stream broke: %w", err)
	}
	return nil
}
