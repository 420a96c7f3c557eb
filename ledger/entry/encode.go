package entry

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// Format is an entry format version (docs/ledger-format.md).
type Format uint32

// The entry formats.
const (
	// Format1 is the encoding of entries written before the format was
	// specified: no format field, alert evidence in field 10 as map
	// entries in key order.
	Format1 Format = 1
	// Format2 is the specified encoding: field 10 of the entry is 2, alert
	// evidence is field 13 in the order the rules gave it.
	Format2 Format = 2
	// Current is the format Append writes.
	Current = Format2
)

// Errors of the encoding.
var (
	// ErrNonCanonical reports bytes that are not the canonical encoding of
	// an entry, or an entry that has none.
	ErrNonCanonical = errors.New("ledger entry: not canonical")
	// ErrUnknownFormat reports an entry of a format this reader does not
	// know; it must not be interpreted.
	ErrUnknownFormat = errors.New("ledger entry: unknown format")
)

// Append appends the encoding of e in the Current format to dst. e's own
// Format field is ignored.
func Append(dst []byte, e *pb.LedgerEntry) ([]byte, error) {
	return appendEntry(dst, e, Current, true)
}

// AppendBare appends the Current encoding of e without its envelope field:
// what a ResultNotice carries (AppendSpliced puts the envelope back).
func AppendBare(dst []byte, e *pb.LedgerEntry) ([]byte, error) {
	return appendEntry(dst, e, Current, false)
}

// AppendFormat appends the encoding of e in format f, which is Format1 only
// to re-encode entries written in it.
func AppendFormat(dst []byte, e *pb.LedgerEntry, f Format) ([]byte, error) {
	if f != Format1 && f != Format2 {
		return dst, fmt.Errorf("%w %d", ErrUnknownFormat, f)
	}
	return appendEntry(dst, e, f, true)
}

// AppendSpliced appends to dst the entry whose bare encoding (AppendBare,
// or a Format1 entry without field 2) is bare, with the signed envelope env
// put where the format puts field 2: right after the index (field 1), or
// first when the index is 0 and so omitted.
func AppendSpliced(dst, bare, env []byte) ([]byte, error) {
	at := 0
	if num, typ, n := protowire.ConsumeTag(bare); n > 0 && num == fEntryIndex && typ == protowire.VarintType {
		_, m := protowire.ConsumeVarint(bare[n:])
		if m < 0 {
			return dst, fmt.Errorf("%w: index: truncated", ErrNonCanonical)
		}
		at = n + m
	}
	if num, _, n := protowire.ConsumeTag(bare[at:]); n > 0 && num == fEntryEnvelope {
		return dst, fmt.Errorf("%w: envelope: the bare entry already has one", ErrNonCanonical)
	}
	dst = append(dst, bare[:at]...)
	if len(env) > 0 {
		dst = protowire.AppendTag(dst, fEntryEnvelope, protowire.BytesType)
		dst = protowire.AppendBytes(dst, env)
	}
	return append(dst, bare[at:]...), nil
}

// Field numbers of LedgerEntry used outside the tables.
const (
	fEntryIndex    protowire.Number = 1
	fEntryEnvelope protowire.Number = 2
	fEntryFormat   protowire.Number = 10
)

// w appends one message's fields; the first error sticks.
type w struct {
	b   []byte
	err error
}

func (x *w) uint(n protowire.Number, v uint64) {
	if v != 0 {
		x.b = protowire.AppendTag(x.b, n, protowire.VarintType)
		x.b = protowire.AppendVarint(x.b, v)
	}
}

func (x *w) int32(n protowire.Number, v int32) { x.uint(n, uint64(int64(v))) }

func (x *w) bool(n protowire.Number, v bool) {
	if v {
		x.uint(n, 1)
	}
}

// str writes a singular string (omitted when empty), or with always set a
// repeated element or oneof member (written even when empty).
func (x *w) str(n protowire.Number, s string, always bool, name string) {
	if s == "" && !always {
		return
	}
	if !utf8.ValidString(s) {
		x.fail(fmt.Errorf("%w: %s: invalid UTF-8", ErrNonCanonical, name))
		return
	}
	x.b = protowire.AppendTag(x.b, n, protowire.BytesType)
	x.b = protowire.AppendString(x.b, s)
}

func (x *w) bytes(n protowire.Number, v []byte) {
	if len(v) > 0 {
		x.b = protowire.AppendTag(x.b, n, protowire.BytesType)
		x.b = protowire.AppendBytes(x.b, v)
	}
}

func (x *w) fail(err error) {
	if x.err == nil {
		x.err = err
	}
}

// open starts a nested message of field n; close ends it, writing its
// length in front of it in the fewest bytes.
func (x *w) open(n protowire.Number) int {
	x.b = protowire.AppendTag(x.b, n, protowire.BytesType)
	x.b = append(x.b, 0)
	return len(x.b)
}

func (x *w) close(start int) {
	size := len(x.b) - start
	k := protowire.SizeVarint(uint64(size))
	if k > 1 {
		x.b = append(x.b, make([]byte, k-1)...)
		copy(x.b[start+k-1:], x.b[start:start+size])
	}
	protowire.AppendVarint(x.b[start-1:start-1], uint64(size))
}

func appendEntry(dst []byte, e *pb.LedgerEntry, f Format, withEnvelope bool) ([]byte, error) {
	if e == nil {
		return dst, fmt.Errorf("%w: nil entry", ErrNonCanonical)
	}
	x := &w{b: dst}
	x.uint(fEntryIndex, e.GetIndex())
	if withEnvelope {
		x.bytes(fEntryEnvelope, e.GetEnvelope())
	}
	for _, id := range e.GetEventIds() {
		x.str(3, id, true, "event_ids")
	}
	x.int32(4, int32(e.GetAuthMethod()))
	x.str(5, e.GetPartyGln(), false, "party_gln")
	x.str(6, e.GetCredentialId(), false, "credential_id")
	x.uint(7, e.GetStreamSequence())
	x.timestamp(8, e.GetRecordTime(), "record_time")
	for i, o := range e.GetOutcomes() {
		start := x.open(9)
		x.outcome(o, f, i)
		x.close(start)
	}
	if f != Format1 {
		x.uint(fEntryFormat, uint64(f))
	}
	if x.err != nil {
		return dst, x.err
	}
	return x.b, nil
}

func (x *w) timestamp(n protowire.Number, t *timestamppb.Timestamp, name string) {
	if t == nil {
		return
	}
	if t.GetNanos() < 0 || t.GetNanos() >= 1e9 {
		x.fail(fmt.Errorf("%w: %s.nanos: %d is outside [0, 1e9)", ErrNonCanonical, name, t.GetNanos()))
		return
	}
	start := x.open(n)
	x.uint(1, uint64(t.GetSeconds()))
	x.int32(2, t.GetNanos())
	x.close(start)
}

func (x *w) outcome(o *pb.Outcome, f Format, i int) {
	x.bool(1, o.GetApplied())
	x.str(2, o.GetReason(), false, "outcomes.reason")
	for k, a := range o.GetAlerts() {
		start := x.open(3)
		x.alert(a, f, i, k)
		x.close(start)
	}
	x.int32(4, int32(o.GetStatus()))
	x.uint(5, o.GetAffected())
	x.bool(6, o.GetDuplicate())
	x.int32(7, int32(o.GetCode()))
}

func (x *w) alert(a *pb.Alert, f Format, i, k int) {
	x.str(1, a.GetAlertId(), false, "alerts.alert_id")
	x.int32(2, int32(a.GetCode()))
	x.str(3, a.GetEventId(), false, "alerts.event_id")
	x.uint(4, a.GetLedgerIndex())
	if epc := a.GetEpc(); epc != nil {
		start := x.open(5)
		switch id := epc.GetId().(type) {
		case *pb.Epc_Pack:
			p := x.open(1)
			x.str(1, id.Pack.GetGtin(), false, "epc.pack.gtin")
			x.str(2, id.Pack.GetSerial(), false, "epc.pack.serial")
			x.str(3, id.Pack.GetLot(), false, "epc.pack.lot")
			x.str(4, id.Pack.GetExpiry(), false, "epc.pack.expiry")
			x.close(p)
		case *pb.Epc_Sscc:
			x.str(2, id.Sscc, true, "epc.sscc")
		}
		x.close(start)
	}
	x.str(6, a.GetPartyGln(), false, "alerts.party_gln")
	x.str(7, a.GetLocationGln(), false, "alerts.location_gln")
	x.timestamp(8, a.GetRaisedAt(), "alerts.raised_at")
	x.str(9, a.GetMessage(), false, "alerts.message")
	if f == Format1 {
		// A map: every pair written with its key and value, in key order.
		prev := ""
		for j, kv := range a.GetEvidence() {
			if j > 0 && kv.GetKey() <= prev {
				x.fail(fmt.Errorf("%w: outcomes[%d].alerts[%d].evidence[%d]: format 1 evidence keys must be unique and ascending", ErrNonCanonical, i, k, j))
			}
			prev = kv.GetKey()
			start := x.open(10)
			x.str(1, kv.GetKey(), true, "alerts.evidence.key")
			x.str(2, kv.GetValue(), true, "alerts.evidence.value")
			x.close(start)
		}
	}
	x.int32(11, int32(a.GetStatus()))
	for _, r := range a.GetReviews() {
		start := x.open(12)
		x.str(1, r.GetPartyGln(), false, "alerts.reviews.party_gln")
		x.int32(2, int32(r.GetStatus()))
		x.str(3, r.GetComment(), false, "alerts.reviews.comment")
		x.uint(4, r.GetLedgerIndex())
		x.timestamp(5, r.GetTime(), "alerts.reviews.time")
		x.close(start)
	}
	if f != Format1 {
		for _, kv := range a.GetEvidence() {
			start := x.open(13)
			x.str(1, kv.GetKey(), false, "alerts.evidence.key")
			x.str(2, kv.GetValue(), false, "alerts.evidence.value")
			x.close(start)
		}
	}
}
