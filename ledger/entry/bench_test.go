package entry

import (
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// benchEntries are golden sample entries: a one-event entry, the most
// common kind, and the capture with two alerts and evidence.
func benchEntries() map[string]*pb.LedgerEntry {
	s := samples(4, Format2)
	return map[string]*pb.LedgerEntry{"one_event": s[3], "alerts": s[1]}
}

// BenchmarkEncode compares Append with the protobuf library's
// deterministic marshalling of the same entry, and measures the canonical
// check ingest runs on every entry (Check) and Decode.
func BenchmarkEncode(b *testing.B) {
	for name, e := range benchEntries() {
		data, err := Append(nil, e)
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 0, 2*len(data))
		b.Run(name+"/Append", func(b *testing.B) {
			for b.Loop() {
				if _, err := Append(buf[:0], e); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/ProtoMarshal", func(b *testing.B) {
			det := proto.MarshalOptions{Deterministic: true}
			for b.Loop() {
				if _, err := det.MarshalAppend(buf[:0], e); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/Check", func(b *testing.B) {
			for b.Loop() {
				if err := Check(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/Decode", func(b *testing.B) {
			for b.Loop() {
				if _, err := Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
