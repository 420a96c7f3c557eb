package state

import "encoding/binary"

// Key layout of the node's Pebble database. Part of the on-disk format: do
// not change a prefix or an encoding; add new tables with new prefixes. All
// integers are big-endian and fixed-width; a variable-length string inside a
// key is preceded by its length in one byte, so that prefixes never collide.
//
// Prefixes 0x01–0x0F belong to the ledger package (see ledger/keys.go).
//
//	0x10 party     | GLN (13)                            → Party (protobuf)
//	0x11 token     | SHA-256 of the token (32)           → token ID (8) | GLN (13) [| expiry, Unix ms (u64)]
//	0x12 tokenid   | GLN (13) | token ID (8)             → SHA-256 of the token (32)
//	0x13 partykey  | key ID (8)                          → GLN (13) | Ed25519 public key (32)
//	0x14 product   | GTIN (14)                           → Product (protobuf)
//	0x15 batch     | GTIN (14) | len | lot               → Batch (protobuf)
//	0x16 pack      | GTIN (14) | len | serial            → pack record (codec.go)
//	0x17 container | container ID                        → container record (codec.go); the ID is an
//	                 SSCC (18 digits) or a case's (01)<GTIN>(21)<serial> (lifecycle.CaseID)
//	0x18 event     | first 16 bytes of SHA-256(ID)       → ledger index (u64) [| content digest (32)]
//	                 (ID = "<party GLN>/<event ID>", or an envelope ID; events.go)
//	0x19 alert     | ledger index (u64) | n (u32)        → Alert (protobuf)
//	0x1A packlog   | GTIN (14) | len | serial | index    → empty: the entry touched the pack
//	0x1B contlog   | container ID | index (u64)          → empty: the entry touched the container; IDs
//	                 are not length-prefixed, so readers keep only keys exactly 8 bytes past the prefix
//	0x1C member    | object | index (u64)                → ID of the container the object entered, or
//	                 empty when it left (object = 'p' | GTIN | len | serial, or 'c' | container ID)
//	0x1D nodekey   | key ID (8)                          → Ed25519 public key (32) | node name
//	0x1E tokeninfo | GLN (13) | token ID (8)             → TokenInfo (protobuf): issue, expiry, revocation;
//	                 kept after revocation (0x11 and 0x12 are deleted then)
//	0x1F meta      | 0x01                                → last applied stream sequence (u64)
//	               | 0x02                                → event table format (1 byte; events.go)
//	               | 0x03                                → lot index format (1 byte; lotindex.go)
//	               | 0x04                                → alert index format (1 byte; alertindex.go)
//	               | 0x05                                → EPCIS index format (1 byte; epcisindex.go)
//	0x20 deadseq   | stream sequence (u64)               → SHA-256 of subject and data (32): a message
//	                 the ledger did not record (dead letter); streamseq.go
//	0x21 gcp       | digits (4–12)                       → GLN (13) | '=' when the digits are a GS1 Company
//	                 Prefix the party holds, or '<' | a prefix it holds that starts with the digits
//	                 (prefixes.go)
//	0x28 lotpack   | GTIN (14) | len | lot | len | serial → empty: the pack was commissioned in the lot
//	                 (lotindex.go)
//	0x29 alertby   | attribute (1) | len | value | index (u64) | n (u32) → empty: the alert has that
//	                 party ('p'), GTIN ('g') or code ('c', decimal); alertindex.go
//	0x2A epcisid   | first 16 bytes of SHA-256(event ID) | index (u64) → empty: the entry records an
//	                 event with that ID, whoever captured it (epcisindex.go)
//	0x2B epcclass  | GTIN (14) | len | lot | index (u64)  → empty: an event of the entry names the class
//	                 (GTIN and lot) in a quantity list (epcisindex.go)
//	0x2C, 0x2D       reserved for further EPCIS indexes
//	0x2E capjob    | 'j' | GLN (13) | capture ID (16)    → EpcisCaptureJob (protobuf): an EPCIS capture job
//	               | 'r' | GLN (13) | capture ID (16)    → empty: the job is running (capturejobs.go)
//	                 (capture ID = creation time, Unix ns (u64) | 8 random bytes; kept by the node that
//	                 took the capture, not derived from the ledger)
const (
	prefixParty     byte = 0x10
	prefixToken     byte = 0x11
	prefixTokenID   byte = 0x12
	prefixPartyKey  byte = 0x13
	prefixProduct   byte = 0x14
	prefixBatch     byte = 0x15
	prefixPack      byte = 0x16
	prefixContainer byte = 0x17
	prefixEvent     byte = 0x18
	prefixAlert     byte = 0x19
	prefixPackLog   byte = 0x1A
	prefixContLog   byte = 0x1B
	prefixMember    byte = 0x1C
	prefixNodeKey   byte = 0x1D
	prefixTokenInfo byte = 0x1E
	prefixMeta      byte = 0x1F
	prefixDeadSeq   byte = 0x20
	prefixGCP       byte = 0x21
	prefixLotPack   byte = 0x28
	prefixAlertBy   byte = 0x29
	prefixEPCISID   byte = 0x2A
	prefixEPCClass  byte = 0x2B
	prefixCapJob    byte = 0x2E

	metaAppliedSeq  byte = 0x01
	metaEventFormat byte = 0x02
	metaLotIndex    byte = 0x03
	metaAlertIndex  byte = 0x04
	metaEPCISIndex  byte = 0x05
)

func partyKey(gln string) []byte {
	return append([]byte{prefixParty}, gln...)
}

func tokenKey(hash [32]byte) []byte {
	return append([]byte{prefixToken}, hash[:]...)
}

func tokenIDKey(gln string, id [8]byte) []byte {
	k := append([]byte{prefixTokenID}, gln...)
	return append(k, id[:]...)
}

func tokenInfoKey(gln string, id [8]byte) []byte {
	k := append([]byte{prefixTokenInfo}, gln...)
	return append(k, id[:]...)
}

func partyKeyKey(keyID [8]byte) []byte {
	return append([]byte{prefixPartyKey}, keyID[:]...)
}

func nodeKeyKey(keyID [8]byte) []byte {
	return append([]byte{prefixNodeKey}, keyID[:]...)
}

func productKey(gtin string) []byte {
	return append([]byte{prefixProduct}, gtin...)
}

// appendStr appends a length-prefixed string (at most 255 bytes; longer
// values are cut, which validation never lets through).
func appendStr(k []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	k = append(k, byte(len(s)))
	return append(k, s...)
}

func batchKey(gtin, lot string) []byte {
	return appendStr(append([]byte{prefixBatch}, gtin...), lot)
}

// PackKey is the key of a pack record; also the start of its log keys.
func packKey(gtin, serial string) []byte {
	return appendStr(append([]byte{prefixPack}, gtin...), serial)
}

func containerKey(sscc string) []byte {
	return append([]byte{prefixContainer}, sscc...)
}

func alertKey(index uint64, n uint32) []byte {
	k := binary.BigEndian.AppendUint64([]byte{prefixAlert}, index)
	return binary.BigEndian.AppendUint32(k, n)
}

func packLogPrefix(gtin, serial string) []byte {
	return appendStr(append([]byte{prefixPackLog}, gtin...), serial)
}

func contLogPrefix(sscc string) []byte {
	return append([]byte{prefixContLog}, sscc...)
}

func memberPrefix(object []byte) []byte {
	return append([]byte{prefixMember}, object...)
}

// PackObject names a pack in member keys.
func PackObject(gtin, serial string) []byte {
	return appendStr(append([]byte{'p'}, gtin...), serial)
}

// ContainerObject names a container in member keys.
func ContainerObject(sscc string) []byte {
	return append([]byte{'c'}, sscc...)
}

func metaKey(k byte) []byte { return []byte{prefixMeta, k} }

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
