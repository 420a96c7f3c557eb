package state

// Key layout of the node's Pebble database. Part of the on-disk format: do
// not change a prefix or an encoding; add new tables with new prefixes.
//
// Prefixes 0x01–0x0F belong to the ledger package (see ledger/keys.go).
//
//	0x10 party   | GLN (13 ASCII digits)              → Party (protobuf)
//	0x11 token   | SHA-256 of the token (32 bytes)    → token ID (8 bytes) | GLN (13 ASCII)
//	0x12 tokenid | GLN (13 ASCII) | token ID (8 bytes) → SHA-256 of the token (32 bytes)
const (
	prefixParty   byte = 0x10
	prefixToken   byte = 0x11
	prefixTokenID byte = 0x12
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
