package edge

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/auth"
)

// partyFromHeader stands in for authentication: the caller is the party
// its x-party header names (the real interceptor resolves a token).
func partyFromHeader(ctx context.Context) context.Context {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("x-party"); len(v) == 1 {
		return auth.WithPrincipal(ctx, &auth.Principal{Party: &pb.Party{Gln: v[0]}})
	}
	return ctx
}

type partyStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s partyStream) Context() context.Context { return s.ctx }

// blockingRegistry holds commissioning calls until released.
type blockingRegistry struct {
	pb.UnimplementedRegistryServiceServer
	entered chan string
	release chan struct{}
}

func (r *blockingRegistry) CommissionSerials(ctx context.Context, req *pb.CommissionSerialsRequest) (*pb.CommissionSerialsResponse, error) {
	r.entered <- req.GetLot()
	select {
	case <-r.release:
	case <-ctx.Done():
	}
	return &pb.CommissionSerialsResponse{}, nil
}

type okVerification struct {
	pb.UnimplementedVerificationServiceServer
}

func (okVerification) VerifyPack(context.Context, *pb.VerifyPackRequest) (*pb.VerifyPackResponse, error) {
	return &pb.VerifyPackResponse{Dispensable: true}, nil
}

type countingCapture struct {
	pb.UnimplementedCaptureServiceServer
	got atomic.Int32
}

func (c *countingCapture) StreamCaptureEvents(s grpc.BidiStreamingServer[pb.StreamCaptureEventsRequest, pb.StreamCaptureEventsResponse]) error {
	for {
		if _, err := s.Recv(); err != nil {
			return err
		}
		c.got.Add(1)
		if err := s.Send(&pb.StreamCaptureEventsResponse{}); err != nil {
			return err
		}
	}
}

// limitedServer serves the three test services on loopback behind the
// limits, with rates.
func limitedServer(t *testing.T, l *Limits, reg *blockingRegistry, capt *countingCapture) *grpc.ClientConn {
	t.Helper()
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return h(partyFromHeader(ctx), req)
		}, l.UnaryInterceptor(true)),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			return h(srv, partyStream{ss, partyFromHeader(ss.Context())})
		}, l.StreamInterceptor(true)),
	)
	pb.RegisterRegistryServiceServer(srv, reg)
	pb.RegisterVerificationServiceServer(srv, okVerification{})
	pb.RegisterCaptureServiceServer(srv, capt)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func as(ctx context.Context, party string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-party", party)
}

func TestGRPCFloodIsRefusedWithRetryAfterAndOtherPartiesPass(t *testing.T) {
	l := newLimits(t, slow())
	conn := limitedServer(t, l, &blockingRegistry{}, &countingCapture{})
	vc := pb.NewVerificationServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	refused := 0
	for range 10 {
		var hdr, trl metadata.MD
		_, err := vc.VerifyPack(as(ctx, "A"), &pb.VerifyPackRequest{}, grpc.Header(&hdr), grpc.Trailer(&trl))
		if err == nil {
			continue
		}
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("flooded verify: %v, want ResourceExhausted", err)
		}
		refused++
		if v := append(hdr.Get(RetryAfterHeader), trl.Get(RetryAfterHeader)...); len(v) == 0 || v[0] == "" {
			t.Fatalf("refusal without retry-after: header %v trailer %v", hdr, trl)
		}
	}
	if refused != 7 {
		t.Errorf("%d of 10 refused, want 7 past the burst of 3", refused)
	}
	if _, err := vc.VerifyPack(as(ctx, "B"), &pb.VerifyPackRequest{}); err != nil {
		t.Errorf("another party during the flood: %v", err)
	}
}

func TestGRPCBulkCallsInFlightAreCapped(t *testing.T) {
	cfg := slow()
	cfg.WriteRate = 0 // only the cap on calls in flight
	l := newLimits(t, cfg)
	reg := &blockingRegistry{entered: make(chan string, 4), release: make(chan struct{})}
	conn := limitedServer(t, l, reg, &countingCapture{})
	rc := pb.NewRegistryServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 3)
	for _, lot := range []string{"L1", "L2"} {
		go func() {
			_, err := rc.CommissionSerials(as(ctx, "A"), &pb.CommissionSerialsRequest{Lot: lot})
			done <- err
		}()
	}
	for range 2 {
		select {
		case <-reg.entered:
		case <-ctx.Done():
			t.Fatal("the first two commissions never started")
		}
	}
	var hdr metadata.MD
	_, err := rc.CommissionSerials(as(ctx, "A"), &pb.CommissionSerialsRequest{Lot: "L3"}, grpc.Header(&hdr))
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "in flight") || len(hdr.Get(RetryAfterHeader)) == 0 {
		t.Fatalf("third commission in flight: %v (header %v)", err, hdr)
	}
	stream, err := rc.StreamCommissionSerials(as(ctx, "A"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.CloseAndRecv(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a commissioning stream beside two calls: %v", err)
	}
	go func() {
		_, err := rc.CommissionSerials(as(ctx, "B"), &pb.CommissionSerialsRequest{Lot: "B1"})
		done <- err
	}()
	if lot := <-reg.entered; lot != "B1" {
		t.Fatalf("entered %s, want B's commission", lot)
	}
	close(reg.release)
	for range 3 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if _, err := rc.CommissionSerials(as(ctx, "A"), &pb.CommissionSerialsRequest{Lot: "L4"}); err != nil {
		t.Errorf("after the calls ended: %v", err)
	}
}

func TestGRPCWriteStreamsAreSlowedToTheWriteBudget(t *testing.T) {
	l := newLimits(t, slow()) // write burst 2: the call and one more message
	capt := &countingCapture{}
	conn := limitedServer(t, l, &blockingRegistry{}, capt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sctx, scancel := context.WithCancel(as(ctx, "A"))
	stream, err := pb.NewCaptureServiceClient(conn).StreamCaptureEvents(sctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := stream.Send(&pb.StreamCaptureEventsRequest{}); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	for i := range 2 {
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("ack %d: %v", i, err)
		}
	}
	// The third message waits for a token that does not come within the
	// test; the caller gives up.
	scancel()
	if _, err := stream.Recv(); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("third message acknowledged past the budget: %v", err)
	}
	if got := capt.got.Load(); got != 2 {
		t.Errorf("the service received %d messages, want 2", got)
	}
}
