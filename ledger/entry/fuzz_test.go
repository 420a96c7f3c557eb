package entry

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// FuzzDecode feeds Decode arbitrary bytes: it must never panic, Check and
// DecodeMeta must agree with it (DecodeMeta giving the same entry without
// its envelope, sharing no memory with b), and whatever it accepts must
// encode back to exactly the bytes read, in their format, and mean the
// same to the protobuf library.
// Crashers found are kept under testdata/fuzz/FuzzDecode as seeds.
func FuzzDecode(f *testing.F) {
	for _, v := range readVectors(f) {
		f.Add(v.entry)
	}
	f.Add([]byte{})
	f.Add(cat(msg(9, msg(3, msg(10, str(1, "a"), str(2, "")), msg(5, str(2, "")))), uv(1, 3)))
	f.Add(cat(uv(1, 5), msg(9, msg(3, msg(13, str(1, "k")), msg(12, msg(5)))), v2))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		cerr := Check(b)
		if (err == nil) != (cerr == nil) {
			t.Fatalf("Decode: %v, Check: %v", err, cerr)
		}
		bc := bytes.Clone(b)
		meta, merr := DecodeMeta(bc)
		if (err == nil) != (merr == nil) {
			t.Fatalf("Decode: %v, DecodeMeta: %v", err, merr)
		}
		if err == nil {
			want := proto.Clone(e).(*pb.LedgerEntry)
			want.Envelope = nil
			clear(bc) // DecodeMeta's entry keeps nothing of its input
			if !proto.Equal(meta, want) {
				t.Fatalf("DecodeMeta %v, want Decode's entry without its envelope %v", meta, want)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrNonCanonical) && !errors.Is(err, ErrUnknownFormat) {
				t.Fatalf("error %v matches neither sentinel", err)
			}
			return
		}
		format, err := FormatOf(b)
		if err != nil {
			t.Fatal(err)
		}
		again, err := AppendFormat(nil, e, format)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoded\n%x (%v)\nread\n%x", again, err, b)
		}
		if format == Current {
			// The protobuf library reads the same entry.
			lib := new(pb.LedgerEntry)
			if err := proto.Unmarshal(b, lib); err != nil || !proto.Equal(lib, e) {
				t.Fatalf("protobuf reads %v (%v), Decode %v", lib, err, e)
			}
		}
	})
}
