package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/pedigree-project/pedigree/services/node"
)

func newServeCommand(root *rootOptions) *cobra.Command {
	cfg := node.DefaultConfig()
	var demo bool
	var witnesses *witnessFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a Pedigree node: embedded NATS JetStream, Pebble, gRPC and HTTP",
		Long: `Run a Pedigree node. With no flags it runs everything in one process: an
embedded NATS server with JetStream (stored under --data, clients on --nats-listen),
Pebble under --data, gRPC on --grpc and the REST API, health and OpenAPI document
on --http; metrics and readiness reasons on --metrics, for operators. With --nats it
uses an external NATS server or cluster instead.

Every caller meets the edge first: tokens are checked before a request's body is
read, bodies are bounded (--max-body, --max-bulk-body), each party has a budget of
reads and writes a second (--read-rate, --write-rate; over it: HTTP 429 or gRPC
RESOURCE_EXHAUSTED with Retry-After), and --tls-cert, --tls-key (and --tls-client-ca
for mutual TLS) make both ports speak TLS.

The first start on an empty data directory creates an admin party and writes its
API token to DATA/admin.token (mode 0600). SIGINT or SIGTERM stops the node cleanly.

Several nodes form a cluster when their embedded NATS servers do
(--nats-cluster-listen, --nats-routes, --nats-cluster-credentials, optionally
--nats-cluster-tls-*) with --stream-replicas 3: one node starts the ledger; the
others start with --join and serve once an admin ran "pedigree node add" for
them (they log the command). Every node builds the same ledger from the stream.
With --peer (the other nodes' HTTP URLs) every node cosigns the others'
checkpoints when its own ledger has the same root at their size, and serves its
own with their cosignatures (its key: DATA/keys/cosign.vkey, for
pedigree history --trust); a root that differs is refused and logged as a fork
alarm.

With --demo it then plays a small simulated market against itself (see pedigree
simulate), prints what was detected and what to try next, and keeps serving; it
logs warnings and errors only, unless --log-level says otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if demo && cfg.Edge.TLSCert != "" {
				return errors.New("demo: plays over plain HTTP; leave out --tls-cert")
			}
			if demo && !cmd.Flag("log-level").Changed {
				root.logLevel = "warn" // a log line per request would bury the demo's report
			}
			if err := witnesses.apply(&cfg); err != nil {
				return err
			}
			logger, err := root.newLogger(os.Stderr)
			if err != nil {
				return err
			}
			n, err := node.Start(cmd.Context(), cfg, logger)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			scheme := "http"
			if cfg.Edge.TLSCert != "" {
				scheme = "https"
			}
			fmt.Fprintf(out, "Pedigree is serving.\n  gRPC:  %s\n  HTTP:  %s://%s (REST under /v1/, /healthz, /readyz, /openapi.json)\n",
				n.GRPCAddr(), scheme, n.HTTPAddr())
			if m := n.MetricsAddr(); m != "" {
				fmt.Fprintf(out, "  Metrics: http://%s/metrics (and /readyz with the reason)\n", m)
			}
			if u := n.NATSURL(); u != "" {
				fmt.Fprintf(out, "  NATS:  %s\n", u)
			}
			fmt.Fprintf(out, "  Admin API token: %s\n", n.AdminTokenPath())
			if demo {
				if err := runDemo(cmd.Context(), out, n, cfg.ShutdownTimeout); err != nil {
					return err
				}
			}
			return n.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory (Pebble, JetStream, keys, admin token)")
	f.StringVar(&cfg.GRPCAddr, "grpc", cfg.GRPCAddr, "gRPC listen address")
	f.StringVar(&cfg.HTTPAddr, "http", cfg.HTTPAddr, "HTTP listen address (REST, health, OpenAPI)")
	f.StringVar(&cfg.NATSURL, "nats", cfg.NATSURL, "external NATS URL (nats://host:4222); empty runs an embedded server")
	f.StringVar(&cfg.NATSListen, "nats-listen", cfg.NATSListen, "embedded NATS client address; empty for in-process only")
	f.DurationVar(&cfg.NATSSyncInterval, "nats-sync-interval", cfg.NATSSyncInterval, "embedded JetStream fsync interval (0: server default)")
	f.BoolVar(&cfg.NATSSyncAlways, "nats-sync-always", cfg.NATSSyncAlways, "embedded JetStream fsyncs every write")
	f.StringVar(&cfg.NATSTLS.Cert, "nats-tls-cert", "", "embedded NATS: certificate (PEM) its client port requires TLS with; external NATS: the node's client certificate")
	f.StringVar(&cfg.NATSTLS.Key, "nats-tls-key", "", "the key of --nats-tls-cert (PEM)")
	f.StringVar(&cfg.NATSTLS.CA, "nats-tls-ca", "", "embedded NATS: CA that client certificates must chain to (mutual TLS); external NATS: CA that checks the server")
	f.StringVar(&cfg.NATSCreds, "nats-creds", "", "external NATS: credentials file for the node's connection (default: the node's NKey, DATA/keys/nats.key)")
	f.StringVar(&cfg.NATSCalloutIssuer, "nats-callout-issuer", "", "external NATS: account NKey seed file with which the node answers the cluster's auth callout (empty: no callout)")
	f.StringVar(&cfg.NATSCalloutAccount, "nats-callout-account", cfg.NATSCalloutAccount, "external NATS: account the auth callout places parties in")
	f.StringVar(&cfg.NATSSystemUser, "nats-system-user", "", "external NATS: system account user with which the node closes a revoked key's connections at once (else they last until their one-minute authorization expires)")
	f.StringVar(&cfg.NATSSystemPasswordFile, "nats-system-password-file", "", "external NATS: file holding that user's password")
	f.IntVar(&cfg.NATSLimits.MaxConnections, "nats-max-connections", cfg.NATSLimits.MaxConnections, "NATS connections one party may hold")
	f.Float64Var(&cfg.NATSLimits.PublishRate, "nats-publish-rate", cfg.NATSLimits.PublishRate, "messages per second one party may publish to NATS before it is cut off")
	f.DurationVar(&cfg.NATSLimits.Penalty, "nats-rate-penalty", cfg.NATSLimits.Penalty, "how long a party over its NATS publish rate is refused")
	f.IntVar(&cfg.StreamReplicas, "stream-replicas", cfg.StreamReplicas, "replicas of the JetStream streams (3 or 5 in a cluster)")
	retention := (*string)(&cfg.StreamRetention.Mode)
	f.StringVar(retention, "stream-retention", string(cfg.StreamRetention.Mode),
		"when the stream may drop messages: keep-all, or after-backup (once every node applied them and a verified backup holds them; the stream must be created with it)")
	f.Uint64Var(&cfg.StreamRetention.Margin, "stream-retention-margin", cfg.StreamRetention.Margin, "with after-backup: messages kept below the point every node and the backup reached")
	f.DurationVar(&cfg.StreamRetention.Interval, "stream-retention-interval", cfg.StreamRetention.Interval, "with after-backup: how often the node reports its applied sequence and drops what may go")
	c := &cfg.NATSCluster
	f.StringVar(&c.Listen, "nats-cluster-listen", "", "embedded NATS: route address (host:port) that makes it a member of a JetStream cluster of nodes")
	f.StringSliceVar(&c.Routes, "nats-routes", nil, "embedded NATS: the other members' route URLs, nats://host:port,... (the same list on every member will do)")
	f.StringVar(&c.Name, "nats-cluster-name", node.DefaultClusterName, "embedded NATS: the cluster's name, the same on every member")
	f.StringVar(&c.CredentialsFile, "nats-cluster-credentials", "", "embedded NATS: file holding the shared route password (one line, 32+ characters), the same on every member")
	f.StringVar(&c.TLS.Cert, "nats-cluster-tls-cert", "", "embedded NATS: this member's route certificate (PEM, server and client auth): routes use mutual TLS")
	f.StringVar(&c.TLS.Key, "nats-cluster-tls-key", "", "the key of --nats-cluster-tls-cert (PEM)")
	f.StringVar(&c.TLS.CA, "nats-cluster-tls-ca", "", "CA that the other members' route certificates must chain to")
	f.StringVar(&cfg.NodeName, "node-name", "", "this node's name (letters, digits, '.', '_', '-'), unique in a cluster; default node-<key ID>")
	f.StringSliceVar(&cfg.Peers, "peer", nil, "another node's HTTP API URL, http(s)://host:port, whose cosignature each checkpoint gathers (repeatable or comma-separated; this node's own may be listed)")
	f.StringVar(&cfg.PeerTLS.CA, "peer-tls-ca", "", "CA that the peers' HTTP certificates must chain to (default: the system's roots)")
	f.StringVar(&cfg.PeerTLS.Cert, "peer-tls-cert", "", "client certificate (PEM) shown to peers whose API requires one (--tls-client-ca)")
	f.StringVar(&cfg.PeerTLS.Key, "peer-tls-key", "", "the key of --peer-tls-cert (PEM)")
	f.BoolVar(&cfg.Join, "join", false, "join the ledger another node started: never write a genesis; follow the stream's (or --genesis-key's); serve once an admin ran `pedigree node add` for this node")
	f.StringVar(&cfg.GenesisNode, "genesis-node", "", "the name of the node that starts the ledger: any other node joins it, as with --join (one configuration for every member, e.g. a StatefulSet's)")
	f.StringVar(&cfg.AdminGLN, "admin-gln", cfg.AdminGLN, "GLN of the admin party created on first start")
	f.StringVar(&cfg.AdminName, "admin-name", cfg.AdminName, "name of the admin party created on first start")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long a graceful shutdown may take")
	f.StringVar(&cfg.GenesisKeyFile, "genesis-key", cfg.GenesisKeyFile,
		"public key file of the node that started the ledger this node joins (its DATA/keys/node.pub); empty: this node's own key")
	f.StringVar(&cfg.GCPTable, "gcp-table", "",
		"GS1 GCP length table (gcpprefixformatlist.json, GS1's JSON format) for Digital Link to EPC URN translation, after the prefixes registered to parties; empty: registered prefixes only")
	addEdgeFlags(f, &cfg)
	f.Float64Var(&cfg.Resolver.Rate, "resolver-rate", cfg.Resolver.Rate, "requests per second each client address may make to the public Digital Link resolver (0: no limit)")
	f.IntVar(&cfg.Resolver.Burst, "resolver-burst", cfg.Resolver.Burst, "requests a client address may make at once to the resolver")
	f.StringVar(&cfg.Resolver.PublicURL, "resolver-url", "", "public root URL of the resolver for its links (https://host[/path]); empty: each request's scheme and host")
	f.IntVar(&cfg.EPCISCapture.MaxEvents, "epcis-capture-limit", 10_000, "events one EPCIS capture document (POST /epcis/capture) may hold (GS1-EPCIS-Capture-Limit)")
	f.Int64Var(&cfg.EPCISCapture.MaxBytes, "epcis-capture-file-size-limit", 32<<20, "bytes one EPCIS capture document may have (GS1-EPCIS-Capture-File-Size-Limit)")
	f.DurationVar(&cfg.EPCISJobRetention, "epcis-job-retention", cfg.EPCISJobRetention, "how long a finished EPCIS capture job is kept for GET /epcis/capture/{id}; 0 keeps every job (receipts stay verifiable either way)")
	witnesses = addWitnessFlags(f)
	f.BoolVar(&demo, "demo", false, "play a small simulated market against the node, print what to try next, keep serving")
	return cmd
}
