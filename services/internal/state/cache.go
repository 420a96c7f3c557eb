package state

import (
	"crypto/ed25519"
	"sync"
	"sync/atomic"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// The read cache keeps the master data and credentials that nearly every
// API request and every consumed message reads (the caller's token and
// party, the signing key, the scanned product and batch) in memory, so
// that a verification reads Pebble once, for the pack. It is the node's
// one cache of these records: the ingest pipeline reads through it too,
// with the writes of the batches it has not yet committed on top.
//
// It is exact, not eventually consistent: after a commit that wrote any
// of these tables returns, and InvalidateCache has been called, no read
// returns what the commit replaced. Invalidation drops everything and
// bumps a generation counter. A reader that misses records the generation
// before it reads Pebble and inserts what it read only if the generation
// is still the same, under the same lock invalidation takes: otherwise a
// reader that read the old value just before the commit could insert it
// just after the invalidation, and keep it for ever.
//
// Only records that exist are cached; a miss for an absent record reads
// Pebble every time. Each table holds at most maxCachedPerTable records;
// a full table evicts an arbitrary one (Go's map iteration order) to make
// room.

// maxCachedPerTable bounds each table of the read cache: 65,536 products,
// batches, parties and tokens take some tens of MiB at most.
const maxCachedPerTable = 1 << 16

// batchRef names a batch: its GTIN and lot.
type batchRef struct{ gtin, lot string }

// readCache is the Store's exact read cache of master data and credentials.
type readCache struct {
	gen atomic.Uint64 // bumped by every invalidation, under mu
	mu  sync.RWMutex
	t   cacheTables // guarded by mu
}

// cacheTables are the cached records. Records are shared with every
// reader and never modified.
type cacheTables struct {
	products  map[string]*pb.Product
	batches   map[batchRef]*pb.Batch
	parties   map[string]*pb.Party
	tokens    map[[32]byte]Credential
	partyKeys map[[8]byte]namedKey
	nodeKeys  map[[8]byte]namedKey
	tokenIDs  map[tokenRef][32]byte
}

// namedKey is a registered public key and whose it is: a party's GLN, or
// a node's name.
type namedKey struct {
	owner string
	pub   ed25519.PublicKey
}

// tokenRef names a party's API token by its ID.
type tokenRef struct {
	gln string
	id  [8]byte
}

func newCacheTables() cacheTables {
	return cacheTables{
		products:  map[string]*pb.Product{},
		batches:   map[batchRef]*pb.Batch{},
		parties:   map[string]*pb.Party{},
		tokens:    map[[32]byte]Credential{},
		partyKeys: map[[8]byte]namedKey{},
		nodeKeys:  map[[8]byte]namedKey{},
		tokenIDs:  map[tokenRef][32]byte{},
	}
}

func newReadCache() *readCache {
	c := &readCache{}
	c.t = newCacheTables()
	return c
}

// generation is what a reader that missed records before reading Pebble.
func (c *readCache) generation() uint64 { return c.gen.Load() }

// invalidate drops every cached record and starts a new generation.
func (c *readCache) invalidate() {
	c.mu.Lock()
	c.gen.Add(1)
	c.t = newCacheTables()
	c.mu.Unlock()
}

// cached looks k up in the table pick selects.
func cached[K comparable, V any](c *readCache, pick func(*cacheTables) map[K]V, k K) (V, bool) {
	c.mu.RLock()
	v, ok := pick(&c.t)[k]
	c.mu.RUnlock()
	return v, ok
}

// remember inserts v, read from Pebble by a reader that recorded
// generation gen before reading, unless an invalidation came in between.
func remember[K comparable, V any](c *readCache, gen uint64, pick func(*cacheTables) map[K]V, k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	m := pick(&c.t)
	if _, ok := m[k]; !ok && len(m) >= maxCachedPerTable {
		for old := range m {
			delete(m, old)
			break
		}
	}
	m[k] = v
}

// readThrough answers k from the table pick selects, or reads it with
// read and remembers what it read by the generation rule above.
func readThrough[K comparable, V any](s *Store, pick func(*cacheTables) map[K]V, k K, read func(*Store, K) (V, error)) (V, error) {
	if v, ok := cached(s.cache, pick, k); ok {
		return v, nil
	}
	gen := s.cache.generation()
	v, err := read(s, k)
	if err == nil {
		remember(s.cache, gen, pick, k, v)
	}
	return v, err
}

func productsOf(t *cacheTables) map[string]*pb.Product { return t.products }
func batchesOf(t *cacheTables) map[batchRef]*pb.Batch  { return t.batches }
func partiesOf(t *cacheTables) map[string]*pb.Party    { return t.parties }
func tokensOf(t *cacheTables) map[[32]byte]Credential  { return t.tokens }
func partyKeysOf(t *cacheTables) map[[8]byte]namedKey  { return t.partyKeys }
func nodeKeysOf(t *cacheTables) map[[8]byte]namedKey   { return t.nodeKeys }
func tokenIDsOf(t *cacheTables) map[tokenRef][32]byte  { return t.tokenIDs }

// InvalidateCache makes the next read of every party, product, batch and
// token come from Pebble. Whoever commits a batch that writes any of
// them (PutParty, PutProduct, PutBatch, PutToken, DeleteToken) MUST call
// it after the commit returned and before anyone may learn of the commit
// (an outcome published, an acknowledgement, a sequence marked applied);
// Apply does so itself. Until it is called, reads may return what the
// commit replaced.
// PutPartyKey and PutNodeKey need no invalidation: a key, once
// registered, is never changed or deleted (a revoked key leaves its
// party's key list, a PutParty), and only records that exist are cached.
func (s *Store) InvalidateCache() { s.cache.invalidate() }

// CacheGeneration counts the invalidations of the read cache so far. A
// caller that derives something from the Store's cached records (a
// resolved API token, say) may keep it while the generation it recorded
// before the reads is still current, by the rule the read cache follows.
func (s *Store) CacheGeneration() uint64 { return s.cache.generation() }
