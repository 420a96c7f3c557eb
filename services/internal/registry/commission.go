package registry

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pedigree-project/pedigree/envelope"
	ledgerentry "github.com/pedigree-project/pedigree/ledger/entry"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
	"github.com/pedigree-project/pedigree/services/internal/ingest"
	"github.com/pedigree-project/pedigree/services/internal/state"
	"github.com/pedigree-project/pedigree/services/internal/writer"
)

// Idempotent commissioning. A request with a request_id is cut into
// chunks of at most ingest.MaxEpcsPerEvent serials, and chunk k of n is
// one scan event whose event ID is derived from (request_id, k)
// (chunkEventID) and which carries one bizTransaction of type
// commissionTxType naming (request_id, k, n, digest of the parameters).
// The ledger deduplicates event IDs per party, so the chunks already
// recorded are found by their event ID and read back from the ledger (same
// serials, same indexes), a chunk sent twice (even after a crash between
// publish and answer) resolves to the entry that recorded it first, and
// a chunk recorded with another digest means the ID was used with other
// parameters. Generated serials are never derived from a seed: a chunk
// not yet on the ledger was never answered to anyone, so a retry draws
// fresh serials for it, and nothing that helps guess serials is recorded.

// MaxRequestIDLength bounds a commissioning request ID.
const MaxRequestIDLength = 64

// commissionTxType is the bizTransaction type marking a chunk of an
// idempotent commissioning.
const commissionTxType = "urn:pedigree:commission"

// checkRequestID validates a request ID: 1–64 characters of A–Z, a–z,
// 0–9, '-', '_', '.', ':'.
func checkRequestID(field, id string) error {
	if id == "" || len(id) > MaxRequestIDLength {
		return apierr.Invalid(field, "1–%d characters, got %d", MaxRequestIDLength, len(id))
	}
	for i := range len(id) {
		c := id[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return apierr.Invalid(field, "only A–Z, a–z, 0–9, '-', '_', '.', ':', got %q at %d", c, i)
		}
	}
	return nil
}

// chunkEventID is the event ID of chunk k of request rid: a UUID (version
// 8, RFC 9562) made of SHA-256 of both, so every retry names the chunk
// alike.
func chunkEventID(rid string, k int) string {
	h := sha256.Sum256([]byte("pedigree commission chunk\x00" + rid + "\x00" + strconv.Itoa(k)))
	h[6] = h[6]&0x0f | 0x80
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// chunkTxID is the bizTransaction ID of chunk k of n of request rid with
// parameter digest digest.
func chunkTxID(rid string, k, n int, digest string) string {
	return rid + "/" + strconv.Itoa(k) + "/" + strconv.Itoa(n) + "/" + digest
}

// commissionDigest digests the parameters of a commissioning request:
// GTIN, lot, the serials or the count, and the event time when given.
func commissionDigest(gtin, lot string, serials []string, count uint32, at *timestamppb.Timestamp) string {
	h := sha256.New()
	var n [8]byte
	put := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	put(gtin)
	put(lot)
	if len(serials) > 0 {
		put("serials")
		for _, sn := range serials {
			put(sn)
		}
	} else {
		put("count")
		put(strconv.FormatUint(uint64(count), 10))
	}
	if at != nil {
		put(at.AsTime().UTC().Format("2006-01-02T15:04:05.999999999Z"))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// chunkTag names one chunk of an idempotent request: its event ID and
// bizTransaction ID.
type chunkTag struct {
	rid, eventID, txID string
}

// recordedChunk is a chunk found on the ledger.
type recordedChunk struct {
	index   uint64
	serials []string
	at      *timestamppb.Timestamp
	lot     string
	txID    string
}

// recorded returns the chunk tag names as party recorded it, if it did.
// A chunk recorded under the same event ID with another bizTransaction
// ID is the request ID used with other parameters: AlreadyExists (unless
// tag has no bizTransaction ID to compare, as for a status read).
func (s *Service) recorded(ctx context.Context, party, gtin string, tag chunkTag) (recordedChunk, bool, error) {
	rec, ok, err := s.w.Store().EventRecordOf(state.HashEventID(envelope.ScopedEventID(party, tag.eventID)))
	if err != nil || !ok {
		return recordedChunk{}, false, err
	}
	if s.log == nil {
		return recordedChunk{}, false, fmt.Errorf("registry: no ledger to read request %q back from", tag.rid)
	}
	e, err := s.log.Entry(ctx, rec.Index)
	if err != nil {
		return recordedChunk{}, false, fmt.Errorf("registry: read entry %d: %w", rec.Index, err)
	}
	entry, err := ledgerentry.Decode(e.Data)
	if err != nil {
		return recordedChunk{}, false, fmt.Errorf("registry: decode entry %d: %w", rec.Index, err)
	}
	op, err := envelope.Open(entry.GetEnvelope())
	if err != nil {
		return recordedChunk{}, false, fmt.Errorf("registry: open entry %d: %w", rec.Index, err)
	}
	for _, ev := range op.Envelope.GetCapture().GetEvents() {
		if ev.GetEventId() != tag.eventID {
			continue
		}
		txs := ev.GetBizTransactions()
		if len(txs) != 1 || txs[0].GetType() != commissionTxType || (tag.txID != "" && txs[0].GetId() != tag.txID) {
			return recordedChunk{}, false, &apierr.Error{Code: codes.AlreadyExists, Msg: fmt.Sprintf(
				"request_id: %q was already used for a commissioning with other parameters (ledger index %d)", tag.rid, rec.Index)}
		}
		out := recordedChunk{index: rec.Index, serials: make([]string, 0, len(ev.GetEpcs())), at: ev.GetEventTime(),
			lot: ev.GetIlmd().GetLot(), txID: txs[0].GetId()}
		for _, epc := range ev.GetEpcs() {
			if pk := epc.GetPack(); pk.GetGtin() == gtin {
				out.serials = append(out.serials, pk.GetSerial())
			}
		}
		return out, true, nil
	}
	return recordedChunk{}, false, fmt.Errorf("registry: entry %d does not hold event %s of request %q", rec.Index, tag.eventID, tag.rid)
}

// maxChunks is the most chunks a CommissionSerials request is made of.
const maxChunks = (MaxCommission + ingest.MaxEpcsPerEvent - 1) / ingest.MaxEpcsPerEvent

// GetCommissionRequest reports which chunks of the caller's commissioning
// request are on the ledger.
func (s *Service) GetCommissionRequest(ctx context.Context, req *pb.GetCommissionRequestRequest) (*pb.GetCommissionRequestResponse, error) {
	p, err := writer.Caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	rid := req.GetRequestId()
	if err := checkRequestID("request_id", rid); err != nil {
		return nil, s.fail(ctx, err)
	}
	if _, err := s.ownProduct(p, req.GetGtin(), false); err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.GetCommissionRequestResponse{RequestId: rid}
	first := ^uint64(0)
	streamed := false
	// A request's chunks are numbered from 0; a streamed one may be longer
	// than maxChunks, and is read on while its chunks follow each other.
	for k := 0; k < maxChunks || (streamed && len(resp.RecordedChunks) == k); k++ {
		rc, ok, err := s.recorded(ctx, p.Party.GetGln(), req.GetGtin(), chunkTag{rid: rid, eventID: chunkEventID(rid, k)})
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		if !ok || rc.lot != req.GetLot() || len(rc.serials) == 0 {
			continue
		}
		parts := strings.Split(rc.txID, "/")
		if len(parts) == 4 {
			if n, err := strconv.ParseUint(parts[2], 10, 32); err == nil {
				resp.Chunks = uint32(n)
				streamed = n == 0
			}
		}
		resp.RecordedChunks = append(resp.RecordedChunks, uint32(k))
		resp.SerialsRecorded += uint64(len(rc.serials))
		first = min(first, rc.index)
	}
	if len(resp.RecordedChunks) == 0 {
		return nil, s.fail(ctx, apierr.NotFound("request_id: no commissioning of batch %s/%s under %q is on the ledger", req.GetGtin(), req.GetLot(), rid))
	}
	resp.FirstLedgerIndex = first
	resp.Complete = resp.GetChunks() > 0 && len(resp.RecordedChunks) == int(resp.GetChunks())
	return resp, nil
}
