package node

import (
	"errors"
	"time"

	"github.com/pedigree-project/pedigree/gs1"
	"github.com/pedigree-project/pedigree/services/internal/edge"
	"github.com/pedigree-project/pedigree/services/internal/epcisapi"
	"github.com/pedigree-project/pedigree/services/internal/natsauth"
	"github.com/pedigree-project/pedigree/services/internal/resolver"
)

// Config configures a node. The zero value is not valid; start from
// DefaultConfig.
type Config struct {
	// DataDir holds Pebble (pebble/), JetStream (nats/), keys and the admin
	// token.
	DataDir string
	// GRPCAddr is the gRPC listen address; port 0 picks a free port.
	GRPCAddr string
	// HTTPAddr is the HTTP listen address; port 0 picks a free port.
	HTTPAddr string
	// MetricsAddr is the operator listener's address (/metrics, /readyz
	// with the reason, and POST /backup with the admin token); empty
	// turns it off.
	MetricsAddr string
	// Edge bounds the request edge: body sizes, timeouts, keepalive, TLS,
	// rate limits.
	Edge edge.Config
	// NATSURL, when set, is an external NATS server or cluster to use
	// instead of the embedded one.
	NATSURL string
	// NATSListen is the embedded server's client address; empty disables
	// the client port (in-process connections only).
	NATSListen string
	// NATSSyncInterval is how often the embedded JetStream fsyncs (0: the
	// server default); NATSSyncAlways fsyncs every write.
	NATSSyncInterval time.Duration
	// NATSSyncAlways makes the embedded JetStream fsync every write.
	NATSSyncAlways bool
	// NATSLimits bound what each party may do on NATS (zero: defaults).
	NATSLimits natsauth.Limits
	// NATSSweepInterval is how often the embedded server's connections are
	// checked against the registry and their rates (0: one second).
	NATSSweepInterval time.Duration
	// NATSTLS: for the embedded server, the certificate its client port
	// requires TLS with (and, with a CA, the client certificates it
	// requires); for an external server, the CA that checks it and the
	// node's client certificate.
	NATSTLS TLSFiles
	// NATSCreds is a NATS credentials file for the node's connection to an
	// external server whose operator issued one; empty: the node's own
	// NATS key (DATA/keys/nats.key).
	NATSCreds string
	// NATSCalloutIssuer, with an external server, is the NKey seed file of
	// the account that signs the users the node's auth callout admits;
	// empty: the node serves no auth callout.
	NATSCalloutIssuer string
	// NATSCalloutAccount is the account callout users are placed in.
	NATSCalloutAccount string
	// NATSSystemUser and NATSSystemPasswordFile, with an external server,
	// log the node into the cluster's system account, so that it closes a
	// revoked key's connections on any server within a sweep; without
	// them such a connection lasts until its user JWT expires.
	NATSSystemUser, NATSSystemPasswordFile string
	// StreamReplicas is the replica count of the streams (clusters: 3 or
	// 5).
	StreamReplicas int
	// StreamRetention says when SCANS may drop messages (retention.go):
	// never (the default), or once every node applied them and a
	// verified backup holds them.
	StreamRetention RetentionConfig
	// NATSCluster, when its Listen is set, makes the embedded server a
	// member of a JetStream cluster of Pedigree nodes (cluster.go).
	NATSCluster ClusterConfig
	// NodeName names this node: in its genesis or its admission, in the
	// signer of the envelopes its API submits, and (as "pedigree-<name>")
	// its embedded server in a cluster. 1-64 letters, digits, '.', '_' or
	// '-'. Empty: "node-<key ID>".
	NodeName string
	// Join makes the node follow a ledger another node started: it never
	// writes a genesis; with no GenesisKeyFile it trusts the genesis the
	// stream begins with (waiting for it while the stream is empty). In
	// every case a node serves only once the ledger trusts its key (an
	// admin ran `pedigree node add`); until then Start waits.
	Join bool
	// GenesisNode, when set, names the node that starts the ledger; every
	// other node joins it (Join). The members of a StatefulSet share one
	// configuration this way (NodeName from the pod's name). Requires
	// NodeName.
	GenesisNode string
	// LedgerOrigin is the first line of every checkpoint: the ledger's
	// unique name. Empty means "pedigree/ledger/<AdminGLN>". Fixed when the
	// ledger is created.
	LedgerOrigin string
	// CheckpointInterval is the most time between checkpoints while
	// entries arrive.
	CheckpointInterval time.Duration
	// WitnessPolicy names the C2SP tlog-witnesses that cosign the
	// checkpoints and how many must (witness.PolicyOf, or a policy file);
	// empty: none. The checkpoint endpoint serves the latest checkpoint
	// that met it.
	WitnessPolicy []byte
	// Peers are the HTTP API URLs (http(s)://host:port) of the other
	// nodes of the cluster: each checkpoint is served with the
	// cosignatures of those whose ledger has the same root at its size
	// (cosign.go). The node's own URL may be listed, so that every node
	// is given the same list.
	Peers []string
	// PeerTLS: CA checks the peers' HTTP certificates (empty: the system's
	// roots); Cert and Key, the client certificate shown to peers whose
	// API requires one.
	PeerTLS TLSFiles
	// AdminGLN is the GLN of the admin party created on first start.
	AdminGLN string
	// AdminName is its display name.
	AdminName string
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration
	// GenesisKeyFile names the public key file (ReadPublicKeyFile) of the
	// only key whose genesis starts the ledger: that of the node that
	// started the ledger this node joins. Empty: this node's own key.
	GenesisKeyFile string
	// GCPTable names a GS1 GCP length table (GS1's
	// gcpprefixformatlist.json, the operator's copy) that
	// CompanyPrefixLengths consults after the prefixes registered to
	// parties. Empty: registered prefixes only. Read once at start.
	GCPTable string
	// Resolver configures the public GS1 Digital Link resolver on the
	// HTTP port: its rate limit per client address and public URL.
	Resolver resolver.Config
	// EPCISCapture bounds one EPCIS capture (/epcis/capture, /epcis/events):
	// its events and its bytes; zero fields: epcisapi.DefaultLimits.
	EPCISCapture epcisapi.Limits
	// EPCISChunkSize is the number of events per envelope an EPCIS capture
	// is published in; 0: epcisapi.DefaultChunkSize.
	EPCISChunkSize int
	// EPCISJobRetention is how long a finished EPCIS capture job (GET
	// /epcis/capture/{id}) is kept; 0 keeps every job. The receipts stay
	// verifiable whatever it is: they prove ledger entries.
	EPCISJobRetention time.Duration

	// cosignRetry is how soon a checkpoint a peer did not cosign is asked
	// for again (0: defaultCosignRetry). Tests shorten it.
	cosignRetry time.Duration
	// now is the clock of token expiry and default event times; nil:
	// time.Now. Tests set it.
	now func() time.Time
}

// Defaults.
const (
	DefaultGRPCAddr   = "127.0.0.1:7070"
	DefaultHTTPAddr   = "127.0.0.1:8080"
	DefaultNATSListen = "127.0.0.1:4222"
	// DefaultMetricsAddr is the operator listener of `pedigree serve`:
	// loopback only, so that metrics and readiness reasons stay private.
	DefaultMetricsAddr = "127.0.0.1:9090"
	// DefaultAdminGLN is a GLN under GS1's prefix 952, reserved for
	// demonstrations; set a real one in production.
	DefaultAdminGLN = "9520000000004"
)

// DefaultConfig returns the configuration of `pedigree serve` with no
// flags, except that the operator listener is off (MetricsAddr empty): a
// fixed port would collide between the nodes of tests and benchmarks; serve
// sets DefaultMetricsAddr.
func DefaultConfig() Config {
	return Config{
		DataDir:            "./pedigree-data",
		GRPCAddr:           DefaultGRPCAddr,
		HTTPAddr:           DefaultHTTPAddr,
		NATSListen:         DefaultNATSListen,
		StreamReplicas:     1,
		StreamRetention:    RetentionConfig{Mode: RetentionKeepAll, Margin: DefaultRetentionMargin, Interval: DefaultRetentionInterval},
		AdminGLN:           DefaultAdminGLN,
		AdminName:          "Pedigree administrator",
		ShutdownTimeout:    4 * time.Second,
		CheckpointInterval: time.Second,
		NATSCalloutAccount: natsauth.DefaultCalloutAccount,
		NATSLimits:         natsauth.Limits{}.WithDefaults(),
		Edge:               edge.DefaultConfig(),
		Resolver:           resolver.DefaultConfig(),
		EPCISJobRetention:  epcisapi.DefaultJobRetention,
	}
}

func (c Config) origin() string {
	if c.LedgerOrigin != "" {
		return c.LedgerOrigin
	}
	return "pedigree/ledger/" + c.AdminGLN
}

func (c Config) validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data: required"))
	}
	if c.GRPCAddr == "" {
		errs = append(errs, errors.New("grpc: required"))
	}
	if c.HTTPAddr == "" {
		errs = append(errs, errors.New("http: required"))
	}
	if !gs1.ValidGLN(c.AdminGLN) {
		errs = append(errs, errors.New("admin-gln: must be 13 digits with a valid GS1 check digit"))
	}
	if c.CheckpointInterval <= 0 {
		errs = append(errs, errors.New("checkpoint-interval: must be positive"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("shutdown-timeout: must be positive"))
	}
	if err := c.Edge.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Resolver.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.EPCISCapture.MaxEvents < 0 || c.EPCISCapture.MaxBytes < 0 {
		errs = append(errs, errors.New("epcis-capture-limit, epcis-capture-file-size-limit: must not be negative"))
	}
	if c.EPCISJobRetention < 0 {
		errs = append(errs, errors.New("epcis-job-retention: must not be negative (0 keeps every job)"))
	}
	if c.EPCISChunkSize < 0 || c.EPCISChunkSize > 1000 {
		errs = append(errs, errors.New("EPCIS chunk size: 0 (the default) to 1,000 events"))
	}
	if c.NodeName != "" && !validNodeName(c.NodeName) {
		errs = append(errs, errors.New("node-name: 1-64 letters, digits, '.', '_' or '-'"))
	}
	if c.GenesisNode != "" && (!validNodeName(c.GenesisNode) || c.NodeName == "") {
		errs = append(errs, errors.New("genesis-node: a node name (letters, digits, '.', '_' or '-'), with --node-name"))
	}
	if c.StreamReplicas < 1 || c.StreamReplicas > 5 {
		errs = append(errs, errors.New("stream-replicas: 1 to 5"))
	}
	if err := c.StreamRetention.validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.NATSCluster.validate(c)...)
	errs = append(errs, c.validatePeers()...)
	return errors.Join(errs...)
}
