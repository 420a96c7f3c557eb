package ledger

import (
	"encoding/binary"

	"golang.org/x/mod/sumdb/tlog"
)

// On-disk format.
//
// This file is the single description of every key and value the ledger
// writes. Everything here is part of the on-disk format: do not change it.
// A change needs a new FormatVersion and a migration.
//
// The ledger owns the single-byte key prefixes 0x01–0x0F of the Pebble
// keyspace; they are reserved for the ledger even where unused. Other
// packages sharing the DB use prefixes 0x10 and above. All integers are
// big-endian and fixed-width, so byte order equals numeric order and Pebble
// iterates entries, tiles and checkpoints in index order.
//
//	key                                  value
//	0x01 ‖ index u64                     entry: chain hash (32 bytes) ‖ entry bytes (exactly as appended)
//	0x02 ‖ level u8 ‖ n u64              tile: W concatenated 32-byte hashes, 1 ≤ W ≤ 2^H
//	0x03 ‖ seq u64                       checkpoint: signed note bytes (C2SP tlog-checkpoint), seq = 0, 1, 2, …
//	0x04 ‖ 0x01                          format version u32 (FormatVersion)
//	0x04 ‖ 0x02                          tile height H u8
//	0x04 ‖ 0x03                          origin (UTF-8, the checkpoint origin line)
//	0x04 ‖ 0x04                          size u64: number of entries committed
//
// Entries. The leaf hash of entry i is RFC 6962's SHA-256(0x00 ‖ bytes);
// it is not stored, it is recomputed. The chain hash is
// chain_i = SHA-256(chain_{i-1} ‖ leaf_i), with chain_{-1} = 32 zero bytes.
//
// Tiles. The RFC 6962 Merkle tree over the leaf hashes is stored as tiles
// of height H in the sense of golang.org/x/mod/sumdb/tlog (tlog.Tile with
// L ≥ 0): tile (level L, number n) lists the hashes at tree level L·H with
// positions n·2^H … n·2^H+W−1. Level-0 tiles hold leaf hashes. A tile is
// written when it first gains hashes and rewritten as it grows, so the last
// tile of each level may be partial (W < 2^H); once full it never changes.
// For a tree of size s, tile (L, n) holds exactly
// min(2^H, (s >> (L·H)) − n·2^H) hashes. Hashes above level L·H inside a
// tile are not stored: they are recomputed from the tile (tlog.HashFromTile).
//
// The entry, tile and size keys of a batch of entries are written in the
// same Pebble batch, so they always agree after a crash.
//
// Key order is chosen for an LSM: entries and level-0 tiles grow at their
// tails, and the few keys rewritten on every batch (size, partial tiles)
// sort after the entries, so a flush does not overlap old entries.
const (
	// FormatVersion is the version of the on-disk format described above.
	FormatVersion = 1

	prefixEntry      byte = 0x01
	prefixTile       byte = 0x02
	prefixCheckpoint byte = 0x03
	prefixMeta       byte = 0x04

	// PrefixFirst and PrefixLast bound the key prefixes reserved for the
	// ledger. Other users of a shared Pebble DB must not write keys whose
	// first byte lies in [PrefixFirst, PrefixLast].
	PrefixFirst byte = 0x01
	PrefixLast  byte = 0x0F

	metaVersion    byte = 0x01
	metaTileHeight byte = 0x02
	metaOrigin     byte = 0x03
	metaSize       byte = 0x04

	chainSize    = tlog.HashSize
	entryKeyLen  = 1 + 8
	tileKeyLen   = 1 + 1 + 8
	cpKeyLen     = 1 + 8
	metaKeyLen   = 2
	sizeValueLen = 8
)

func putEntryKey(dst []byte, index uint64) {
	dst[0] = prefixEntry
	binary.BigEndian.PutUint64(dst[1:], index)
}

func entryKey(index uint64) []byte {
	k := make([]byte, entryKeyLen)
	putEntryKey(k, index)
	return k
}

// entryIndex decodes an entry key; ok is false if k is not one.
func entryIndex(k []byte) (index uint64, ok bool) {
	if len(k) != entryKeyLen || k[0] != prefixEntry {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[1:]), true
}

func tileKey(level int, n int64) []byte {
	k := make([]byte, tileKeyLen)
	k[0] = prefixTile
	k[1] = byte(level)
	binary.BigEndian.PutUint64(k[2:], uint64(n))
	return k
}

// decodeTileKey decodes a tile key; ok is false if k is not one.
func decodeTileKey(k []byte) (level int, n int64, ok bool) {
	if len(k) != tileKeyLen || k[0] != prefixTile {
		return 0, 0, false
	}
	return int(k[1]), int64(binary.BigEndian.Uint64(k[2:])), true
}

func checkpointKey(seq uint64) []byte {
	k := make([]byte, cpKeyLen)
	k[0] = prefixCheckpoint
	binary.BigEndian.PutUint64(k[1:], seq)
	return k
}

// checkpointSeq decodes a checkpoint key; ok is false if k is not one.
func checkpointSeq(k []byte) (seq uint64, ok bool) {
	if len(k) != cpKeyLen || k[0] != prefixCheckpoint {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[1:]), true
}

func metaKey(id byte) []byte { return []byte{prefixMeta, id} }

func encodeSize(size uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, sizeValueLen), size)
}

// prefixBounds returns the iterator bounds [p, p+1) of one key prefix.
func prefixBounds(p byte) (lower, upper []byte) { return []byte{p}, []byte{p + 1} }

// tileLevelBounds returns the iterator bounds of the tiles at one level.
func tileLevelBounds(level int) (lower, upper []byte) {
	return []byte{prefixTile, byte(level)}, []byte{prefixTile, byte(level + 1)}
}
