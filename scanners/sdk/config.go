package sdk

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/pedigree-project/pedigree/services/natsbus"
)

// Defaults of Config.
const (
	// DefaultPublishTimeout is how long Send tries to publish before it
	// queues the events instead.
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
	// DefaultSegmentSize is the size at which the queue starts a new
	// segment file.
	DefaultSegmentSize = 8 << 20
	// DefaultMaxMsgSize is the largest signed envelope Send accepts: the
	// SCANS stream's limit.
	DefaultMaxMsgSize = natsbus.DefaultMaxMsgSize
	// DefaultName is the NATS connection name of a Client's own connection.
	DefaultName = "pedigree-scanner"
)

// Config configures a Client. Zero durations and sizes mean the defaults
// above.
type Config struct {
	// NATSURL is the server or cluster to publish to ("nats://host:4222",
	// several separated by commas). The Client makes and owns the
	// connection: it reconnects for ever, starts even when no server is
	// reachable, and buffers nothing in memory while disconnected (the
	// queue does that, durably). Exactly one of NATSURL and Conn is set.
	NATSURL string
	// NATSOptions are added to the Client's own connection options
	// (credentials, TLS, ...); they come last and so may override them.
	NATSOptions []nats.Option
	// Conn is an existing connection to use instead of NATSURL. The Client
	// does not close it. Make it with nats.MaxReconnects(-1),
	// nats.RetryOnFailedConnect(true) and nats.ReconnectBufSize(-1), or a
	// publish while disconnected waits for its deadline before queueing.
	Conn *nats.Conn

	// PartyGLN is the GLN of the party that signs and publishes.
	PartyGLN string
	// Key is the party's Ed25519 private key, registered with the node.
	Key ed25519.PrivateKey
	// ReadPoint is the GLN where the scanner is; empty means PartyGLN.
	ReadPoint string
	// QueueDir holds the store-and-forward queue. Required. One Client at
	// a time may use a directory; a second one gets ErrQueueLocked.
	QueueDir string

	// Logger receives connection changes and queue repairs; nil discards.
	// Payloads and keys are never logged.
	Logger *slog.Logger
	// Now is the clock that times events; nil means time.Now.
	Now func() time.Time
	// Name is the connection name of the Client's own connection.
	Name string

	// PublishTimeout bounds how long Send tries to publish before it
	// queues the events instead.
	PublishTimeout time.Duration
	// AckTimeout bounds the wait for one PubAck.
	AckTimeout time.Duration
	// InitialBackoff and MaxBackoff shape the exponential backoff, with
	// jitter, between retries of Send and of the queue's forwarder.
	InitialBackoff, MaxBackoff time.Duration
	// ReconnectWait is the pause between reconnection attempts of the
	// Client's own connection.
	ReconnectWait time.Duration
	// SegmentSize is the size at which the queue starts a new segment file.
	SegmentSize int64
	// MaxMsgSize is the largest signed envelope Send accepts.
	MaxMsgSize int
}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	switch {
	case (c.NATSURL == "") == (c.Conn == nil):
		return c, errors.New("sdk: config: set exactly one of NATSURL and Conn")
	case len(c.Key) != ed25519.PrivateKeySize:
		return c, errors.New("sdk: config: Key: want an Ed25519 private key")
	case c.QueueDir == "":
		return c, errors.New("sdk: config: QueueDir is required: it keeps scans while NATS is unreachable")
	}
	for _, d := range []time.Duration{c.PublishTimeout, c.AckTimeout, c.InitialBackoff, c.MaxBackoff, c.ReconnectWait} {
		if d < 0 {
			return c, fmt.Errorf("sdk: config: negative duration %v", d)
		}
	}
	if c.SegmentSize < 0 || c.MaxMsgSize < 0 {
		return c, errors.New("sdk: config: negative size")
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
	if c.MaxBackoff < c.InitialBackoff {
		c.MaxBackoff = c.InitialBackoff
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

// connect makes the Client's own connection.
func (c Config) connect(log *slog.Logger) (*nats.Conn, error) {
	nk, err := nkeys.FromRawSeed(nkeys.PrefixByteUser, c.Key.Seed())
	if err != nil {
		return nil, fmt.Errorf("sdk: key as NATS NKey: %w", err)
	}
	pubNKey, err := nk.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("sdk: key as NATS NKey: %w", err)
	}
	opts := []nats.Option{
		nats.Name(c.Name),
		// The party's registered key is its NATS credential, and its
		// connections may only use the party's own reply inbox.
		nats.Nkey(pubNKey, nk.Sign),
		nats.CustomInboxPrefix("_INBOX." + c.PartyGLN),
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
	}
	nc, err := nats.Connect(c.NATSURL, append(opts, c.NATSOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("sdk: connect to NATS: %w", err)
	}
	return nc, nil
}
