package entry

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

func tag(n protowire.Number, t protowire.Type) []byte { return protowire.AppendTag(nil, n, t) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func str(n protowire.Number, s string) []byte {
	return protowire.AppendString(tag(n, protowire.BytesType), s)
}

func uv(n protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(tag(n, protowire.VarintType), v)
}

func msg(n protowire.Number, parts ...[]byte) []byte {
	return protowire.AppendBytes(tag(n, protowire.BytesType), cat(parts...))
}

var v2 = uv(10, 2)

// TestRefusesNonCanonical checks that Decode and Check refuse every kind
// of non-canonical bytes, naming the rule, and that the valid variants
// next to them are accepted.
func TestRefusesNonCanonical(t *testing.T) {
	alert := func(parts ...[]byte) []byte { return cat(uv(1, 5), msg(9, msg(3, parts...)), v2) }
	for _, c := range []struct {
		name string
		b    []byte
		ok   bool
		err  error
	}{
		{"empty entry", nil, true, nil},
		{"format 2 only", v2, true, nil},
		{"index then format", cat(uv(1, 7), v2), true, nil},
		{"unknown field", cat(uv(11, 1), v2), false, ErrNonCanonical},
		{"fields out of order", cat(str(5, "a"), uv(1, 7), v2), false, ErrNonCanonical},
		{"singular field twice", cat(uv(1, 7), uv(1, 8), v2), false, ErrNonCanonical},
		{"repeated field together", cat(str(3, "a"), str(3, ""), v2), true, nil},
		{"repeated field split", cat(str(3, "a"), str(5, "p"), str(3, "b"), v2), false, ErrNonCanonical},
		{"zero varint written", cat(uv(1, 0), v2), false, ErrNonCanonical},
		{"empty string written", cat(str(5, ""), v2), false, ErrNonCanonical},
		{"empty bytes written", cat(str(2, ""), v2), false, ErrNonCanonical},
		{"long varint", cat(tag(1, protowire.VarintType), []byte{0x81, 0x00}, v2), false, ErrNonCanonical},
		{"long tag", cat([]byte{0x88, 0x00, 0x01}, v2), false, ErrNonCanonical},
		{"long length", cat(tag(5, protowire.BytesType), []byte{0x81, 0x00}, []byte("a"), v2), false, ErrNonCanonical},
		{"wrong wire type", cat(tag(1, protowire.Fixed64Type), make([]byte, 8), v2), false, ErrNonCanonical},
		{"invalid UTF-8", cat(str(5, "\xff"), v2), false, ErrNonCanonical},
		{"truncated", cat(uv(1, 7), v2)[:3], false, ErrNonCanonical},
		{"length beyond the end", cat(tag(5, protowire.BytesType), []byte{5}, []byte("ab")), false, ErrNonCanonical},
		{"format 1 written", uv(10, 1), false, ErrNonCanonical},
		{"unknown format", uv(10, 3), false, ErrUnknownFormat},
		{"empty record time", cat(msg(8), v2), true, nil},
		{"nanos out of range", cat(msg(8, uv(2, 1e9)), v2), false, ErrNonCanonical},
		{"negative seconds", cat(msg(8, uv(1, uint64(1<<64-5))), v2), true, nil},
		{"enum not sign-extended", cat(uv(4, 1<<40), v2), false, ErrNonCanonical},
		{"negative enum", cat(uv(4, uint64(1<<64-1)), v2), true, nil},
		{"bool 2", cat(msg(9, uv(1, 2)), v2), false, ErrNonCanonical},
		{"bool 1", cat(msg(9, uv(1, 1)), v2), true, nil},
		{"format 2 evidence", alert(msg(13, str(1, "k"))), true, nil},
		{"format 2 evidence empty value written", alert(msg(13, str(1, "k"), str(2, ""))), false, ErrNonCanonical},
		{"format 1 evidence in format 2", alert(msg(10, str(1, "k"), str(2, "v"))), false, ErrNonCanonical},
		{"format 2 evidence in format 1", cat(uv(1, 5), msg(9, msg(3, msg(13, str(1, "k"))))), false, ErrNonCanonical},
		{"format 1 map entries", cat(msg(9, msg(3, msg(10, str(1, "a"), str(2, "")), msg(10, str(1, "b"), str(2, "v"))))), true, nil},
		{"format 1 map value omitted", cat(msg(9, msg(3, msg(10, str(1, "a"))))), false, ErrNonCanonical},
		{"format 1 map keys unordered", cat(msg(9, msg(3, msg(10, str(1, "b"), str(2, "")), msg(10, str(1, "a"), str(2, ""))))), false, ErrNonCanonical},
		{"format 1 map keys repeated", cat(msg(9, msg(3, msg(10, str(1, "a"), str(2, "")), msg(10, str(1, "a"), str(2, ""))))), false, ErrNonCanonical},
		{"epc empty sscc", alert(msg(5, str(2, ""))), true, nil},
		{"epc empty pack", alert(msg(5, msg(1))), true, nil},
		{"epc both members", alert(msg(5, msg(1), str(2, "x"))), false, ErrNonCanonical},
		{"review", alert(msg(12, str(1, "p"), msg(5, uv(1, 3)))), true, nil},
		{"review zero ledger index", alert(msg(12, uv(4, 0))), false, ErrNonCanonical},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := Decode(c.b)
			cerr := Check(c.b)
			if c.ok {
				if err != nil || cerr != nil {
					t.Fatalf("Decode: %v, Check: %v", err, cerr)
				}
				f, _ := FormatOf(c.b)
				if got, err := AppendFormat(nil, e, f); err != nil || !bytes.Equal(got, c.b) {
					t.Fatalf("re-encoded\n%x (%v)\nwant\n%x", got, err, c.b)
				}
				return
			}
			if !errors.Is(err, c.err) || !errors.Is(cerr, c.err) {
				t.Fatalf("Decode: %v, Check: %v; want %v", err, cerr, c.err)
			}
		})
	}
}

// TestEncodeRefuses checks that the encoder refuses entries that have no
// canonical encoding instead of writing bytes no reader accepts.
func TestEncodeRefuses(t *testing.T) {
	for name, e := range map[string]*pb.LedgerEntry{
		"nil":           nil,
		"invalid UTF-8": {PartyGln: "\xff"},
		"bad nanos":     {RecordTime: ts(1, -1)},
		"bad evidence":  {Outcomes: []*pb.Outcome{{Alerts: []*pb.Alert{{Evidence: []*pb.EvidenceItem{{Key: "k", Value: "\xc3"}}}}}}},
	} {
		if _, err := Append(nil, e); !errors.Is(err, ErrNonCanonical) {
			t.Errorf("%s: %v", name, err)
		}
	}
	two := &pb.LedgerEntry{Outcomes: []*pb.Outcome{{Alerts: []*pb.Alert{{Evidence: []*pb.EvidenceItem{{Key: "b"}, {Key: "a"}}}}}}}
	if _, err := AppendFormat(nil, two, Format1); !errors.Is(err, ErrNonCanonical) {
		t.Errorf("format 1 evidence out of key order: %v", err)
	}
	if _, err := AppendFormat(nil, two, 3); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("format 3: %v", err)
	}
	// A decoded entry does not alias the bytes it was read from.
	b, _ := Append(nil, &pb.LedgerEntry{Envelope: []byte("env")})
	e, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if !proto.Equal(e, &pb.LedgerEntry{Envelope: []byte("env"), Format: 2}) {
		t.Errorf("decoded %v", e)
	}
}
