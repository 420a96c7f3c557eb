package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// Client calls one Pedigree server over gRPC: one connection, and the
// generated client of every service on it. Close it when done.
type Client struct {
	conn *grpc.ClientConn
	// Registry manages parties, tokens, products and batches.
	Registry pb.RegistryServiceClient
	// Verification verifies, dispenses and decommissions packs.
	Verification pb.VerificationServiceClient
	// Capture records scan events.
	Capture pb.CaptureServiceClient
	// Provenance answers histories, traces, containers and alerts.
	Provenance pb.ProvenanceServiceClient
	// Ledger serves checkpoints, entries and proofs.
	Ledger pb.LedgerServiceClient
}

// Option configures a Client.
type Option func(*options)

type options struct {
	tls *tls.Config
}

// WithTLS makes the client speak TLS with cfg (see TLSConfig).
func WithTLS(cfg *tls.Config) Option {
	return func(o *options) { o.tls = cfg }
}

// New returns a client of the server whose gRPC address is addr
// ("127.0.0.1:7070"; "https://host:port" means TLS with the system's CAs
// unless WithTLS says otherwise), authenticating with token (may be empty
// for public methods). No connection is made until the first call.
func New(addr, token string, opts ...Option) (*Client, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if addr == "" {
		return nil, errors.New("client: server address is empty (set --server or PEDIGREE_SERVER)")
	}
	if scheme, rest, ok := strings.Cut(addr, "://"); ok {
		switch scheme {
		case "https":
			if o.tls == nil {
				o.tls = &tls.Config{MinVersion: tls.VersionTLS12}
			}
		case "http", "grpc":
		default:
			return nil, fmt.Errorf("client: server address %q: the scheme is http, grpc (plaintext), https (TLS) or none", addr)
		}
		addr = strings.TrimRight(rest, "/")
	}
	if u, err := url.Parse("//" + addr); err != nil || u.Host == "" || u.Path != "" {
		return nil, fmt.Errorf("client: server address %q: not host:port", addr)
	}
	transport := insecure.NewCredentials()
	if o.tls != nil {
		transport = credentials.NewTLS(o.tls.Clone())
	}
	dial := []grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return asError(invoker(ctx, method, req, reply, cc, opts...))
		}),
	}
	if token != "" {
		dial = append(dial, grpc.WithPerRPCCredentials(bearer{token: token}))
	}
	conn, err := grpc.NewClient(addr, dial...)
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", addr, err)
	}
	return &Client{conn: conn,
		Registry: pb.NewRegistryServiceClient(conn), Verification: pb.NewVerificationServiceClient(conn),
		Capture: pb.NewCaptureServiceClient(conn), Provenance: pb.NewProvenanceServiceClient(conn),
		Ledger: pb.NewLedgerServiceClient(conn)}, nil
}

// Close closes the connection; calls in flight fail.
func (c *Client) Close() error {
	return c.conn.Close()
}

// bearer sends the API token on every call.
type bearer struct {
	token string
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

// RequireTransportSecurity is false: a node on loopback or behind a
// TLS-terminating proxy speaks plaintext gRPC, as it spoke plain HTTP.
func (b bearer) RequireTransportSecurity() bool { return false }

// TLSConfig returns the TLS configuration of a client that trusts the CAs
// in the PEM file caFile (empty: the system's) and, given certFile and
// keyFile, presents that certificate (servers that require mutual TLS).
func TLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("client: TLS CA: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client: TLS CA %s: no PEM certificate in it", caFile)
		}
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("client: TLS client certificate: give both the certificate and its key")
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("client: TLS client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// FieldViolation is one google.rpc.BadRequest field violation: the request
// field at fault and the rule it broke.
type FieldViolation struct {
	// Field is the field's path, e.g. "pack.barcode".
	Field string
	// Description is the rule, for a person.
	Description string
}

// Error is a call the server refused.
type Error struct {
	// Code is the gRPC status code.
	Code codes.Code
	// Message is the server's explanation; for an error about a field it
	// starts with the field's path.
	Message string
	// Violations are the fields at fault, from the status's
	// google.rpc.BadRequest detail.
	Violations []FieldViolation
	st         *status.Status
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// GRPCStatus returns the status the server sent, so that status.Code and
// status.FromError see through an *Error.
func (e *Error) GRPCStatus() *status.Status { return e.st }

// asError turns a status error into an *Error; other errors (nil
// included) are returned as they are.
func asError(err error) error {
	st, ok := status.FromError(err)
	if !ok || err == nil {
		return err
	}
	e := &Error{Code: st.Code(), Message: st.Message(), st: st}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				e.Violations = append(e.Violations, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
			}
		}
	}
	return e
}
