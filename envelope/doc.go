// Package envelope seals and opens the signed envelopes that carry every
// write to Pedigree's stream, and handles the Ed25519 key files parties sign
// them with.
//
// Invariants:
//   - The signed bytes are the deterministic protobuf serialization of an
//     Envelope, kept exactly as sent: verification never re-serializes.
//   - A key ID is the first 8 bytes of SHA-256 of the raw 32-byte Ed25519
//     public key, as 16 lowercase hex digits.
//   - The message ID a publisher sets (Nats-Msg-Id) is the event ID of a
//     single-event capture, and otherwise the envelope ID
//     urn:pedigree:envelope:<hex SHA-256 of the envelope bytes>.
package envelope
