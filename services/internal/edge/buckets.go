package edge

import (
	"container/list"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxBuckets bounds each map of budgets. A national node has tens of
// thousands of parties; addresses past the bound evict the least recently
// seen, which then start again with a full burst.
const maxBuckets = 1 << 16

// buckets are token buckets by key (a party's GLN, a client address), at
// most max of them; the least recently used is evicted to make room.
type buckets struct {
	limit rate.Limit
	burst int
	max   int

	mu  sync.Mutex
	m   map[string]*list.Element // of *bucket
	lru list.List                // front: most recently used
}

type bucket struct {
	key string
	lim *rate.Limiter
}

// newBuckets returns buckets of r tokens per second and burst tokens, or
// nil (no limit) when r is 0.
func newBuckets(r float64, burst, max int) *buckets {
	if r <= 0 {
		return nil
	}
	return &buckets{limit: rate.Limit(r), burst: burst, max: max, m: make(map[string]*list.Element)}
}

// take takes a token from key's bucket at now. When the bucket is empty
// it takes nothing and returns how long until a token is there.
func (b *buckets) take(key string, now time.Time) (time.Duration, bool) {
	lim := b.get(key)
	r := lim.ReserveN(now, 1)
	if !r.OK() { // burst < 1: Validate refuses it
		return time.Hour, false
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// get returns key's limiter, making it (and evicting the least recently
// used past max) when key has none.
func (b *buckets) get(key string) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.m[key]; ok {
		b.lru.MoveToFront(e)
		return e.Value.(*bucket).lim
	}
	if b.lru.Len() >= b.max {
		oldest := b.lru.Back()
		b.lru.Remove(oldest)
		delete(b.m, oldest.Value.(*bucket).key)
	}
	bk := &bucket{key: key, lim: rate.NewLimiter(b.limit, b.burst)}
	b.m[key] = b.lru.PushFront(bk)
	return bk.lim
}

// len is the number of buckets held.
func (b *buckets) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lru.Len()
}
