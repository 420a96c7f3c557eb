package entry

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// golden is one vector of ledger/testdata/entries.txt.
type golden struct {
	name        string
	format      Format
	entry, leaf []byte
}

func readVectors(t testing.TB) []golden {
	t.Helper()
	f, err := os.Open("../testdata/entries.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []golden
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		switch k {
		case "name":
			out = append(out, golden{name: v})
		case "format":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				t.Fatal(err)
			}
			out[len(out)-1].format = Format(n)
		case "entry", "leaf":
			b, err := hex.DecodeString(v)
			if err != nil {
				t.Fatal(err)
			}
			if k == "entry" {
				out[len(out)-1].entry = b
			} else {
				out[len(out)-1].leaf = b
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGolden checks every golden vector: it is canonical, decodes to the
// sample entry it was made from, encodes back to the same bytes in its
// format, and has its leaf hash. The vectors must never change (the
// ledger package checks their chain hashes).
func TestGolden(t *testing.T) {
	vs := readVectors(t)
	if len(vs) != 8 {
		t.Fatalf("%d vectors, want 8", len(vs))
	}
	want := append(samples(0, Format1), samples(4, Format2)...)
	for i, v := range vs {
		if f, err := FormatOf(v.entry); err != nil || f != v.format {
			t.Errorf("%s: format %d (%v), want %d", v.name, f, err, v.format)
		}
		if err := Check(v.entry); err != nil {
			t.Errorf("%s: Check: %v", v.name, err)
		}
		e, err := Decode(v.entry)
		if err != nil {
			t.Fatalf("%s: Decode: %v", v.name, err)
		}
		if !proto.Equal(e, want[i]) {
			t.Errorf("%s: decoded\n%v\nwant\n%v", v.name, e, want[i])
		}
		if b, err := AppendFormat(nil, want[i], v.format); err != nil || !bytes.Equal(b, v.entry) {
			t.Errorf("%s: encoded\n%x (%v)\nwant\n%x", v.name, b, err, v.entry)
		}
		if v.format == Current {
			if b, err := Append(nil, want[i]); err != nil || !bytes.Equal(b, v.entry) {
				t.Errorf("%s: Append differs from the vector (%v)", v.name, err)
			}
		}
		if leaf := sha256.Sum256(append([]byte{0}, v.entry...)); !bytes.Equal(leaf[:], v.leaf) {
			t.Errorf("%s: leaf %x, want %x", v.name, leaf, v.leaf)
		}
	}
}

// randomEntry is an entry with random fields, each left zero at random.
func randomEntry(r *rand.Rand) *pb.LedgerEntry {
	str := func() string {
		if r.IntN(3) == 0 {
			return ""
		}
		return strconv.FormatUint(r.Uint64()>>r.IntN(64), 36) + "é"
	}
	u := func() uint64 {
		if r.IntN(3) == 0 {
			return 0
		}
		return r.Uint64() >> r.IntN(64)
	}
	i32 := func() int32 { return int32(u()) }
	tsr := func() *timestamppb.Timestamp {
		if r.IntN(4) == 0 {
			return nil
		}
		return ts(int64(u()), int32(u()%1e9))
	}
	e := &pb.LedgerEntry{Index: u(), AuthMethod: pb.AuthMethod(i32()), PartyGln: str(), CredentialId: str(), StreamSequence: u(), RecordTime: tsr()}
	if r.IntN(2) == 0 {
		e.Envelope = []byte(str())
	}
	for range r.IntN(3) {
		e.EventIds = append(e.EventIds, str())
	}
	for range r.IntN(3) {
		o := &pb.Outcome{Applied: r.IntN(2) == 0, Reason: str(), Status: pb.PackStatus(i32()), Affected: u(), Duplicate: r.IntN(2) == 0, Code: pb.OutcomeCode(i32())}
		for range r.IntN(3) {
			a := &pb.Alert{AlertId: str(), Code: pb.AlertCode(i32()), EventId: str(), LedgerIndex: u(), PartyGln: str(), LocationGln: str(),
				RaisedAt: tsr(), Message: str(), Status: pb.AlertStatus(i32())}
			switch r.IntN(3) {
			case 1:
				a.Epc = &pb.Epc{Id: &pb.Epc_Sscc{Sscc: str()}}
			case 2:
				a.Epc = &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: str(), Serial: str(), Lot: str(), Expiry: str()}}}
			}
			for range r.IntN(3) {
				a.Reviews = append(a.Reviews, &pb.AlertReviewRecord{PartyGln: str(), Status: pb.AlertStatus(i32()), Comment: str(), LedgerIndex: u(), Time: tsr()})
			}
			for range r.IntN(4) {
				a.Evidence = append(a.Evidence, &pb.EvidenceItem{Key: str(), Value: str()})
			}
			o.Alerts = append(o.Alerts, a)
		}
		e.Outcomes = append(e.Outcomes, o)
	}
	return e
}

// TestAgreesWithProtobuf checks the encoder against the protobuf library
// as it is today: format 2 is what its deterministic marshalling writes
// for the same message, and so is format 1 for entries without evidence
// (the library may change; the golden vectors are the reference). Every
// entry decodes back to itself and Check agrees.
func TestAgreesWithProtobuf(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	det := proto.MarshalOptions{Deterministic: true}
	for i := range 2000 {
		e := randomEntry(r)
		e.Format = uint32(Current)
		got, err := Append(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		want, err := det.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("entry %d: format 2\n%x\nprotobuf\n%x", i, got, want)
		}
		back, err := Decode(got)
		if err != nil || !proto.Equal(back, e) {
			t.Fatalf("entry %d: decoded %v (%v)", i, back, err)
		}
		if err := Check(got); err != nil {
			t.Fatalf("entry %d: Check: %v", i, err)
		}
		hasEvidence := false
		for _, o := range e.Outcomes {
			for _, a := range o.Alerts {
				hasEvidence = hasEvidence || len(a.Evidence) > 0
			}
		}
		if hasEvidence {
			continue
		}
		e.Format = 0
		v1, err := AppendFormat(nil, e, Format1)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := det.Marshal(e); !bytes.Equal(v1, want) {
			t.Fatalf("entry %d: format 1\n%x\nprotobuf\n%x", i, v1, want)
		}
		if back, err := Decode(v1); err != nil || !proto.Equal(back, e) {
			t.Fatalf("entry %d: format 1 decoded %v (%v)", i, back, err)
		}
	}
}

// TestSplice checks that the bare encoding with the envelope spliced back
// is the full encoding, and that splicing refuses a bare entry that has an
// envelope.
func TestSplice(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		e := randomEntry(r)
		if i%50 == 0 {
			e.Envelope = bytes.Repeat([]byte{0xff}, 300)
		}
		full, err := Append(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		bare, err := AppendBare(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendSpliced([]byte("prefix"), bare, e.Envelope)
		if err != nil || !bytes.Equal(got[len("prefix"):], full) {
			t.Fatalf("entry %d: spliced\n%x (%v)\nwant\n%x", i, got, err, full)
		}
		if len(e.Envelope) > 0 {
			if _, err := AppendSpliced(nil, full, e.Envelope); !errors.Is(err, ErrNonCanonical) {
				t.Fatalf("entry %d: splicing into a full entry: %v", i, err)
			}
		}
	}
}
