package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pedigree-project/pedigree/client"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// maxRunRequestID bounds --request-id: the server takes 64 characters,
// and each request of a run adds "." and its number.
const maxRunRequestID = 48

// runRequestID returns the request ID of a commissioning run: given, after
// validation, or 16 random bytes in hex.
func runRequestID(given string) (string, error) {
	if given == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("request ID: %w", err)
		}
		return hex.EncodeToString(b[:]), nil
	}
	if len(given) > maxRunRequestID {
		return "", fmt.Errorf("--request-id: at most %d characters, got %d", maxRunRequestID, len(given))
	}
	for i := range len(given) {
		c := given[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return "", fmt.Errorf("--request-id: only A–Z, a–z, 0–9, '-', '_', got %q at %d", c, i)
		}
	}
	return given, nil
}

// commissionAttempts is how often a commissioning request is sent when the
// network or a busy server fails it.
const commissionAttempts = 4

// commissionRetrying sends req, and sends it again with the same request
// ID (so that nothing is commissioned twice) when the transport fails or
// the server is busy, waiting 1, 2, 4 s between attempts.
func commissionRetrying(ctx context.Context, c *client.Client, req *pb.CommissionSerialsRequest) (*pb.CommissionSerialsResponse, error) {
	wait := time.Second
	for attempt := 1; ; attempt++ {
		resp, err := c.Registry.CommissionSerials(ctx, req)
		switch status.Code(err) {
		case codes.OK:
			return resp, nil
		case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
			if attempt < commissionAttempts && ctx.Err() == nil {
				break
			}
			fallthrough
		default:
			return nil, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}

// commissionRun commissions count serials of batch (gtin, lot), the given
// serials or generated ones when serials is nil, in requests of at most
// chunk under request IDs rid.0, rid.1, …, each sent by
// commissionRetrying, and hands each answer to each. An error names how
// many serials were committed and the request ID that resumes the run.
func commissionRun(ctx context.Context, c *client.Client, gtin, lot, rid string, serials []string, count, chunk int,
	each func(*pb.CommissionSerialsResponse) error) error {
	var done uint64
	for k, from := 0, 0; from < count; k, from = k+1, from+chunk {
		n := min(chunk, count-from)
		req := &pb.CommissionSerialsRequest{Gtin: gtin, Lot: lot, RequestId: rid + "." + strconv.Itoa(k)}
		if serials != nil {
			req.Serials = serials[from : from+n]
		} else {
			req.Count = uint32(n)
		}
		resp, err := commissionRetrying(ctx, c, req)
		if err == nil {
			err = each(resp)
		}
		if err != nil {
			return fmt.Errorf("after %d serials committed (resume with --request-id %s): %w", done, rid, err)
		}
		done += resp.GetCommissioned()
	}
	return nil
}
