package state

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

const (
	testGTIN = "09506000134352"
	testLot  = "LOT42"
	testGLN  = "4000005000001"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// apply commits the writes put makes in one batch through Store.Apply.
func apply(t *testing.T, s *Store, put func(b *pebble.Batch) error) {
	t.Helper()
	b := s.DB().NewBatch()
	if err := put(b); err != nil {
		b.Close()
		t.Fatal(err)
	}
	if err := s.Apply(b); err != nil {
		t.Fatal(err)
	}
}

func putMasterData(s *Store, recalled bool, role pb.Role) func(b *pebble.Batch) error {
	return func(b *pebble.Batch) error {
		return errors.Join(
			PutProduct(b, &pb.Product{Gtin: testGTIN, Name: fmt.Sprintf("recalled=%v", recalled)}),
			PutBatch(b, &pb.Batch{Gtin: testGTIN, Lot: testLot, Expiry: "281200", Recalled: recalled}),
			PutParty(b, &pb.Party{Gln: testGLN, Role: role}))
	}
}

// TestCacheServesTheNextReadAfterACommit checks that every cached table
// answers what the last commit wrote, on the very next read, for records
// that were cached before the commit: a recall, a role change, a product
// change and a token revocation.
func TestCacheServesTheNextReadAfterACommit(t *testing.T) {
	s := openStore(t)
	token := TokenHash("pdg_test")
	id := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	apply(t, s, putMasterData(s, false, pb.Role_ROLE_PHARMACY))
	apply(t, s, func(b *pebble.Batch) error { return PutToken(b, token, id, testGLN) })
	for range 2 { // the second round answers from the cache
		if b, err := s.Batch(testGTIN, testLot); err != nil || b.GetRecalled() {
			t.Fatalf("batch before the recall: %v, %v", b, err)
		}
		if p, err := s.Party(testGLN); err != nil || p.GetRole() != pb.Role_ROLE_PHARMACY {
			t.Fatalf("party before the change: %v, %v", p, err)
		}
		if p, err := s.Product(testGTIN); err != nil || p.GetName() != "recalled=false" {
			t.Fatalf("product before the change: %v, %v", p, err)
		}
		if c, err := s.Token(token); err != nil || c.PartyGLN != testGLN || c.TokenID != id {
			t.Fatalf("token before the revocation: %+v, %v", c, err)
		}
	}

	apply(t, s, putMasterData(s, true, pb.Role_ROLE_WHOLESALER))
	apply(t, s, func(b *pebble.Batch) error { return DeleteToken(b, testGLN, id, token) })

	if b, err := s.Batch(testGTIN, testLot); err != nil || !b.GetRecalled() {
		t.Errorf("batch after the recall: %v, %v; want recalled", b, err)
	}
	if p, err := s.Party(testGLN); err != nil || p.GetRole() != pb.Role_ROLE_WHOLESALER {
		t.Errorf("party after the change: %v, %v; want a wholesaler", p, err)
	}
	if p, err := s.Product(testGTIN); err != nil || p.GetName() != "recalled=true" {
		t.Errorf("product after the change: %v, %v", p, err)
	}
	if c, err := s.Token(token); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked token resolves to %+v, %v; want ErrNotFound", c, err)
	}
}

// TestCacheRefusesAReadThatRacedACommit plays the race the generation
// counter exists for, step by step: a reader misses, reads the old record
// from Pebble, a commit replaces it and invalidates the cache, and only
// then does the reader insert what it read. The insert must be dropped.
func TestCacheRefusesAReadThatRacedACommit(t *testing.T) {
	s := openStore(t)
	apply(t, s, putMasterData(s, false, pb.Role_ROLE_PHARMACY))
	s.InvalidateCache()

	gen := s.cache.generation() // the reader misses and records the generation
	stale := &pb.Batch{}
	if err := getProto(s.db, batchKey(testGTIN, testLot), stale, "batch"); err != nil || stale.GetRecalled() {
		t.Fatalf("old batch: %v, %v", stale, err)
	}
	apply(t, s, putMasterData(s, true, pb.Role_ROLE_PHARMACY)) // the recall commits and invalidates
	remember(s.cache, gen, batchesOf, batchRef{testGTIN, testLot}, stale)

	if b, err := s.Batch(testGTIN, testLot); err != nil || !b.GetRecalled() {
		t.Fatalf("batch after the recall: %v, %v; the stale read was cached", b, err)
	}
}

// TestCacheIsExactUnderConcurrentReads runs readers that keep filling the
// cache while a writer commits round after round: round r sets the
// batch's commissioned count to r, issues token r and revokes token r-1.
// A read that starts after round r was committed must see at least r,
// and token r-1 revoked, however the readers' misses interleave with the
// commits (a stale insert would be seen by a later read).
func TestCacheIsExactUnderConcurrentReads(t *testing.T) {
	s := openStore(t)
	tokenOf := func(r int64) [32]byte { return TokenHash(fmt.Sprintf("pdg_round_%d", r)) }
	idOf := func(r int64) [8]byte { return [8]byte{byte(r), byte(r >> 8)} }
	round := func(r int64) func(b *pebble.Batch) error {
		return func(b *pebble.Batch) error {
			err := errors.Join(PutBatch(b, &pb.Batch{Gtin: testGTIN, Lot: testLot, Commissioned: uint64(r)}),
				PutToken(b, tokenOf(r), idOf(r), testGLN))
			if r > 0 {
				err = errors.Join(err, DeleteToken(b, testGLN, idOf(r-1), tokenOf(r-1)))
			}
			return err
		}
	}
	apply(t, s, round(0))

	const rounds = 300
	var committed atomic.Int64 // the last round whose commit returned
	stop := make(chan struct{})
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := committed.Load()
				_, _ = s.Token(tokenOf(start)) // valid now, revoked soon: fills the cache
				b, err := s.Batch(testGTIN, testLot)
				if err != nil || b.GetCommissioned() < uint64(start) {
					errs <- fmt.Errorf("a read started after round %d saw the batch of round %d (%v)", start, b.GetCommissioned(), err)
					return
				}
				if start > 0 {
					if _, err := s.Token(tokenOf(start - 1)); !errors.Is(err, ErrNotFound) {
						errs <- fmt.Errorf("a read started after round %d resolved the token revoked in it (%v)", start, err)
						return
					}
				}
			}
		})
	}
	for r := int64(1); r <= rounds; r++ {
		apply(t, s, round(r))
		committed.Store(r)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestViewRemembersWhatTheRulesRead checks that the records an answer is
// built from are the ones the View read for the rules, not a second read.
func TestViewRemembersWhatTheRulesRead(t *testing.T) {
	s := openStore(t)
	apply(t, s, putMasterData(s, false, pb.Role_ROLE_PHARMACY))
	v := s.NewView()
	if _, ok := v.Batch(testGTIN, testLot); !ok {
		t.Fatal("batch not found")
	}
	if _, ok := v.Product(testGTIN); !ok {
		t.Fatal("product not found")
	}
	apply(t, s, putMasterData(s, true, pb.Role_ROLE_PHARMACY))
	if b, ok := v.BatchRecord(testGTIN, testLot); !ok || b.GetRecalled() {
		t.Errorf("the View's batch: %v, %v; want the one it read before the recall", b, ok)
	}
	if p, ok := v.ProductRecord(testGTIN); !ok || p.GetName() != "recalled=false" {
		t.Errorf("the View's product: %v, %v; want the one it read", p, ok)
	}
	if b, ok := s.NewView().BatchRecord(testGTIN, testLot); !ok || !b.GetRecalled() {
		t.Errorf("a new View's batch: %v, %v; want recalled", b, ok)
	}
	if _, ok := v.BatchRecord(testGTIN, "OTHER"); ok || v.Err != nil {
		t.Errorf("an unknown batch: found %v, error %v", ok, v.Err)
	}
}

// TestCacheServesKeysAndTokenIDs: the signing keys and the token IDs the
// ingest pipeline reads for every message are served from the read cache,
// and a revoked token is gone on the next read after the commit.
func TestCacheServesKeysAndTokenIDs(t *testing.T) {
	s := openStore(t)
	pub := make([]byte, 32)
	pub[0] = 7
	id := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	hash := [32]byte{9}
	apply(t, s, func(b *pebble.Batch) error {
		return errors.Join(PutPartyKey(b, id, testGLN, pub), PutNodeKey(b, id, "node-a", pub),
			PutTokenUntil(b, hash, id, testGLN, time.Time{}))
	})
	for range 2 { // from Pebble, then from the cache
		if gln, got, err := s.PartyKey(id); err != nil || gln != testGLN || !bytes.Equal(got, pub) {
			t.Fatalf("PartyKey: %s %x %v", gln, got, err)
		}
		if name, got, err := s.NodeKey(id); err != nil || name != "node-a" || !bytes.Equal(got, pub) {
			t.Fatalf("NodeKey: %s %x %v", name, got, err)
		}
		if h, err := s.TokenHashOf(testGLN, id); err != nil || h != hash {
			t.Fatalf("TokenHashOf: %x %v", h, err)
		}
	}
	if n := len(s.cache.t.partyKeys) + len(s.cache.t.nodeKeys) + len(s.cache.t.tokenIDs); n != 3 {
		t.Fatalf("%d records cached, want 3", n)
	}
	apply(t, s, func(b *pebble.Batch) error { return DeleteToken(b, testGLN, id, hash) })
	if _, err := s.TokenHashOf(testGLN, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("TokenHashOf after the revocation: %v, want ErrNotFound", err)
	}
	if _, _, err := s.PartyKey([8]byte{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("PartyKey of an unknown key: %v, want ErrNotFound", err)
	}
}
