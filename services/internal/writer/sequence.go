package writer

import (
	"context"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Read-your-writes across nodes. Every node answers a write once its own
// ledger applied it, so reads from the same node see it. A caller that
// reads from another node of the cluster passes the write's stream
// sequence back: the node waits until it has applied that sequence
// before it answers (services/node, MinSequenceHeader).

// SequenceHeader is the response metadata in which a write's answer
// carries the stream sequence of each write it made (REST:
// Grpc-Metadata-Pedigree-Stream-Sequence). The largest one is what a
// caller gives another node as MinSequenceHeader.
const SequenceHeader = "pedigree-stream-sequence"

// MinSequenceHeader is the request metadata (REST:
// Grpc-Metadata-Pedigree-Min-Sequence) with which a caller asks a node to
// answer only once its ledger has applied that stream sequence.
const MinSequenceHeader = "pedigree-min-sequence"

// tellSequence adds seq to the answer's SequenceHeader. Outside a gRPC
// call, or once a stream's headers are sent, it does nothing.
func tellSequence(ctx context.Context, seq uint64) {
	if seq == 0 {
		return
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(SequenceHeader, strconv.FormatUint(seq, 10)))
}
