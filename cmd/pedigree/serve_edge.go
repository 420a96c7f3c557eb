package main

import (
	"github.com/spf13/pflag"

	"github.com/pedigree-project/pedigree/services/node"
)

// addEdgeFlags adds the flags of the request edge (sizes, timeouts, TLS,
// rate limits, the metrics listener) to serve's flags.
func addEdgeFlags(f *pflag.FlagSet, cfg *node.Config) {
	e := &cfg.Edge
	f.StringVar(&cfg.MetricsAddr, "metrics", node.DefaultMetricsAddr, "operator listener: /metrics, /readyz with the reason, and with the admin token POST /backup and /debug/pprof/ (empty: off)")
	f.StringVar(&e.TLSCert, "tls-cert", e.TLSCert, "PEM certificate (chain) of the node: gRPC and HTTP speak TLS (with --tls-key)")
	f.StringVar(&e.TLSKey, "tls-key", e.TLSKey, "PEM private key of --tls-cert")
	f.StringVar(&e.TLSClientCA, "tls-client-ca", e.TLSClientCA, "PEM CAs of client certificates: require and verify one on gRPC and HTTP (mutual TLS)")
	f.Int64Var(&e.MaxBody, "max-body", e.MaxBody, "largest REST request body in bytes; larger ones get 413")
	f.Int64Var(&e.MaxBulkBody, "max-bulk-body", e.MaxBulkBody, "largest REST commissioning body and gRPC message in bytes")
	f.DurationVar(&e.HTTPReadHeaderTimeout, "http-read-header-timeout", e.HTTPReadHeaderTimeout, "time to read a request's headers")
	f.DurationVar(&e.HTTPReadTimeout, "http-read-timeout", e.HTTPReadTimeout, "time to read a whole request")
	f.DurationVar(&e.HTTPWriteTimeout, "http-write-timeout", e.HTTPWriteTimeout, "time from a request's headers to the end of its response (the alert feed is exempt)")
	f.DurationVar(&e.HTTPIdleTimeout, "http-idle-timeout", e.HTTPIdleTimeout, "idle keep-alive connections are closed after this")
	f.IntVar(&e.HTTPMaxHeaderBytes, "http-max-header-bytes", e.HTTPMaxHeaderBytes, "largest request headers in bytes")
	f.Uint32Var(&e.GRPCMaxStreams, "grpc-max-streams", e.GRPCMaxStreams, "concurrent calls per gRPC connection")
	f.DurationVar(&e.GRPCKeepaliveMinTime, "grpc-keepalive-min-time", e.GRPCKeepaliveMinTime, "shortest interval between a client's keepalive pings")
	f.BoolVar(&e.GRPCKeepalivePermitWithoutStream, "grpc-keepalive-permit-without-stream", e.GRPCKeepalivePermitWithoutStream, "let clients ping connections that carry no call")
	f.DurationVar(&e.GRPCMaxConnectionIdle, "grpc-max-connection-idle", e.GRPCMaxConnectionIdle, "gRPC connections without a call are closed after this")
	f.DurationVar(&e.GRPCKeepaliveTime, "grpc-keepalive-time", e.GRPCKeepaliveTime, "the server pings a gRPC connection silent this long")
	f.DurationVar(&e.GRPCKeepaliveTimeout, "grpc-keepalive-timeout", e.GRPCKeepaliveTimeout, "and closes it if the ping is not answered within this")
	f.DurationVar(&e.GRPCConnectionTimeout, "grpc-connection-timeout", e.GRPCConnectionTimeout, "time for a new gRPC connection's handshake")
	f.Float64Var(&e.ReadRate, "read-rate", e.ReadRate, "read requests per second per party: verify, lookups, proofs (0: unlimited)")
	f.IntVar(&e.ReadBurst, "read-burst", e.ReadBurst, "read requests a party may send at once")
	f.Float64Var(&e.WriteRate, "write-rate", e.WriteRate, "write requests (and streamed messages) per second per party (0: unlimited)")
	f.IntVar(&e.WriteBurst, "write-burst", e.WriteBurst, "write requests a party may send at once")
	f.Float64Var(&e.PublicRate, "public-rate", e.PublicRate, "requests per second per client address without a token, to public routes (0: unlimited)")
	f.IntVar(&e.PublicBurst, "public-burst", e.PublicBurst, "such requests an address may send at once")
	f.IntVar(&e.BulkPerParty, "bulk-per-party", e.BulkPerParty, "commissioning calls in flight per party (0: unbounded)")
}
