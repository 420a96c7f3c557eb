package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// restClient calls a node's REST API (the grpc-gateway under /v1/), the
// contract for clients in other languages: requests and answers are the
// API's messages in canonical JSON.
type restClient struct {
	base  string
	token string
	http  *http.Client
}

// newREST returns a REST client of the node at addr (host:port), over
// HTTPS when cfg is not nil.
func newREST(addr, token string, cfg *tls.Config) *restClient {
	scheme := "http://"
	if cfg != nil {
		scheme = "https://"
	}
	return &restClient{base: scheme + addr, token: token, http: &http.Client{Timeout: 60 * time.Second,
		Transport: &http.Transport{TLSClientConfig: cfg.Clone(), ForceAttemptHTTP2: cfg != nil}}}
}

// restError is a non-2xx answer.
type restError struct {
	HTTPStatus int    // the response status
	Code       int    // the gRPC code the gateway sent
	Message    string // the server's explanation
}

func (e *restError) Error() string {
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.HTTPStatus)
}

// Do sends in (nil for no body) to method path (with query) and decodes
// the answer into out (nil to discard it).
func (c *restClient) Do(ctx context.Context, method, path string, in, out proto.Message) error {
	var body io.Reader
	if in != nil {
		b, err := protojson.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		e := &restError{HTTPStatus: resp.StatusCode}
		var st struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &st) == nil && st.Message != "" {
			e.Code, e.Message = st.Code, st.Message
		} else {
			e.Message = strings.TrimSpace(string(data))
		}
		return e
	}
	if out != nil {
		return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, out)
	}
	return nil
}

// Get is Do with GET and no body.
func (c *restClient) Get(ctx context.Context, path string, out proto.Message) error {
	return c.Do(ctx, http.MethodGet, path, nil, out)
}

// Post is Do with POST.
func (c *restClient) Post(ctx context.Context, path string, in, out proto.Message) error {
	return c.Do(ctx, http.MethodPost, path, in, out)
}
