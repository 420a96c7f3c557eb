package edge

import (
	"errors"
	"fmt"
	"time"
)

// Config bounds the node's request edge. Zero rates mean unlimited. Start
// from DefaultConfig.
type Config struct {
	// MaxBody bounds the body of a REST request, in bytes: larger ones get
	// HTTP 413 without being read past the limit.
	MaxBody int64
	// MaxBulkBody bounds the body of a REST commissioning request (the one
	// request that may carry a million serials) and every gRPC message.
	MaxBulkBody int64

	// HTTPReadHeaderTimeout bounds reading a request's headers.
	HTTPReadHeaderTimeout time.Duration
	// HTTPReadTimeout bounds reading a whole request, body included.
	HTTPReadTimeout time.Duration
	// HTTPWriteTimeout bounds a request from the end of its headers to the
	// end of its response; streaming routes (the alert feed) are exempt.
	HTTPWriteTimeout time.Duration
	// HTTPIdleTimeout closes keep-alive connections idle this long.
	HTTPIdleTimeout time.Duration
	// HTTPMaxHeaderBytes bounds a request's headers.
	HTTPMaxHeaderBytes int

	// GRPCMaxStreams bounds the concurrent calls of one gRPC connection.
	GRPCMaxStreams uint32
	// GRPCKeepaliveMinTime is the shortest interval between a client's
	// keepalive pings; a client that pings more often is disconnected.
	GRPCKeepaliveMinTime time.Duration
	// GRPCKeepalivePermitWithoutStream lets clients ping connections that
	// carry no call.
	GRPCKeepalivePermitWithoutStream bool
	// GRPCMaxConnectionIdle closes gRPC connections without a call for
	// this long.
	GRPCMaxConnectionIdle time.Duration
	// GRPCKeepaliveTime is how long a connection may be silent before the
	// server pings it.
	GRPCKeepaliveTime time.Duration
	// GRPCKeepaliveTimeout is how long the server waits for that ping's
	// answer before closing the connection.
	GRPCKeepaliveTimeout time.Duration
	// GRPCConnectionTimeout bounds a new connection's handshake (TLS and
	// HTTP/2 preface).
	GRPCConnectionTimeout time.Duration

	// ReadRate is each party's budget of read requests per second (verify,
	// lookups, history, trace, proofs); ReadBurst how many may come at
	// once.
	ReadRate  float64
	ReadBurst int
	// WriteRate is each party's budget of write requests per second
	// (captures, dispenses, registry changes); WriteBurst how many may come
	// at once.
	WriteRate  float64
	WriteBurst int
	// PublicRate is the budget per client address (IPv4 address, IPv6 /64)
	// of calls without a valid token to public methods (checkpoint,
	// proofs, reflection); PublicBurst how many may come at once.
	PublicRate  float64
	PublicBurst int
	// BulkPerParty bounds each party's commissioning calls in flight
	// (unary and streaming); 0 means unbounded.
	BulkPerParty int

	// TLSCert and TLSKey are PEM files of the node's certificate (chain)
	// and private key; empty serves plaintext.
	TLSCert, TLSKey string
	// TLSClientCA is a PEM file of the CAs that sign client certificates;
	// when set, gRPC and HTTP require and verify a client certificate.
	TLSClientCA string
}

// Defaults of Config, chosen for a national node.
const (
	// DefaultMaxBody is above the largest ordinary request: a batch
	// decommission of 10,000 packs at the 512-character barcode limit is
	// 5.3 MB of JSON, a capture of one event with 10,000 packs 1.1 MB. It
	// is also the stream's largest message (natsbus.DefaultMaxPayload).
	DefaultMaxBody = 8 << 20
	// DefaultMaxBulkBody is above the largest commissioning request:
	// 1,000,000 serials of 20 characters are 23.0 MB of JSON (22.0 MB of
	// protobuf).
	DefaultMaxBulkBody = 32 << 20
)

// DefaultConfig returns the edge of `pedigree serve` with no flags.
func DefaultConfig() Config {
	return Config{
		MaxBody:     DefaultMaxBody,
		MaxBulkBody: DefaultMaxBulkBody,

		HTTPReadHeaderTimeout: 10 * time.Second,
		HTTPReadTimeout:       time.Minute,
		HTTPWriteTimeout:      2 * time.Minute,
		HTTPIdleTimeout:       2 * time.Minute,
		HTTPMaxHeaderBytes:    64 << 10,

		GRPCMaxStreams:                   100,
		GRPCKeepaliveMinTime:             30 * time.Second,
		GRPCKeepalivePermitWithoutStream: true,
		GRPCMaxConnectionIdle:            5 * time.Minute,
		GRPCKeepaliveTime:                time.Minute,
		GRPCKeepaliveTimeout:             20 * time.Second,
		GRPCConnectionTimeout:            10 * time.Second,

		ReadRate:     200,
		ReadBurst:    400,
		WriteRate:    100,
		WriteBurst:   200,
		PublicRate:   50,
		PublicBurst:  100,
		BulkPerParty: 2,
	}
}

// Unlimited returns c with every rate limit and the bulk cap off (the
// benchmark's embedded node measures the node, not its limits).
func (c Config) Unlimited() Config {
	c.ReadRate, c.WriteRate, c.PublicRate, c.BulkPerParty = 0, 0, 0, 0
	return c
}

// Validate names each field that breaks its rule by its flag.
func (c Config) Validate() error {
	var errs []error
	positive := func(flag string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive, got %s", flag, d))
		}
	}
	if c.MaxBody <= 0 {
		errs = append(errs, fmt.Errorf("max-body: must be positive, got %d", c.MaxBody))
	}
	if c.MaxBulkBody < c.MaxBody {
		errs = append(errs, fmt.Errorf("max-bulk-body: must be at least max-body (%d), got %d", c.MaxBody, c.MaxBulkBody))
	}
	if c.MaxBulkBody > 1<<30 {
		errs = append(errs, fmt.Errorf("max-bulk-body: at most 1 GiB, got %d", c.MaxBulkBody))
	}
	positive("http-read-header-timeout", c.HTTPReadHeaderTimeout)
	positive("http-read-timeout", c.HTTPReadTimeout)
	positive("http-write-timeout", c.HTTPWriteTimeout)
	positive("http-idle-timeout", c.HTTPIdleTimeout)
	if c.HTTPMaxHeaderBytes < 4<<10 {
		errs = append(errs, fmt.Errorf("http-max-header-bytes: at least 4096, got %d", c.HTTPMaxHeaderBytes))
	}
	if c.GRPCMaxStreams == 0 {
		errs = append(errs, errors.New("grpc-max-streams: must be positive"))
	}
	positive("grpc-keepalive-min-time", c.GRPCKeepaliveMinTime)
	positive("grpc-max-connection-idle", c.GRPCMaxConnectionIdle)
	positive("grpc-keepalive-time", c.GRPCKeepaliveTime)
	positive("grpc-keepalive-timeout", c.GRPCKeepaliveTimeout)
	positive("grpc-connection-timeout", c.GRPCConnectionTimeout)
	rate := func(flag string, r float64, burst int) {
		switch {
		case r < 0:
			errs = append(errs, fmt.Errorf("%s-rate: must not be negative (0: unlimited), got %g", flag, r))
		case r > 0 && burst < 1:
			errs = append(errs, fmt.Errorf("%s-burst: at least 1 when %s-rate is set, got %d", flag, flag, burst))
		}
	}
	rate("read", c.ReadRate, c.ReadBurst)
	rate("write", c.WriteRate, c.WriteBurst)
	rate("public", c.PublicRate, c.PublicBurst)
	if c.BulkPerParty < 0 {
		errs = append(errs, fmt.Errorf("bulk-per-party: must not be negative (0: unbounded), got %d", c.BulkPerParty))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tls-cert, tls-key: give both or neither"))
	}
	if c.TLSClientCA != "" && c.TLSCert == "" {
		errs = append(errs, errors.New("tls-client-ca: needs tls-cert and tls-key"))
	}
	return errors.Join(errs...)
}
