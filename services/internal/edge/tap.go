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
// authentication interceptor still runs and attaches the caller. The tap
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
		if _, err := a.Authenticate(ctx); err != nil {
			return ctx, err
		}
		return ctx, nil
	}
}
