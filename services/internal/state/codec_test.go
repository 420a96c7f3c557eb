package state

import (
	"encoding/binary"
	"testing"

	"github.com/pedigree-project/pedigree/lifecycle"
)

func TestPackRecordRoundTrip(t *testing.T) {
	p := lifecycle.Pack{GTIN: "09506000134352", Serial: "S1", Lot: "L", Expiry: "281231", Status: lifecycle.StatusActive,
		Custody: lifecycle.Custody{Custodian: "4000001000005", Location: "4000001000005", Tracked: true,
			Transit: lifecycle.Transit{From: "a", To: "b"}},
		Parent: "012345678901234567", LastEvent: -5, Decommission: lifecycle.Decommission{Party: "p", Location: "l", Time: 1 << 40, Status: 3}}
	got, err := decodePack(p.GTIN, p.Serial, encodePack(nil, &p))
	if err != nil || got != p {
		t.Fatalf("decoded %+v, %v; want %+v", got, err, p)
	}
	if _, err := decodePack(p.GTIN, p.Serial, encodePack(nil, &p)[:10]); err == nil {
		t.Error("a truncated record decoded")
	}
}

// FuzzReaderVarints checks the record reader's varints against
// encoding/binary's.
func FuzzReaderVarints(f *testing.F) {
	for _, v := range []uint64{0, 1, 127, 128, 1 << 35, 1<<64 - 1} {
		f.Add(binary.AppendUvarint(nil, v))
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		want, n := binary.Uvarint(b)
		r := reader{s: string(b)}
		got := r.uvarint()
		if (n <= 0) != r.err || (n > 0 && (got != want || len(r.s) != len(b)-n)) {
			t.Fatalf("%x: got %d err=%v rest %d; binary.Uvarint %d, %d", b, got, r.err, len(r.s), want, n)
		}
		wantS, ns := binary.Varint(b)
		r = reader{s: string(b)}
		if gotS := r.varint(); (ns <= 0) != r.err || (ns > 0 && gotS != wantS) {
			t.Fatalf("%x: varint %d err=%v; binary.Varint %d, %d", b, gotS, r.err, wantS, ns)
		}
	})
}
