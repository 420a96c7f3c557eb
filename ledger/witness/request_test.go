package witness

import (
	"bytes"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func TestRequestRoundTrips(t *testing.T) {
	r := Request{OldSize: 20852014, Proof: tlog.TreeProof{{1}, {2}, {3}}, Checkpoint: []byte("o\n1\nAA==\n\n— o AAAA\n")}
	got, err := ParseRequest(r.Marshal())
	if err != nil || got.OldSize != r.OldSize || len(got.Proof) != 3 || got.Proof[2] != r.Proof[2] || !bytes.Equal(got.Checkpoint, r.Checkpoint) {
		t.Fatalf("ParseRequest(Marshal(r)) = %+v, %v", got, err)
	}
	long := Request{OldSize: 1, Proof: make(tlog.TreeProof, MaxProofHashes+1), Checkpoint: []byte("x")}
	if _, err := ParseRequest(long.Marshal()); err == nil {
		t.Fatal("a request with 64 proof lines was accepted")
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("old 0\n\no\n1\nAA==\n\n— o AAAA\n"))
	f.Add(Request{OldSize: 5, Proof: tlog.TreeProof{{9}}, Checkpoint: []byte("cp\n")}.Marshal())
	f.Add([]byte("old 18446744073709551615\n\n\n"))
	f.Add([]byte("old 1\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\nx"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRequest(body)
		if err != nil {
			return
		}
		if r.OldSize == 0 && len(r.Proof) != 0 || len(r.Proof) > MaxProofHashes || len(r.Checkpoint) == 0 {
			t.Fatalf("accepted a request breaking the rules: %+v", r)
		}
		// What was accepted is canonical: it encodes to the same bytes.
		if again := r.Marshal(); !bytes.Equal(again, body) {
			t.Fatalf("Marshal(ParseRequest(%q)) = %q", body, again)
		}
	})
}
