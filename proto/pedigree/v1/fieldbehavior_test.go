package pedigreev1_test

import (
	"slices"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// behaviors reads the google.api.field_behavior option of a field, as the
// Go runtime's descriptor of the vendored option decodes it.
func behaviors(t *testing.T, m proto.Message, field protoreflect.Name) []annotations.FieldBehavior {
	t.Helper()
	fd := m.ProtoReflect().Descriptor().Fields().ByName(field)
	if fd == nil {
		t.Fatalf("%s has no field %s", m.ProtoReflect().Descriptor().FullName(), field)
	}
	opts, _ := fd.Options().(*descriptorpb.FieldOptions)
	if opts == nil {
		return nil
	}
	return proto.GetExtension(opts, annotations.E_FieldBehavior).([]annotations.FieldBehavior)
}

// TestFieldBehaviorIsTheGoRuntimes checks that the field_behavior option
// compiled from third_party/googleapis is the one the Go code links
// (genproto): the annotations read back as REQUIRED where the .proto files
// say so, and not elsewhere.
func TestFieldBehaviorIsTheGoRuntimes(t *testing.T) {
	required := []struct {
		m     proto.Message
		field protoreflect.Name
	}{
		{&pb.VerifyPackRequest{}, "pack"},
		{&pb.DecommissionPackRequest{}, "reason"},
		{&pb.BatchDecommissionPacksRequest{}, "packs"},
		{&pb.GetPackRequest{}, "serial"},
		{&pb.CreateBatchRequest{}, "batch"},
		{&pb.CaptureEventRequest{}, "event"},
	}
	for _, r := range required {
		if got := behaviors(t, r.m, r.field); !slices.Contains(got, annotations.FieldBehavior_REQUIRED) {
			t.Errorf("%s.%s: field_behavior %v, want REQUIRED", r.m.ProtoReflect().Descriptor().Name(), r.field, got)
		}
	}
	if got := behaviors(t, &pb.VerifyPackRequest{}, "location_gln"); len(got) != 0 {
		t.Errorf("VerifyPackRequest.location_gln: field_behavior %v, want none (it has a default)", got)
	}
	// PackInput is a oneof: exactly one way to name a pack.
	if o := (&pb.PackInput{}).ProtoReflect().Descriptor().Oneofs().ByName("input"); o == nil || o.Fields().Len() != 2 {
		t.Errorf("PackInput.input: %v, want a oneof of barcode and code", o)
	}
}
