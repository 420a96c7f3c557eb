package entry

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestSchemaCoversProto checks that the format's tables name every field
// of every message an entry holds, with the kind the proto declares: a
// field added to one of those messages (for the API, say) would otherwise
// be silently left out of the ledger. Such a field needs a new format
// (docs/ledger-format.md).
func TestSchemaCoversProto(t *testing.T) {
	tables := map[protoreflect.FullName]schema{
		(&pb.LedgerEntry{}).ProtoReflect().Descriptor().FullName():        entryV2,
		(&pb.Outcome{}).ProtoReflect().Descriptor().FullName():            outcomeS,
		(&pb.Alert{}).ProtoReflect().Descriptor().FullName():              alertV2,
		(&pb.Epc{}).ProtoReflect().Descriptor().FullName():                epcS,
		(&pb.PackCode{}).ProtoReflect().Descriptor().FullName():           packS,
		(&pb.AlertReviewRecord{}).ProtoReflect().Descriptor().FullName():  reviewS,
		(&pb.EvidenceItem{}).ProtoReflect().Descriptor().FullName():       evidenceS,
		(&timestamppb.Timestamp{}).ProtoReflect().Descriptor().FullName(): timestampS,
	}
	seen := map[protoreflect.FullName]bool{}
	var walk func(md protoreflect.MessageDescriptor)
	walk = func(md protoreflect.MessageDescriptor) {
		if seen[md.FullName()] {
			return
		}
		seen[md.FullName()] = true
		s, ok := tables[md.FullName()]
		if !ok {
			t.Errorf("%s is in a ledger entry but has no table", md.FullName())
			return
		}
		fields := md.Fields()
		known := 0
		for n, f := range s {
			if f.kind != kNone {
				known++
				if fd := fields.ByNumber(protoreflect.FieldNumber(n)); fd == nil || string(fd.Name()) != f.name {
					t.Errorf("%s: the format has field %d %s, the proto does not", md.FullName(), n, f.name)
				}
			}
		}
		if known != fields.Len() {
			t.Errorf("%s: the proto has %d fields, the format %d", md.FullName(), fields.Len(), known)
		}
		for i := range fields.Len() {
			fd := fields.Get(i)
			if int(fd.Number()) >= len(s) || s[fd.Number()].kind == kNone {
				t.Errorf("%s: field %d %s is not in the ledger entry format", md.FullName(), fd.Number(), fd.Name())
				continue
			}
			if got, want := s[fd.Number()].kind, kindOf(fd); got != want {
				t.Errorf("%s.%s: kind %d in the format, %d in the proto", md.FullName(), fd.Name(), got, want)
			}
			if fd.Message() != nil {
				walk(fd.Message())
			}
		}
	}
	walk((&pb.LedgerEntry{}).ProtoReflect().Descriptor())
	if len(seen) != len(tables) {
		t.Errorf("walked %d messages, %d tables", len(seen), len(tables))
	}
}

func kindOf(fd protoreflect.FieldDescriptor) kind {
	if fd.IsList() || fd.IsMap() {
		if fd.Kind() == protoreflect.StringKind {
			return kStrings
		}
		if fd.Kind() == protoreflect.MessageKind {
			return kMessages
		}
		return kNone // no other repeated field, and no map, has a canonical form here
	}
	if fd.ContainingOneof() != nil && fd.Kind() == protoreflect.StringKind {
		return kOneof
	}
	switch fd.Kind() {
	case protoreflect.Uint64Kind:
		return kUint
	case protoreflect.Uint32Kind:
		return kUint32
	case protoreflect.Int64Kind:
		return kInt64
	case protoreflect.Int32Kind, protoreflect.EnumKind:
		return kInt32
	case protoreflect.BoolKind:
		return kBool
	case protoreflect.StringKind:
		return kString
	case protoreflect.BytesKind:
		return kBytes
	case protoreflect.MessageKind:
		return kMessage
	}
	return kNone
}
