package sdk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The queue's on-disk format. Part of the file format: do not change without
// a new segment magic.
//
// A segment file is named by the sequence number of its first record, as 20
// decimal digits, with the suffix ".seg". It starts with segMagic and holds
// records back to back:
//
//	frame   = length:uint32be  crc:uint32be  payload[length]
//	payload = version:byte(1)  seq:uint64be  events:uvarint
//	          subjectLen:uvarint subject  msgIDLen:uvarint msgID  data
//
// crc is CRC-32C (Castagnoli) of the payload. seq numbers increase strictly
// across the whole queue. data is the SignedEnvelope exactly as published,
// so a resend carries the same bytes and the same Nats-Msg-Id.
//
// The acknowledgement file "ack" is a sequence of fixed-size entries
//
//	ack = seq:uint64be  crc:uint32be   (crc is CRC-32C of the 8 seq bytes)
//
// each fsynced when appended; the last valid entry is the released
// sequence number: every record up to it has left the queue. A record is
// released once a node-signed outcome proving it is on the ledger has
// arrived and verified. (Earlier versions released a record at JetStream's
// acknowledgement: the files are the same, only the moment of release
// differs, so a queue directory carries over.) A torn or corrupt entry
// ends the file.
const (
	segMagic      = "PDGQSEG1"
	segSuffix     = ".seg"
	ackFileName   = "ack"
	lockFileName  = "LOCK"
	frameHeader   = 8
	ackEntryLen   = 12
	recordVersion = 1
	// maxPayload bounds one record: the largest envelope the SCANS stream
	// takes (subjects.DefaultMaxMsgSize, 4 MiB) with ample room for the
	// subject and message ID.
	maxPayload = 8 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// record is one queued message: a sealed envelope and where it goes.
type record struct {
	seq     uint64
	events  int    // scan events in the envelope, for Pending
	subject string // NATS subject
	msgID   string // Nats-Msg-Id
	data    []byte // SignedEnvelope wire bytes
	frame   int    // length of the record's frame, once decoded
}

// Errors of the record decoder.
var (
	// errShortFrame: the bytes end inside a frame (a torn write).
	errShortFrame = errors.New("sdk: queue: truncated record")
	// errBadCRC: the payload does not match its checksum.
	errBadCRC = errors.New("sdk: queue: record checksum mismatch")
	// errBadLength: the length field is zero or larger than maxPayload.
	errBadLength = errors.New("sdk: queue: record length out of range")
	// errBadPayload: the payload passed its checksum but is malformed.
	errBadPayload = errors.New("sdk: queue: malformed record")
)

// appendFrame appends the frame of r to b.
func appendFrame(b []byte, r *record) []byte {
	start := len(b)
	b = append(b, make([]byte, frameHeader)...)
	b = append(b, recordVersion)
	b = binary.BigEndian.AppendUint64(b, r.seq)
	b = binary.AppendUvarint(b, uint64(r.events))
	b = binary.AppendUvarint(b, uint64(len(r.subject)))
	b = append(b, r.subject...)
	b = binary.AppendUvarint(b, uint64(len(r.msgID)))
	b = append(b, r.msgID...)
	b = append(b, r.data...)
	payload := b[start+frameHeader:]
	binary.BigEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.BigEndian.PutUint32(b[start+4:], crc32.Checksum(payload, castagnoli))
	return b
}

// frameLen returns the size of r's frame.
func frameLen(r *record) int {
	n := frameHeader + 1 + 8 + uvarintLen(uint64(r.events))
	n += uvarintLen(uint64(len(r.subject))) + len(r.subject)
	n += uvarintLen(uint64(len(r.msgID))) + len(r.msgID)
	return n + len(r.data)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// decodeFrame decodes the frame at the start of b and returns its record and
// the frame's length. The record's data aliases b. Only the canonical
// encoding is accepted, so a decoded record re-encodes to the same bytes.
func decodeFrame(b []byte) (*record, int, error) {
	if len(b) < frameHeader {
		return nil, 0, errShortFrame
	}
	n := binary.BigEndian.Uint32(b)
	if n == 0 || n > maxPayload {
		return nil, 0, errBadLength
	}
	end := frameHeader + int(n)
	if len(b) < end {
		return nil, 0, errShortFrame
	}
	payload := b[frameHeader:end]
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(b[4:]) {
		return nil, 0, errBadCRC
	}
	r, err := decodePayload(payload)
	if err != nil {
		return nil, 0, err
	}
	return r, end, nil
}

// decodePayload decodes a checksummed payload.
func decodePayload(p []byte) (*record, error) {
	if len(p) < 1+8 || p[0] != recordVersion {
		return nil, fmt.Errorf("%w: version or header", errBadPayload)
	}
	r := &record{seq: binary.BigEndian.Uint64(p[1:])}
	p = p[9:]
	events, k := binary.Uvarint(p)
	if k <= 0 || k != uvarintLen(events) || events == 0 || events > maxPayload {
		return nil, fmt.Errorf("%w: event count", errBadPayload)
	}
	r.events = int(events)
	p = p[k:]
	var s []byte
	var err error
	if s, p, err = lengthPrefixed(p); err != nil {
		return nil, fmt.Errorf("%w: subject", err)
	}
	r.subject = string(s)
	if s, p, err = lengthPrefixed(p); err != nil {
		return nil, fmt.Errorf("%w: message ID", err)
	}
	r.msgID = string(s)
	if r.seq == 0 || r.subject == "" || r.msgID == "" || len(p) == 0 {
		return nil, fmt.Errorf("%w: empty field", errBadPayload)
	}
	r.data = p
	return r, nil
}

func lengthPrefixed(p []byte) (field, rest []byte, err error) {
	n, k := binary.Uvarint(p)
	if k <= 0 || k != uvarintLen(n) || n > uint64(len(p)-k) {
		return nil, nil, errBadPayload
	}
	return p[k : k+int(n)], p[k+int(n):], nil
}

// appendAckEntry appends the acknowledgement entry for seq to b.
func appendAckEntry(b []byte, seq uint64) []byte {
	b = binary.BigEndian.AppendUint64(b, seq)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[len(b)-8:], castagnoli))
}

// lastAck returns the sequence number of the last valid entry of an ack
// file's contents, and the length of the valid prefix.
func lastAck(b []byte) (seq uint64, valid int) {
	for len(b)-valid >= ackEntryLen {
		e := b[valid : valid+ackEntryLen]
		if crc32.Checksum(e[:8], castagnoli) != binary.BigEndian.Uint32(e[8:]) {
			break
		}
		s := binary.BigEndian.Uint64(e)
		if s < seq {
			break
		}
		seq = s
		valid += ackEntryLen
	}
	return seq, valid
}
