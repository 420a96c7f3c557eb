package entry

import (
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// kind is how a field is encoded (docs/ledger-format.md, "Field kinds").
type kind uint8

const (
	kNone     kind = iota
	kUint          // uint64: varint, omitted when 0
	kUint32        // uint32: varint below 2^32, omitted when 0
	kInt64         // int64: varint of the two's complement, omitted when 0
	kInt32         // int32 or enum: varint of the sign-extended value, omitted when 0
	kBool          // bool: varint 1, omitted when false
	kString        // string: valid UTF-8, omitted when empty
	kBytes         // bytes: omitted when empty
	kMessage       // message: written when present, even empty
	kOneof         // string member of a oneof: written when set, even empty
	kStrings       // repeated string: every element, even empty
	kMessages      // repeated message: every element
)

func (k kind) wireType() protowire.Type {
	switch k {
	case kUint, kUint32, kInt64, kInt32, kBool:
		return protowire.VarintType
	}
	return protowire.BytesType
}

// field is one field of a message's table.
type field struct {
	name string
	kind kind
}

// schema lists a message's fields by number; a missing or kNone entry is
// a field the format does not have.
type schema []field

var (
	entryV1 = schema{1: {"index", kUint}, 2: {"envelope", kBytes}, 3: {"event_ids", kStrings},
		4: {"auth_method", kInt32}, 5: {"party_gln", kString}, 6: {"credential_id", kString},
		7: {"stream_sequence", kUint}, 8: {"record_time", kMessage}, 9: {"outcomes", kMessages}}
	entryV2   = append(entryV1[:10:10], field{"format", kUint32})
	outcomeS  = schema{1: {"applied", kBool}, 2: {"reason", kString}, 3: {"alerts", kMessages}, 4: {"status", kInt32}, 5: {"affected", kUint}, 6: {"duplicate", kBool}, 7: {"code", kInt32}}
	alertBase = schema{1: {"alert_id", kString}, 2: {"code", kInt32}, 3: {"event_id", kString}, 4: {"ledger_index", kUint},
		5: {"epc", kMessage}, 6: {"party_gln", kString}, 7: {"location_gln", kString}, 8: {"raised_at", kMessage},
		9: {"message", kString}, 10: {}, 11: {"status", kInt32}, 12: {"reviews", kMessages}, 13: {}}
	alertV1    = withField(alertBase, 10, field{"evidence", kMessages})
	alertV2    = withField(alertBase, 13, field{"evidence", kMessages})
	epcS       = schema{1: {"pack", kMessage}, 2: {"sscc", kOneof}}
	packS      = schema{1: {"gtin", kString}, 2: {"serial", kString}, 3: {"lot", kString}, 4: {"expiry", kString}}
	reviewS    = schema{1: {"party_gln", kString}, 2: {"status", kInt32}, 3: {"comment", kString}, 4: {"ledger_index", kUint}, 5: {"time", kMessage}}
	timestampS = schema{1: {"seconds", kInt64}, 2: {"nanos", kInt32}}
	evidenceS  = schema{1: {"key", kString}, 2: {"value", kString}}
)

func withField(s schema, n int, f field) schema {
	out := append(schema(nil), s...)
	out[n] = f
	return out
}

// reader reads one message's fields in canonical order.
type reader struct {
	b    []byte
	s    schema
	last protowire.Number
}

// value is one field read.
type value struct {
	num protowire.Number
	u   uint64 // a varint field's value
	b   []byte // a length-delimited field's bytes
}

// next reads the next field; ok is false at the end of the message. It
// enforces every rule that does not depend on the message: a known field
// of the right wire type, field numbers ascending (a repeated field's
// elements together), varints in the fewest bytes, no zero value written
// where the kind omits it, valid UTF-8.
func (r *reader) next() (v value, ok bool, err error) {
	if len(r.b) == 0 {
		return value{}, false, nil
	}
	tag, n := protowire.ConsumeVarint(r.b)
	if n < 0 {
		return v, false, fmt.Errorf("%w: truncated tag", ErrNonCanonical)
	}
	if n != protowire.SizeVarint(tag) {
		return v, false, fmt.Errorf("%w: tag %#x not in its shortest form", ErrNonCanonical, tag)
	}
	num, typ := protowire.Number(tag>>3), protowire.Type(tag&7)
	if num < 1 || uint64(num) >= uint64(len(r.s)) || r.s[num].kind == kNone {
		return v, false, fmt.Errorf("%w: unknown field %d", ErrNonCanonical, tag>>3)
	}
	f := r.s[num]
	if typ != f.kind.wireType() {
		return v, false, fmt.Errorf("%w: %s: wire type %d, want %d", ErrNonCanonical, f.name, typ, f.kind.wireType())
	}
	switch {
	case num < r.last:
		return v, false, fmt.Errorf("%w: %s: field %d after field %d", ErrNonCanonical, f.name, num, r.last)
	case num == r.last && f.kind != kStrings && f.kind != kMessages:
		return v, false, fmt.Errorf("%w: %s: written twice", ErrNonCanonical, f.name)
	}
	r.last = num
	r.b = r.b[n:]
	x, n := protowire.ConsumeVarint(r.b)
	if n < 0 {
		return v, false, fmt.Errorf("%w: %s: truncated", ErrNonCanonical, f.name)
	}
	if n != protowire.SizeVarint(x) {
		return v, false, fmt.Errorf("%w: %s: varint not in its shortest form", ErrNonCanonical, f.name)
	}
	r.b = r.b[n:]
	v.num = num
	if typ == protowire.VarintType {
		v.u = x
		switch {
		case x == 0:
			return v, false, fmt.Errorf("%w: %s: zero value written", ErrNonCanonical, f.name)
		case f.kind == kBool && x != 1:
			return v, false, fmt.Errorf("%w: %s: bool %d", ErrNonCanonical, f.name, x)
		case f.kind == kUint32 && x>>32 != 0:
			return v, false, fmt.Errorf("%w: %s: %d overflows 32 bits", ErrNonCanonical, f.name, x)
		case f.kind == kInt32 && x != uint64(int64(int32(x))):
			return v, false, fmt.Errorf("%w: %s: %d is not a sign-extended int32", ErrNonCanonical, f.name, x)
		}
		return v, true, nil
	}
	if x > uint64(len(r.b)) {
		return v, false, fmt.Errorf("%w: %s: length %d beyond the message", ErrNonCanonical, f.name, x)
	}
	v.b, r.b = r.b[:x:x], r.b[x:]
	switch f.kind {
	case kString, kBytes:
		if x == 0 {
			return v, false, fmt.Errorf("%w: %s: empty value written", ErrNonCanonical, f.name)
		}
	}
	switch f.kind {
	case kString, kStrings, kOneof:
		if !utf8.Valid(v.b) {
			return v, false, fmt.Errorf("%w: %s: invalid UTF-8", ErrNonCanonical, f.name)
		}
	}
	return v, true, nil
}

// Decode reads a ledger entry of a known format from b, which must be its
// canonical encoding: encoding the result in its format (AppendFormat with
// FormatOf(b)) gives b again. Format 1 entries come back with Format 0.
func Decode(b []byte) (*pb.LedgerEntry, error) {
	f, err := FormatOf(b)
	if err != nil {
		return nil, err
	}
	e := &pb.LedgerEntry{}
	if err := decodeEntry(b, f, e, true); err != nil {
		return nil, err
	}
	return e, nil
}

// DecodeMeta is Decode without the envelope: the entry comes back with
// Envelope nil, after the same checks of all of b. It is for readers of an
// entry's outcomes, who need not copy the envelope's bytes; the entry it
// returns shares no memory with b.
func DecodeMeta(b []byte) (*pb.LedgerEntry, error) {
	f, err := FormatOf(b)
	if err != nil {
		return nil, err
	}
	e := &pb.LedgerEntry{}
	if err := decodeEntry(b, f, e, false); err != nil {
		return nil, err
	}
	return e, nil
}

// Check reports whether b is the canonical encoding of an entry of a known
// format, as Decode would, without building the entry.
func Check(b []byte) error {
	f, err := FormatOf(b)
	if err != nil {
		return err
	}
	return decodeEntry(b, f, nil, false)
}

// FormatOf returns the format of the entry encoded in b from its field 10,
// reading only the entry's top-level tags: Format1 when it has none, an
// ErrUnknownFormat error for a format this package does not know.
func FormatOf(b []byte) (Format, error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeField(b)
		if n < 0 {
			return 0, fmt.Errorf("%w: %v", ErrNonCanonical, protowire.ParseError(n))
		}
		if num == fEntryFormat && typ == protowire.VarintType {
			_, _, m := protowire.ConsumeTag(b)
			v, _ := protowire.ConsumeVarint(b[m:])
			switch Format(v) {
			case Format2:
				return Format2, nil
			case Format1:
				return 0, fmt.Errorf("%w: format: format 1 entries have no format field", ErrNonCanonical)
			}
			return 0, fmt.Errorf("%w %d", ErrUnknownFormat, v)
		}
		b = b[n:]
	}
	return Format1, nil
}

func decodeEntry(b []byte, f Format, e *pb.LedgerEntry, envelope bool) error {
	r := reader{b: b, s: entryV1}
	if f == Format2 {
		r.s = entryV2
	}
	outcomes := 0
	for {
		v, ok, err := r.next()
		if err != nil || !ok {
			if err != nil {
				err = fmt.Errorf("entry: %w", err)
			}
			return err
		}
		if e == nil {
			if v.num == 8 {
				err = decodeTimestamp(v.b, nil)
			} else if v.num == 9 {
				err = decodeOutcome(v.b, f, nil)
			}
			if err != nil {
				return entryErr(v.num, outcomes, err)
			}
			if v.num == 9 {
				outcomes++
			}
			continue
		}
		switch v.num {
		case 1:
			e.Index = v.u
		case 2:
			if envelope {
				e.Envelope = append([]byte(nil), v.b...)
			}
		case 3:
			e.EventIds = append(e.EventIds, string(v.b))
		case 4:
			e.AuthMethod = pb.AuthMethod(int32(v.u))
		case 5:
			e.PartyGln = string(v.b)
		case 6:
			e.CredentialId = string(v.b)
		case 7:
			e.StreamSequence = v.u
		case 8:
			e.RecordTime = &timestamppb.Timestamp{}
			err = decodeTimestamp(v.b, e.RecordTime)
		case 9:
			o := &pb.Outcome{}
			e.Outcomes = append(e.Outcomes, o)
			err = decodeOutcome(v.b, f, o)
		case 10:
			e.Format = uint32(v.u)
		}
		if err != nil {
			return entryErr(v.num, outcomes, err)
		}
		if v.num == 9 {
			outcomes++
		}
	}
}

func entryErr(num protowire.Number, outcome int, err error) error {
	if num == 9 {
		return fmt.Errorf("entry: outcomes[%d]: %w", outcome, err)
	}
	return fmt.Errorf("entry: record_time: %w", err)
}

func decodeTimestamp(b []byte, t *timestamppb.Timestamp) error {
	r := reader{b: b, s: timestampS}
	for {
		v, ok, err := r.next()
		if err != nil || !ok {
			return err
		}
		if v.num == 2 && (int32(v.u) < 0 || int32(v.u) >= 1e9) {
			return fmt.Errorf("%w: nanos: %d is outside [0, 1e9)", ErrNonCanonical, int32(v.u))
		}
		if t == nil {
			continue
		}
		if v.num == 1 {
			t.Seconds = int64(v.u)
		} else {
			t.Nanos = int32(v.u)
		}
	}
}

func decodeOutcome(b []byte, f Format, o *pb.Outcome) error {
	r := reader{b: b, s: outcomeS}
	alerts := 0
	for {
		v, ok, err := r.next()
		if err != nil || !ok {
			return err
		}
		if v.num == 3 {
			var a *pb.Alert
			if o != nil {
				a = &pb.Alert{}
				o.Alerts = append(o.Alerts, a)
			}
			if err := decodeAlert(v.b, f, a); err != nil {
				return fmt.Errorf("alerts[%d]: %w", alerts, err)
			}
			alerts++
			continue
		}
		if o == nil {
			continue
		}
		switch v.num {
		case 1:
			o.Applied = true
		case 2:
			o.Reason = string(v.b)
		case 4:
			o.Status = pb.PackStatus(int32(v.u))
		case 5:
			o.Affected = v.u
		case 6:
			o.Duplicate = true
		case 7:
			o.Code = pb.OutcomeCode(int32(v.u))
		}
	}
}

func decodeAlert(b []byte, f Format, a *pb.Alert) error {
	r := reader{b: b, s: alertV2}
	if f == Format1 {
		r.s = alertV1
	}
	var prevKey []byte
	evidence := 0
	for {
		v, ok, err := r.next()
		if err != nil || !ok {
			return err
		}
		switch v.num {
		case 5:
			var epc *pb.Epc
			if a != nil {
				epc = &pb.Epc{}
				a.Epc = epc
			}
			err = decodeEpc(v.b, epc)
		case 8:
			var t *timestamppb.Timestamp
			if a != nil {
				t = &timestamppb.Timestamp{}
				a.RaisedAt = t
			}
			err = decodeTimestamp(v.b, t)
		case 10, 13:
			var kv *pb.EvidenceItem
			if a != nil {
				kv = &pb.EvidenceItem{}
				a.Evidence = append(a.Evidence, kv)
			}
			if v.num == 10 {
				var key []byte
				if key, err = decodeMapEntry(v.b, kv); err == nil && evidence > 0 && string(key) <= string(prevKey) {
					err = fmt.Errorf("%w: keys not unique and ascending", ErrNonCanonical)
				}
				prevKey = key
			} else {
				err = decodeEvidence(v.b, kv)
			}
			if err != nil {
				return fmt.Errorf("evidence[%d]: %w", evidence, err)
			}
			evidence++
		case 12:
			var rv *pb.AlertReviewRecord
			if a != nil {
				rv = &pb.AlertReviewRecord{}
				a.Reviews = append(a.Reviews, rv)
			}
			err = decodeReview(v.b, rv)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", r.s[v.num].name, err)
		}
		if a == nil {
			continue
		}
		switch v.num {
		case 1:
			a.AlertId = string(v.b)
		case 2:
			a.Code = pb.AlertCode(int32(v.u))
		case 3:
			a.EventId = string(v.b)
		case 4:
			a.LedgerIndex = v.u
		case 6:
			a.PartyGln = string(v.b)
		case 7:
			a.LocationGln = string(v.b)
		case 9:
			a.Message = string(v.b)
		case 11:
			a.Status = pb.AlertStatus(int32(v.u))
		}
	}
}

func decodeEpc(b []byte, epc *pb.Epc) error {
	r := reader{b: b, s: epcS}
	set := false
	for {
		v, ok, err := r.next()
		if err != nil || !ok {
			return err
		}
		if set {
			return fmt.Errorf("%w: more than one member of oneof id", ErrNonCanonical)
		}
		set = true
		if v.num == 1 {
			var p *pb.PackCode
			if epc != nil {
				p = &pb.PackCode{}
				epc.Id = &pb.Epc_Pack{Pack: p}
			}
			if err := decodePack(v.b, p); err != nil {
				return fmt.Errorf("pack: %w", err)
			}
		} else if epc != nil {
			epc.Id = &pb.Epc_Sscc{Sscc: string(v.b)}
		}
	}
}

func decodePack(b []byte, p *pb.PackCode) error {
	r := reader{b: b, s: packS}
	for {
		v, ok, err := r.next()
		if err != nil || !ok {
			return err
		}
		if p == nil {
			continue
		}
		s := string(v.b)
		switch v.num {
		case 1:
			p.Gtin = s
		case 2:
			p.Serial = s
		case 3:
			p.Lot = s
		case 4:
			p.Expiry = s
		}
	}
}

func decodeReview(b []byte, rv *pb.AlertReviewRecord) error {
	r := reader{b: b, s: reviewS}
	for {
		v, ok, err := r.next()
		if err != nil || !ok {
			return err
		}
		if v.num == 5 {
			var t *timestamppb.Timestamp
			if rv != nil {
				t = &timestamppb.Timestamp{}
				rv.Time = t
			}
			if err := decodeTimestamp(v.b, t); err != nil {
				return fmt.Errorf("time: %w", err)
			}
			continue
		}
		if rv == nil {
			continue
		}
		switch v.num {
		case 1:
			rv.PartyGln = string(v.b)
		case 2:
			rv.Status = pb.AlertStatus(int32(v.u))
		case 3:
			rv.Comment = string(v.b)
		case 4:
			rv.LedgerIndex = v.u
		}
	}
}

func decodeEvidence(b []byte, kv *pb.EvidenceItem) error {
	r := reader{b: b, s: evidenceS}
	for {
		v, ok, err := r.next()
		if err != nil || !ok {
			return err
		}
		if kv == nil {
			continue
		}
		if v.num == 1 {
			kv.Key = string(v.b)
		} else {
			kv.Value = string(v.b)
		}
	}
}

// decodeMapEntry reads a format 1 evidence pair: key (field 1) and value
// (field 2), both always written, in that order. It returns the key.
func decodeMapEntry(b []byte, kv *pb.EvidenceItem) ([]byte, error) {
	var parts [2][]byte
	for i := range parts {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num != protowire.Number(i+1) || typ != protowire.BytesType || n != 1 {
			return nil, fmt.Errorf("%w: map entry: want field %d", ErrNonCanonical, i+1)
		}
		s, m := protowire.ConsumeBytes(b[n:])
		if m < 0 || m != protowire.SizeBytes(len(s)) {
			return nil, fmt.Errorf("%w: map entry: field %d: bad length", ErrNonCanonical, i+1)
		}
		if !utf8.Valid(s) {
			return nil, fmt.Errorf("%w: map entry: field %d: invalid UTF-8", ErrNonCanonical, i+1)
		}
		parts[i], b = s, b[n+m:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: map entry: bytes after the value", ErrNonCanonical)
	}
	if kv != nil {
		kv.Key, kv.Value = string(parts[0]), string(parts[1])
	}
	return parts[0], nil
}
