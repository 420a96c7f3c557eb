// Package entry is the ledger entry encoding of docs/ledger-format.md: it
// writes a pb.LedgerEntry field by field with protowire primitives, in the
// order the specification fixes, and reads back only canonical bytes, so
// that an entry decoded and encoded again is byte for byte what was read.
// It does not depend on the protobuf library's marshaller, whose output
// may change between versions.
//
// Two formats exist. Format 1 is what nodes wrote before the specification
// (Go's deterministic marshalling, alert evidence as a map); Decode and
// Check accept it as written. Format 2 is what Append writes: the entry
// says so in its field 10. A reader refuses a format it does not know with
// ErrUnknownFormat.
//
// The package depends on the generated protobuf types only, never on
// other Pedigree packages.
package entry
