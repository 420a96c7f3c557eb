package node

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/pedigree-project/pedigree/services/internal/writer"
)

// maxSequenceWait bounds how long a call asking for a stream sequence
// (writer.MinSequenceHeader) waits for this node's ledger to apply it.
const maxSequenceWait = 5 * time.Second

// minSequence reads writer.MinSequenceHeader from the call's metadata: 0
// when absent.
func minSequence(ctx context.Context) (uint64, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(writer.MinSequenceHeader)
	var most uint64
	for _, v := range vals {
		seq, err := strconv.ParseUint(v, 10, 64)
		if err != nil || len(v) > 20 {
			return 0, status.Errorf(codes.InvalidArgument, "%s: want a stream sequence (decimal), got %.24q", writer.MinSequenceHeader, v)
		}
		most = max(most, seq)
	}
	return most, nil
}

// awaitSequence makes a call that names a stream sequence
// (writer.MinSequenceHeader) wait until this node's ledger has applied
// it, so that a caller reads its own writes made through another node of
// the cluster. It waits at most maxSequenceWait (and the call's
// deadline), then answers Unavailable.
func (n *Node) awaitSequence(ctx context.Context) error {
	seq, err := minSequence(ctx)
	if err != nil || seq == 0 || n.pipeline.Applied() >= seq {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, maxSequenceWait)
	defer cancel()
	if err := n.pipeline.WaitApplied(wctx, seq); err != nil {
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
		return status.Error(codes.Unavailable, fmt.Sprintf("%s: this node has applied the stream up to sequence %d, not yet %d; retry, or ask the node written to",
			writer.MinSequenceHeader, n.pipeline.Applied(), seq))
	}
	return nil
}

// sequenceUnary is the unary interceptor of awaitSequence.
func (n *Node) sequenceUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := n.awaitSequence(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// sequenceStream is the stream interceptor of awaitSequence.
func (n *Node) sequenceStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := n.awaitSequence(ss.Context()); err != nil {
		return err
	}
	return handler(srv, ss)
}
