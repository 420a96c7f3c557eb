package sdk

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/subjects"
)

// Defaults of Config.
const (
	// DefaultPublishTimeout is how long Send waits for JetStream to
	// acknowledge the events before it reports them Queued.
	DefaultPublishTimeout = 2 * time.Second
	// DefaultAckTimeout is how long one publish waits for its PubAck.
	DefaultAckTimeout = time.Second
	// DefaultInitialBackoff is the first pause between retries; each retry
	// doubles it, up to DefaultMaxBackoff, with jitter.
	DefaultInitialBackoff = 50 * time.Millisecond
	// DefaultMaxBackoff caps the pause between retries.
	DefaultMaxBackoff = 5 * time.Second
	// DefaultReconnectWait is the pause between reconnection attempts of a
	// connection the Client makes itself.
	DefaultReconnectWait = time.Second
	// DefaultOutcomeTimeout is how long the forwarder waits for the
	// node-signed outcome of a message JetStream acknowledged before it
	// publishes the message again.
	DefaultOutcomeTimeout = 10 * time.Second
	// DefaultMaxOutcomeTimeout caps the wait between two publications of a
	// message still without outcome (each wait doubles). It is the SCANS
	// stream's duplicate window: a copy sent within the window of an
	// earlier one is not stored again, so waiting longer lets the next
	// copy reach the ledger, which answers it.
	DefaultMaxOutcomeTimeout = subjects.DefaultDuplicateWindow
	// DefaultMaxInFlight is how many messages may await their outcome at
	// once; the forwarder publishes no more until some are answered.
	DefaultMaxInFlight = 1024
	// DefaultMaxPublishRate bounds the messages a Client publishes per
	// second, first copies and copies sent again: half of what a node lets
	// one party publish (natsauth.DefaultPublishRate) before it cuts the
	// party off, so that a scanner draining a long queue stays connected.
	DefaultMaxPublishRate = 1000
	// DefaultKeepOutcomes is how many verified outcomes the Client keeps
	// for Outcome after their messages left the queue.
	DefaultKeepOutcomes = 4096
	// DefaultSegmentSize is the size at which the queue starts a new
	// segment file.
	DefaultSegmentSize = 8 << 20
	// DefaultMaxMsgSize is the largest signed envelope Send accepts: the
	// SCANS stream's limit.
	DefaultMaxMsgSize = subjects.DefaultMaxMsgSize
	// DefaultName is the NATS connection name of a Client's own connection.
	DefaultName = "pedigree-scanner"
)

// maxInFlightBytes bounds the signed envelopes held in memory while they
// await their outcome (one message is always allowed, whatever its size).
const maxInFlightBytes = 64 << 20

// Config configures a Client. Zero durations and sizes mean the defaults
// above.
type Config struct {
	// NATSURL is the server or cluster to publish to ("nats://host:4222",
	// "tls://host:4222", several separated by commas). The Client makes and
	// owns the connection: it authenticates as the party with Key used as
	// a NATS NKey, takes replies under _INBOX.<PartyGLN>., reconnects for
	// ever, starts even when no server is reachable, and buffers nothing in
	// memory while disconnected (the queue does that, durably). Exactly one
	// of NATSURL and Conn is set.
	NATSURL string
	// TLSCAFile is a PEM file of the certificate authorities that sign the
	// NATS server's certificate; set it to require TLS.
	TLSCAFile string
	// TLSCertFile and TLSKeyFile are the PEM client certificate and key,
	// for servers that ask for one (both or neither).
	TLSCertFile, TLSKeyFile string
	// NATSOptions are added to the Client's own connection options; they
	// come last and so may override them.
	NATSOptions []nats.Option
	// Conn is an existing connection to use instead of NATSURL. The Client
	// does not close it. Make it with AuthOptions (the party's login and
	// inbox), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true) and
	// nats.ReconnectBufSize(-1), or a publish while disconnected waits for
	// its deadline.
	Conn *nats.Conn

	// PartyGLN is the GLN of the party that signs and publishes.
	PartyGLN string
	// Key is the party's Ed25519 private key, registered with the node. It
	// signs the envelopes and, as a NATS NKey, the connection's login.
	Key ed25519.PrivateKey
	// NodeKeys are the node keys whose signed outcomes are believed
	// (DATA/keys/node.pub of each node; ReadNodeKeys reads them). Required:
	// a queued message leaves the queue only once an outcome signed by one
	// of them proves it is on the ledger.
	NodeKeys envelope.NodeKeys
	// ReadPoint is the GLN where the scanner is; empty means PartyGLN.
	ReadPoint string
	// QueueDir holds the store-and-forward queue. Required. One Client at
	// a time may use a directory; a second one gets ErrQueueLocked.
	QueueDir string

	// OnOutcome, when set, is called with every verified outcome, those of
	// messages an earlier Client left queued included, one call at a time,
	// once the message has left the queue. It must not block for long: it
	// holds up the handling of the next outcomes.
	OnOutcome func(*Outcome)

	// Logger receives connection changes, refused or unverifiable
	// notices and queue repairs; nil discards. Payloads and keys are never
	// logged.
	Logger *slog.Logger
	// Now is the clock that times events; nil means time.Now.
	Now func() time.Time
	// Name is the connection name of the Client's own connection.
	Name string

	// PublishTimeout bounds how long Send waits for the PubAck of its
	// message before it returns Queued.
	PublishTimeout time.Duration
	// AckTimeout bounds the wait for one PubAck.
	AckTimeout time.Duration
	// InitialBackoff and MaxBackoff shape the exponential backoff, with
	// jitter, between failed publishes.
	InitialBackoff, MaxBackoff time.Duration
	// ReconnectWait is the pause between reconnection attempts of the
	// Client's own connection.
	ReconnectWait time.Duration
	// OutcomeTimeout is how long the forwarder waits for the outcome of an
	// acknowledged message before it publishes it again; every further
	// wait doubles, up to MaxOutcomeTimeout.
	OutcomeTimeout, MaxOutcomeTimeout time.Duration
	// MaxInFlight bounds the messages awaiting their outcome.
	MaxInFlight int
	// MaxPublishRate bounds the messages published per second.
	MaxPublishRate float64
	// KeepOutcomes is how many outcomes of messages that left the queue
	// Outcome still returns (fewer when their envelopes exceed 64 MiB).
	KeepOutcomes int
	// SegmentSize is the size at which the queue starts a new segment file.
	SegmentSize int64
	// MaxMsgSize is the largest signed envelope Send accepts.
	MaxMsgSize int
}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	bad := func(field, rule string) { errs = append(errs, fmt.Errorf("sdk: config: %s: %s", field, rule)) }
	if (c.NATSURL == "") == (c.Conn == nil) {
		bad("NATSURL, Conn", "set exactly one")
	}
	if c.Conn != nil && (c.TLSCAFile != "" || c.TLSCertFile != "" || c.TLSKeyFile != "" || len(c.NATSOptions) > 0) {
		bad("TLS files, NATSOptions", "apply to the Client's own connection, not to Conn")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		bad("TLSCertFile, TLSKeyFile", "give both or neither")
	}
	if len(c.Key) != ed25519.PrivateKeySize {
		bad("Key", "want an Ed25519 private key")
	}
	if len(c.NodeKeys) == 0 {
		bad("NodeKeys", "required: outcomes are believed only when a node key signed them (DATA/keys/node.pub)")
	}
	if c.QueueDir == "" {
		bad("QueueDir", "required: it keeps scans until the ledger has them")
	}
	for _, d := range []time.Duration{c.PublishTimeout, c.AckTimeout, c.InitialBackoff, c.MaxBackoff, c.ReconnectWait, c.OutcomeTimeout, c.MaxOutcomeTimeout} {
		if d < 0 {
			bad("durations", fmt.Sprintf("must not be negative, got %v", d))
		}
	}
	if c.SegmentSize < 0 || c.MaxMsgSize < 0 || c.MaxInFlight < 0 || c.KeepOutcomes < 0 || !(c.MaxPublishRate >= 0) {
		bad("SegmentSize, MaxMsgSize, MaxInFlight, KeepOutcomes, MaxPublishRate", "must not be negative")
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.PublishTimeout, DefaultPublishTimeout)
	def(&c.AckTimeout, DefaultAckTimeout)
	def(&c.InitialBackoff, DefaultInitialBackoff)
	def(&c.MaxBackoff, DefaultMaxBackoff)
	def(&c.ReconnectWait, DefaultReconnectWait)
	def(&c.OutcomeTimeout, DefaultOutcomeTimeout)
	def(&c.MaxOutcomeTimeout, DefaultMaxOutcomeTimeout)
	c.MaxBackoff = max(c.MaxBackoff, c.InitialBackoff)
	c.MaxOutcomeTimeout = max(c.MaxOutcomeTimeout, c.OutcomeTimeout)
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxPublishRate == 0 {
		c.MaxPublishRate = DefaultMaxPublishRate
	}
	if c.KeepOutcomes == 0 {
		c.KeepOutcomes = DefaultKeepOutcomes
	}
	if c.SegmentSize == 0 {
		c.SegmentSize = DefaultSegmentSize
	}
	if c.MaxMsgSize == 0 {
		c.MaxMsgSize = DefaultMaxMsgSize
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// AuthOptions returns the options that make a NATS connection log in as
// the party whose key is priv: the key as the connection's user NKey
// (KeyOption), and replies under _INBOX.<party GLN>, the only inbox a party
// may read. The returned wipe clears the key material the options hold;
// call it once the connection is closed.
func AuthOptions(partyGLN string, priv ed25519.PrivateKey) (opts []nats.Option, wipe func(), err error) {
	key, wipe, err := KeyOption(priv)
	if err != nil {
		return nil, nil, err
	}
	return []nats.Option{key, nats.CustomInboxPrefix(subjects.InboxPrefix(partyGLN))}, wipe, nil
}

// KeyOption returns the option that makes a NATS connection log in with
// the Ed25519 key priv as its user NKey (its public key's "U…" encoding,
// signing the server's nonce). A party uses AuthOptions; a node's
// operator tool logs in with the node's NATS key this way.
func KeyOption(priv ed25519.PrivateKey) (opt nats.Option, wipe func(), err error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, nil, errors.New("sdk: NKey: want an Ed25519 private key")
	}
	kp, err := nkeys.FromRawSeed(nkeys.PrefixByteUser, priv.Seed())
	if err != nil {
		return nil, nil, fmt.Errorf("sdk: NKey: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, nil, fmt.Errorf("sdk: NKey: %w", err)
	}
	return nats.Nkey(pub, kp.Sign), kp.Wipe, nil
}

// connect makes the Client's own connection, logged in as the party.
func (c Config) connect(log *slog.Logger) (*nats.Conn, func(), error) {
	auth, wipe, err := AuthOptions(c.PartyGLN, c.Key)
	if err != nil {
		return nil, nil, err
	}
	opts := []nats.Option{
		nats.Name(c.Name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(c.ReconnectWait),
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("sdk: NATS disconnected; scans are queued until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("sdk: NATS reconnected", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("sdk: NATS", "err", err)
		}),
	}
	opts = append(opts, auth...)
	if c.TLSCAFile != "" {
		opts = append(opts, nats.RootCAs(c.TLSCAFile))
	}
	if c.TLSCertFile != "" {
		opts = append(opts, nats.ClientCert(c.TLSCertFile, c.TLSKeyFile))
	}
	nc, err := nats.Connect(c.NATSURL, append(opts, c.NATSOptions...)...)
	if err != nil {
		wipe()
		return nil, nil, fmt.Errorf("sdk: connect to NATS: %w", err)
	}
	return nc, wipe, nil
}
