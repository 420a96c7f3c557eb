package edge

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/pedigree-project/pedigree/services/internal/auth"
)

// RetryAfterHeader is the gRPC header (and trailer) metadata key giving a
// refused caller the seconds to wait; the gateway sends it as the HTTP
// Retry-After header.
const RetryAfterHeader = "retry-after"

// bulkRetryAfter is the wait suggested to a party at its cap of bulk
// calls: one of them usually ends within seconds.
const bulkRetryAfter = time.Second

// Limits holds a node's request budgets. A nil *Limits limits nothing.
type Limits struct {
	reads, writes *buckets // by party GLN; nil: unlimited
	public        *buckets // by client address; nil: unlimited
	rates         struct{ read, write, public float64 }

	bulkCap int
	bulkMu  sync.Mutex
	bulk    map[string]int // calls in flight by party; no zero entries

	limited *prometheus.CounterVec
	now     func() time.Time
}

// NewLimits returns the budgets cfg sets, with their refusals counted in
// pedigree_requests_limited_total on reg.
func NewLimits(cfg Config, reg prometheus.Registerer) (*Limits, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	l := &Limits{
		reads:   newBuckets(cfg.ReadRate, cfg.ReadBurst, maxBuckets),
		writes:  newBuckets(cfg.WriteRate, cfg.WriteBurst, maxBuckets),
		public:  newBuckets(cfg.PublicRate, cfg.PublicBurst, maxBuckets),
		bulkCap: cfg.BulkPerParty,
		bulk:    map[string]int{},
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pedigree_requests_limited_total",
			Help: "Requests refused with ResourceExhausted (HTTP 429), by the limit they hit: read, write, public (per address) or bulk (commissions in flight).",
		}, []string{"limit"}),
		now: time.Now,
	}
	l.rates.read, l.rates.write, l.rates.public = cfg.ReadRate, cfg.WriteRate, cfg.PublicRate
	if reg != nil {
		if err := reg.Register(l.limited); err != nil {
			return nil, fmt.Errorf("edge: register metrics: %w", err)
		}
	}
	return l, nil
}

// Admit takes one call of method from the budget of party (a GLN) or,
// for a caller without a valid token (party ""), from the budget of its
// address addr ("host:port"). Over budget it takes nothing and returns a
// ResourceExhausted status error and the seconds to wait, for a
// retry-after header.
func (l *Limits) Admit(method, party, addr string) (retryAfter string, err error) {
	if l == nil {
		return "", nil
	}
	class := ClassOf(method)
	if class == Exempt {
		return "", nil
	}
	b, key, name, r := l.budget(class, party, addr)
	if b == nil {
		return "", nil
	}
	wait, ok := b.take(key, l.now())
	if ok {
		return "", nil
	}
	l.limited.WithLabelValues(name).Inc()
	secs := RetryAfter(wait)
	who := "this party's " + name + " budget"
	if name == "public" {
		who = "the budget of calls without a token from this address"
	}
	return secs, status.Errorf(codes.ResourceExhausted, "rate limit: over %s (%g requests/s); retry after %s s", who, r, secs)
}

// budget returns the buckets, key, name and rate a call draws from.
func (l *Limits) budget(class Class, party, addr string) (*buckets, string, string, float64) {
	switch {
	case party == "":
		return l.public, AddressKey(addr), "public", l.rates.public
	case class == Read:
		return l.reads, party, "read", l.rates.read
	default:
		return l.writes, party, "write", l.rates.write
	}
}

// AcquireBulk takes one of party's slots for bulk calls in flight. When
// all are taken it returns a ResourceExhausted status error and the
// seconds to wait; otherwise release gives the slot back (once).
func (l *Limits) AcquireBulk(party string) (release func(), retryAfter string, err error) {
	if l == nil || l.bulkCap == 0 {
		return func() {}, "", nil
	}
	l.bulkMu.Lock()
	defer l.bulkMu.Unlock()
	if l.bulk[party] >= l.bulkCap {
		l.limited.WithLabelValues("bulk").Inc()
		secs := RetryAfter(bulkRetryAfter)
		return nil, secs, status.Errorf(codes.ResourceExhausted,
			"rate limit: at most %d commissioning calls in flight per party; retry after %s s", l.bulkCap, secs)
	}
	l.bulk[party]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.bulkMu.Lock()
			defer l.bulkMu.Unlock()
			if l.bulk[party]--; l.bulk[party] <= 0 {
				delete(l.bulk, party) // the map holds only parties with calls in flight
			}
		})
	}, "", nil
}

// RetryAfter formats wait as whole seconds, rounded up, at least 1.
func RetryAfter(wait time.Duration) string {
	return strconv.FormatInt(max(1, int64(math.Ceil(wait.Seconds()))), 10)
}

// AddressKey is the budget key of a client address ("host:port" or a
// bare IP): the IPv4 address, or the /64 of an IPv6 address (one
// subscriber's usual allocation, so that rotating addresses within it
// gains nothing). Anything unparsable is its own key.
func AddressKey(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// UnaryInterceptor returns the limits as a unary interceptor, to run after
// authentication. With rates it charges budgets and caps bulk calls;
// without, it only caps bulk calls (for the gateway's in-process server,
// whose requests the HTTP edge has charged already).
func (l *Limits) UnaryInterceptor(rates bool) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		release, err := l.admitCall(ctx, rates, info.FullMethod, func(md metadata.MD) {
			_ = grpc.SetHeader(ctx, md)
			_ = grpc.SetTrailer(ctx, md)
		})
		if err != nil {
			return nil, err
		}
		defer release()
		return handler(ctx, req)
	}
}

// StreamInterceptor is UnaryInterceptor for streams. On a write stream
// every message after the first also takes a write token, waiting for it:
// a stream is slowed to its party's budget rather than cut.
func (l *Limits) StreamInterceptor(rates bool) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		release, err := l.admitCall(ctx, rates, info.FullMethod, func(md metadata.MD) {
			_ = ss.SetHeader(md)
			ss.SetTrailer(md)
		})
		if err != nil {
			return err
		}
		defer release()
		if p, ok := auth.FromContext(ctx); ok && rates && l != nil && l.writes != nil && ClassOf(info.FullMethod) == Write && info.IsClientStream {
			ss = &throttled{ServerStream: ss, b: l.writes, key: p.Party.GetGln(), now: l.now}
		}
		return handler(srv, ss)
	}
}

// admitCall charges a gRPC call to its budget (with rates) and takes a
// bulk slot for bulk methods; a refusal's retry-after goes to setMD.
func (l *Limits) admitCall(ctx context.Context, rates bool, method string, setMD func(metadata.MD)) (func(), error) {
	if l == nil {
		return func() {}, nil
	}
	var party string
	if p, ok := auth.FromContext(ctx); ok {
		party = p.Party.GetGln()
	}
	if rates {
		var addr string // only callers without a token are charged by address
		if pr, ok := peer.FromContext(ctx); ok && pr.Addr != nil && party == "" {
			addr = pr.Addr.String()
		}
		if secs, err := l.Admit(method, party, addr); err != nil {
			setMD(metadata.Pairs(RetryAfterHeader, secs))
			return nil, err
		}
	}
	if !IsBulk(method) || party == "" {
		return func() {}, nil
	}
	release, secs, err := l.AcquireBulk(party)
	if err != nil {
		setMD(metadata.Pairs(RetryAfterHeader, secs))
		return nil, err
	}
	return release, nil
}

// throttled makes each message after the first wait for a token of its
// party's write budget.
type throttled struct {
	grpc.ServerStream
	b    *buckets
	key  string
	now  func() time.Time
	seen bool
}

func (s *throttled) RecvMsg(m any) error {
	if s.seen {
		for {
			wait, ok := s.b.take(s.key, s.now())
			if ok {
				break
			}
			t := time.NewTimer(wait)
			select {
			case <-s.Context().Done():
				t.Stop()
				return status.FromContextError(s.Context().Err()).Err()
			case <-t.C:
			}
		}
	}
	s.seen = true
	return s.ServerStream.RecvMsg(m)
}
