package envelope_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// batchNotices builds, as a ledger node does, the result notices of a batch
// of n entries starting at index first, each with its own envelope.
func batchNotices(t *testing.T, key ed25519.PrivateKey, first uint64, n int) (notices, wires [][]byte) {
	t.Helper()
	det := proto.MarshalOptions{Deterministic: true}
	pubs := make([][]byte, n)
	leaves := make([]tlog.Hash, n)
	for i := range n {
		wires = append(wires, []byte{0x0a, 0x01, byte('a' + i)})
		e := &pb.LedgerEntry{Index: first + uint64(i), PartyGln: "4000001000005", StreamSequence: 10 + uint64(i),
			Outcomes: []*pb.Outcome{{Applied: i%2 == 0, Reason: "r"}}}
		pub, err := det.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		pubs[i] = pub
		e.Envelope = wires[i]
		full, err := det.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		spliced, err := envelope.SpliceEntry(pub, wires[i])
		if err != nil || string(spliced) != string(full) {
			t.Fatalf("SpliceEntry(%d) = %x, %v; want %x", i, spliced, err, full)
		}
		leaves[i] = tlog.RecordHash(full)
	}
	tree, err := envelope.NewBatchTree(leaves)
	if err != nil {
		t.Fatal(err)
	}
	root := tree.Root()
	body, _ := det.Marshal(&pb.BatchReceipt{Origin: "test/ledger", FirstIndex: first, Count: uint64(n), RootHash: root[:]})
	receipt := envelope.SignNotice(envelope.KindReceipt, body, key)
	for i := range n {
		proof := tree.Proof(i)
		b, _ := det.Marshal(&pb.ResultNotice{Entry: pubs[i], Receipt: receipt, Proof: proof})
		notices = append(notices, b)
	}
	return notices, wires
}

func TestOpenResult(t *testing.T) {
	_, key, _ := envelope.GenerateKey()
	_, stranger, _ := envelope.GenerateKey()
	keys, err := envelope.NewNodeKeys(key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	notices, wires := batchNotices(t, key, 40, 7)
	for i := range notices {
		r, err := envelope.OpenResult(notices[i], wires[i], keys)
		if err != nil {
			t.Fatalf("notice %d: %v", i, err)
		}
		if r.Entry.GetIndex() != 40+uint64(i) || string(r.Entry.GetEnvelope()) != string(wires[i]) {
			t.Fatalf("notice %d: entry %d with envelope %x", i, r.Entry.GetIndex(), r.Entry.GetEnvelope())
		}
	}
	forged, _ := batchNotices(t, stranger, 40, 7)
	flipped := func(b []byte, at int) []byte { c := append([]byte(nil), b...); c[at] ^= 1; return c }
	for name, tc := range map[string]struct{ data, wire []byte }{
		"signed by a stranger":        {forged[3], wires[3]},
		"another sender's envelope":   {notices[3], wires[4]},
		"a byte of the entry changed": {flipped(notices[3], 4), wires[3]},
		"a byte of the proof changed": {flipped(notices[3], len(notices[3])-3), wires[3]},
		"empty":                       {nil, wires[3]},
		"garbage":                     {[]byte{0xff, 0xff, 0xff}, wires[3]},
		"an empty envelope":           {notices[3], nil},
		"truncated":                   {notices[3][:len(notices[3])/2], wires[3]},
	} {
		if _, err := envelope.OpenResult(tc.data, tc.wire, keys); !errors.Is(err, envelope.ErrUntrusted) {
			t.Errorf("%s: err = %v, want ErrUntrusted", name, err)
		}
	}
}

func TestOpenAlert(t *testing.T) {
	_, key, _ := envelope.GenerateKey()
	_, stranger, _ := envelope.GenerateKey()
	keys, _ := envelope.NewNodeKeys(key.Public().(ed25519.PublicKey))
	det := proto.MarshalOptions{Deterministic: true}
	st, _ := det.Marshal(&pb.AlertStatement{Alert: &pb.Alert{AlertId: "5-0", Code: pb.AlertCode(1)}, EnvelopeSha256: make([]byte, 32), Origin: "o"})
	good, _ := det.Marshal(envelope.SignNotice(envelope.KindAlert, st, key))
	if got, err := envelope.OpenAlert(good, keys); err != nil || got.GetAlert().GetAlertId() != "5-0" {
		t.Fatalf("OpenAlert = %v, %v", got, err)
	}
	bad, _ := det.Marshal(envelope.SignNotice(envelope.KindAlert, st, stranger))
	asReceipt, _ := det.Marshal(envelope.SignNotice(envelope.KindReceipt, st, key))
	for name, data := range map[string][]byte{"stranger": bad, "receipt signature": asReceipt, "empty": nil} {
		if _, err := envelope.OpenAlert(data, keys); !errors.Is(err, envelope.ErrUntrusted) {
			t.Errorf("%s: err = %v, want ErrUntrusted", name, err)
		}
	}
}

func FuzzOpenResult(f *testing.F) {
	_, key, _ := envelope.GenerateKey()
	keys, _ := envelope.NewNodeKeys(key.Public().(ed25519.PublicKey))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{0x0a, 0x02, 0x08, 0x01}, []byte{0x0a})
	f.Fuzz(func(t *testing.T, data, wire []byte) {
		if _, err := envelope.OpenResult(data, wire, keys); err == nil {
			t.Fatal("a notice no trusted key signed was believed")
		}
		_, _ = envelope.OpenAlert(data, keys)
	})
}

// BenchmarkBatchReceipt measures what a node adds per committed batch of
// n entries to sign its outcomes: the leaf hashes, the batch tree, one
// signature and a proof per entry, and what a scanner spends to check one
// (OpenResult). ns/event is the node's cost per entry.
func BenchmarkBatchReceipt(b *testing.B) {
	_, key, _ := envelope.GenerateKey()
	keys, _ := envelope.NewNodeKeys(key.Public().(ed25519.PublicKey))
	det := proto.MarshalOptions{Deterministic: true}
	for _, n := range []int{1, 100, 1000} {
		entries := make([][]byte, n)
		pubs := make([][]byte, n)
		wire := make([]byte, 400)
		for i := range n {
			e := &pb.LedgerEntry{Index: uint64(1000 + i), PartyGln: "4000001000005", EventIds: []string{fmt.Sprintf("urn:uuid:%d", i)},
				Outcomes: []*pb.Outcome{{Applied: true, Status: pb.PackStatus(1)}}}
			pubs[i], _ = det.Marshal(e)
			entries[i], _ = envelope.SpliceEntry(pubs[i], wire)
		}
		var notice []byte
		b.Run(fmt.Sprintf("sign/batch=%d", n), func(b *testing.B) {
			for b.Loop() {
				leaves := make([]tlog.Hash, n)
				for i := range entries {
					leaves[i] = tlog.RecordHash(entries[i])
				}
				tree, _ := envelope.NewBatchTree(leaves)
				root := tree.Root()
				body, _ := det.Marshal(&pb.BatchReceipt{Origin: "o", FirstIndex: 1000, Count: uint64(n), RootHash: root[:]})
				rc := envelope.SignNotice(envelope.KindReceipt, body, key)
				for i := range n {
					proof := tree.Proof(i)
					notice, _ = det.Marshal(&pb.ResultNotice{Entry: pubs[i], Receipt: rc, Proof: proof})
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
		})
		b.Run(fmt.Sprintf("open/batch=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := envelope.OpenResult(notice, wire, keys); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestBatchTreeMatchesTlog checks the batch tree's root and every proof
// against golang.org/x/mod/sumdb/tlog for trees of 1 to 70 leaves.
func TestBatchTreeMatchesTlog(t *testing.T) {
	for n := 1; n <= 70; n++ {
		leaves := make([]tlog.Hash, n)
		var stored []tlog.Hash
		reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for i, x := range idx {
				out[i] = stored[x]
			}
			return out, nil
		})
		for i := range leaves {
			leaves[i] = tlog.RecordHash([]byte{byte(i), byte(n)})
			hs, err := tlog.StoredHashesForRecordHash(int64(i), leaves[i], reader)
			if err != nil {
				t.Fatal(err)
			}
			stored = append(stored, hs...)
		}
		tree, err := envelope.NewBatchTree(leaves)
		if err != nil {
			t.Fatal(err)
		}
		want, err := tlog.TreeHash(int64(n), reader)
		if err != nil {
			t.Fatal(err)
		}
		if tree.Root() != want {
			t.Fatalf("n=%d: root %x, tlog %x", n, tree.Root(), want)
		}
		for i := range n {
			p, err := tlog.ProveRecord(int64(n), int64(i), reader)
			if err != nil {
				t.Fatal(err)
			}
			got := tree.Proof(i)
			if len(got) != len(p) {
				t.Fatalf("n=%d leaf %d: proof of %d hashes, tlog %d", n, i, len(got), len(p))
			}
			for k := range p {
				if string(got[k]) != string(p[k][:]) {
					t.Fatalf("n=%d leaf %d: proof hash %d differs from tlog's", n, i, k)
				}
			}
		}
	}
}

func TestOpenResultRefusal(t *testing.T) {
	_, key, _ := envelope.GenerateKey()
	_, stranger, _ := envelope.GenerateKey()
	keys, _ := envelope.NewNodeKeys(key.Public().(ed25519.PublicKey))
	det := proto.MarshalOptions{Deterministic: true}
	wire := []byte("the signed envelope as sent")
	sum := sha256.Sum256(wire)
	st, _ := det.Marshal(&pb.RefusalStatement{Origin: "o", MessageSha256: sum[:], StreamSequence: 9, Reason: "gtin: check digit"})
	notice := func(kind envelope.NoticeKind, k ed25519.PrivateKey) []byte {
		b, _ := det.Marshal(&pb.ResultNotice{Refusal: envelope.SignNotice(kind, st, k)})
		return b
	}
	r, err := envelope.OpenResult(notice(envelope.KindRefusal, key), wire, keys)
	if err != nil || r.Entry != nil || r.Refusal.GetReason() != "gtin: check digit" {
		t.Fatalf("OpenResult = %+v, %v; want the refusal", r, err)
	}
	for name, tc := range map[string]struct{ data, wire []byte }{
		"signed by a stranger":       {notice(envelope.KindRefusal, stranger), wire},
		"signed as another kind":     {notice(envelope.KindReceipt, key), wire},
		"for another sender's bytes": {notice(envelope.KindRefusal, key), []byte("other bytes")},
	} {
		if _, err := envelope.OpenResult(tc.data, tc.wire, keys); !errors.Is(err, envelope.ErrUntrusted) {
			t.Errorf("%s: err = %v, want ErrUntrusted", name, err)
		}
	}
}
