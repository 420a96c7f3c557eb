package ingest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/ledger"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/natsauth"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/subjects"
)

// TestMain lets the crash test run this binary as a ledger node process.
func TestMain(m *testing.M) {
	if os.Getenv("PEDIGREE_INGEST_CHILD") == "1" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// runChild runs a pipeline on PEDIGREE_DIR against PEDIGREE_NATS, trusting
// the genesis key PEDIGREE_GENESIS_KEY (hex), until it is killed.
func runChild() int {
	genesisKey, err := hex.DecodeString(os.Getenv("PEDIGREE_GENESIS_KEY"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	natsKey, err := envelope.ReadKeyFile(os.Getenv("PEDIGREE_NATS_KEY"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cred, err := natsauth.Credential(natsKey)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	nc, err := nats.Connect(os.Getenv("PEDIGREE_NATS"), cred)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	js, _ := jetstream.New(nc)
	opts := ledger.PebbleOptions()
	opts.Logger = quietPebble{}
	store, err := state.Open(filepath.Join(os.Getenv("PEDIGREE_DIR"), "pebble"), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	l, err := ledger.Open(store.DB(), ledger.Options{Origin: "test/ledger"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	_, nodeKey, err := envelope.GenerateKey()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	p, err := New(Config{JS: js, NC: nc, Store: store, Ledger: l, Logger: quiet, NodeKey: nodeKey, Consumer: "crash", BatchSize: 64,
		GenesisKey: genesisKey})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := p.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestCrashSafety publishes a known set of events, kills the consuming
// process with SIGKILL at random points several times, and checks that in
// the end every event is in the ledger exactly once, that the state equals
// a clean replay's, and that the ledger verifies.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills subprocesses; skipped with -short")
	}
	w := newWorld(t) // the world's own node consumes too: it is the clean replay
	w.market()
	const packs = 400
	var serials []*pb.Epc
	for i := range packs {
		serials = append(serials, pack(fmt.Sprintf("C%04d", i)))
	}
	w.commission("C0000")
	for i := 1; i < packs; i += 100 {
		ev := w.event(pb.BizStep_BIZ_STEP_COMMISSIONING, pb.Action_ACTION_ADD, serials[i:min(i+100, packs)]...)
		ev.Ilmd = &pb.Ilmd{Lot: lotA, Expiry: expA}
		w.mustApply(mfrGLN, capture(ev))
	}
	// Publish the scans without waiting: the child processes will consume
	// them. Some dispense twice (clones), some events repeat.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var eventIDs []string
	for i := range packs * 2 {
		who := []string{pharmGLN, pharm2}[i%2]
		ev := w.event(pb.BizStep_BIZ_STEP_DISPENSING, pb.Action_ACTION_OBSERVE, serials[(i*7)%packs])
		env := capture(ev)
		env.PartyGln = who
		wire, _ := envelope.Seal(env, who, w.keys[who])
		body, _ := envelope.Marshal(env)
		id, _ := envelope.EventID(ev, who)
		eventIDs = append(eventIDs, id)
		m := nats.NewMsg(subjects.ScanSubject(who))
		m.Data = wire
		m.Header.Set(jetstream.MsgIDHeader, envelope.MsgID(env, body))
		if _, err := w.js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := w.js.Stream(ctx, subjects.ScanStream)
	info, _ := st.Info(ctx)
	last := info.State.LastSeq

	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	var target uint64
	for round := range 4 {
		target += 1 + uint64(rng.IntN(int(last-target)/3))
		child := startChild(t, w, dir)
		waitAckFloor(ctx, t, w.js, target)
		if err := child.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = child.Wait()
		t.Logf("round %d: killed after stream sequence %d of %d", round, target, last)
	}
	child := startChild(t, w, dir)
	waitAckFloor(ctx, t, w.js, last)
	_ = child.Process.Kill()
	_ = child.Wait()

	if err := w.n.p.WaitApplied(ctx, last); err != nil {
		t.Fatal(err)
	}
	opts := ledger.PebbleOptions()
	opts.Logger = quietPebble{}
	db, err := pebble.Open(filepath.Join(dir, "pebble"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, vkey, _ := note.GenerateKey(nil, "test")
	verifier, _ := note.NewVerifier(vkey)
	rep, err := ledger.Verify(ctx, db, verifier, nil)
	if err != nil {
		t.Fatalf("ledger verify after crashes: %v", err)
	}
	size, root := w.n.log.Head()
	if rep.Entries != size || rep.Root != root {
		t.Fatalf("crashed node: %d entries root %x; clean replay: %d entries root %x", rep.Entries, rep.Root, size, root)
	}
	// Every event exactly once.
	seen := map[string]int{}
	l, err := ledger.Open(db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = l.Entries(ctx, 0, l.Size(), func(e ledger.Entry) error {
		entry := &pb.LedgerEntry{}
		if err := proto.Unmarshal(e.Data, entry); err != nil {
			return err
		}
		for i, id := range entry.GetEventIds() {
			if !entry.GetOutcomes()[i].GetDuplicate() {
				seen[id]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range eventIDs {
		if seen[id] != 1 {
			t.Fatalf("event %s recorded %d times", id, seen[id])
		}
	}
	// The state tables equal the clean replay's.
	compareRange(t, db, w.n.store.DB(), []byte{0x10}, []byte{0x20})
}

func startChild(t *testing.T, w *world, dir string) *exec.Cmd {
	t.Helper()
	keyFile := filepath.Join(dir, "nats.key")
	if _, err := os.Stat(keyFile); err != nil {
		if err := envelope.WriteKeyFile(keyFile, w.natsKey); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PEDIGREE_INGEST_CHILD=1", "PEDIGREE_NATS="+w.nats.ClientURL(), "PEDIGREE_NATS_KEY="+keyFile, "PEDIGREE_DIR="+dir,
		"PEDIGREE_GENESIS_KEY="+hex.EncodeToString(w.nodeKey.Public().(ed25519.PublicKey)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if stderr.Len() > 0 {
			t.Logf("child stderr: %s", stderr.String())
		}
	})
	return cmd
}

// waitAckFloor polls the crash consumer until it has acknowledged seq.
func waitAckFloor(ctx context.Context, t *testing.T, js jetstream.JetStream, seq uint64) {
	t.Helper()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := js.Consumer(ctx, subjects.ScanStream, "crash")
		if err == nil {
			if info, err := c.Info(ctx); err == nil && info.AckFloor.Stream >= seq {
				return
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("the ledger process did not reach stream sequence %d", seq)
		}
	}
}

func compareRange(t *testing.T, a, b *pebble.DB, lo, hi []byte) {
	t.Helper()
	ia, _ := a.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	ib, _ := b.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	defer ia.Close()
	defer ib.Close()
	n := 0
	okA, okB := ia.First(), ib.First()
	for ; okA && okB; okA, okB = ia.Next(), ib.Next() {
		if !bytes.Equal(ia.Key(), ib.Key()) || !bytes.Equal(ia.Value(), ib.Value()) {
			t.Fatalf("state differs at key %x", ia.Key())
		}
		n++
	}
	if okA != okB {
		t.Fatalf("state differs: one side has more keys after %d", n)
	}
	if n < 400 {
		t.Fatalf("compared only %d state keys", n)
	}
	t.Logf("%d state keys identical", n)
}
