package resolver

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/pedigree-project/pedigree/services/internal/edge"
)

// maxClients bounds the buckets the limiter holds. Past it, buckets that
// have refilled (clients gone quiet) are dropped first, then arbitrary
// ones, whose clients start again with a full burst.
const maxClients = 1 << 15

// limiter holds a token bucket per client address key (edge.AddressKey:
// IPv4, or the /64 of IPv6), in memory only.
type limiter struct {
	limit rate.Limit
	burst int

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func newLimiter(perSecond float64, burst int) *limiter {
	if perSecond <= 0 {
		return nil
	}
	return &limiter{limit: rate.Limit(perSecond), burst: burst, m: make(map[string]*rate.Limiter)}
}

// admit takes a token from addr's bucket at now, or says how long until
// one is there.
func (l *limiter) admit(addr string, now time.Time) (time.Duration, bool) {
	if l == nil {
		return 0, true
	}
	key := edge.AddressKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.m[key]
	if !ok {
		if len(l.m) >= maxClients {
			l.evict(now)
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return time.Minute, false
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// evict drops the full buckets (clients gone quiet: a new bucket would be
// the same); when too few were full, it drops arbitrary ones down to 7/8
// of the bound, so that a flood of new addresses costs a scan per
// maxClients/8 of them, not one each.
func (l *limiter) evict(now time.Time) {
	for k, lim := range l.m {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.m, k)
		}
	}
	for k := range l.m {
		if len(l.m) <= maxClients*7/8 {
			break
		}
		delete(l.m, k)
	}
}

// len is the number of buckets held.
func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
