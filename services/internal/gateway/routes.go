package gateway

import (
	"context"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/edge"
)

// route is what the edge needs to know of a REST route before its body is
// read: the gRPC method it is a translation of and that method's traits.
type route struct {
	method string // full gRPC method name
	public bool   // needs no token
	stream bool   // the server streams its answer: no write deadline
	bulk   bool   // commissioning: the larger body limit
}

// unknownRoute is assumed of a route the table lacks: it needs a token and
// gets the ordinary body limit.
var unknownRoute = route{method: "unknown"}

// routes maps "VERB /template" (as in the protos' google.api.http
// options) to its route.
type routes map[string]route

// apiFiles are the proto files whose services the gateway serves.
func apiFiles() []protoreflect.FileDescriptor {
	return []protoreflect.FileDescriptor{
		pb.File_pedigree_v1_registry_proto, pb.File_pedigree_v1_verification_proto,
		pb.File_pedigree_v1_capture_proto, pb.File_pedigree_v1_ledger_proto,
		pb.File_pedigree_v1_provenance_proto,
	}
}

// newRoutes reads the REST routes from the protos' HTTP options: the same
// source the gateway's generated handlers come from.
func newRoutes(isPublic func(method string) bool) routes {
	rs := routes{}
	for _, f := range apiFiles() {
		svcs := f.Services()
		for i := range svcs.Len() {
			methods := svcs.Get(i).Methods()
			for j := range methods.Len() {
				m := methods.Get(j)
				rule, ok := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
				if !ok || rule == nil {
					continue
				}
				full := "/" + string(svcs.Get(i).FullName()) + "/" + string(m.Name())
				rt := route{method: full, public: isPublic(full), stream: m.IsStreamingServer(), bulk: edge.IsBulk(full)}
				for _, b := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
					if verb, tmpl := httpBinding(b); verb != "" {
						rs[verb+" "+tmpl] = rt
					}
				}
			}
		}
	}
	fileRoutes(rs)
	return rs
}

// httpBinding returns the verb and path template of an HTTP rule.
func httpBinding(r *annotations.HttpRule) (string, string) {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return "GET", p.Get
	case *annotations.HttpRule_Post:
		return "POST", p.Post
	case *annotations.HttpRule_Put:
		return "PUT", p.Put
	case *annotations.HttpRule_Delete:
		return "DELETE", p.Delete
	case *annotations.HttpRule_Patch:
		return "PATCH", p.Patch
	case *annotations.HttpRule_Custom:
		return p.Custom.GetKind(), p.Custom.GetPath()
	}
	return "", ""
}

// lookup returns the route the gateway matched for a request (its pattern
// is in ctx once the gateway's mux has routed it).
func (rs routes) lookup(ctx context.Context, verb string) route {
	pat, ok := runtime.HTTPPattern(ctx)
	if !ok {
		return unknownRoute
	}
	// The gateway prints a single-segment variable {x} as {x=*}.
	if rt, ok := rs[verb+" "+strings.ReplaceAll(pat.String(), "=*}", "}")]; ok {
		return rt
	}
	return unknownRoute
}
