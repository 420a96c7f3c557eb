package edge

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	"github.com/pedigree-project/pedigree/services/internal/auth"
)

// AuthTap returns a gRPC tap (grpc.InTapHandle) that refuses a call to a
// method needing a token, Unauthenticated, unless the call's headers carry
// a valid one: before its message is read, so that a caller without a
// token cannot make the node receive and decode a large message. The
// caller it resolved is the call's (auth.WithPrincipal), so that the
// authentication interceptor does not resolve it again. The tap
// runs on the connection's reader goroutine, where a panic would end the
// process: one is recovered, passed to onPanic and answered Internal.
func AuthTap(a *auth.Authenticator, onPanic func(ctx context.Context, method string, v any)) tap.ServerInHandle {
	return func(ctx context.Context, info *tap.Info) (_ context.Context, err error) {
		defer func() {
			if v := recover(); v != nil {
				if onPanic != nil {
					onPanic(ctx, info.FullMethodName, v)
				}
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		if a.IsPublic(info.FullMethodName) {
			return ctx, nil
		}
		p, err := a.Authenticate(ctx)
		if err != nil {
			return ctx, err
		}
		// The call's context: its interceptor finds the caller resolved.
		return auth.WithPrincipal(ctx, p), nil
	}
}
