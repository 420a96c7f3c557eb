// Package envelope seals and opens the signed envelopes that carry every
// write to Pedigree's stream, and handles the Ed25519 key files parties sign
// them with.
//
// Invariants:
//   - The signed bytes are the deterministic protobuf serialization of an
//     Envelope, kept exactly as sent: verification never re-serializes.
//   - A key ID is the first 8 bytes of SHA-256 of the raw 32-byte Ed25519
//     public key, as 16 lowercase hex digits.
//   - Signatures are Ed25519 (RFC 8032), checked under one rule whether one
//     at a time (Opened.Verify) or in batches (Batch): the cofactored
//     equation of RFC 8032 §5.1.7 with canonical encodings, as FIPS 186-5
//     has it, so that an answer never depends on how checks were grouped.
//   - The message ID a publisher sets (Nats-Msg-Id) is the event ID of a
//     single-event capture scoped to the sending party,
//     "<party GLN>/<event ID>" (event IDs are each party's own namespace),
//     and otherwise the envelope ID
//     urn:pedigree:envelope:<hex SHA-256 of the envelope bytes>.
//   - A node signs what it tells parties on NATS (notice.go): once per
//     committed batch a BatchReceipt over the RFC 6962 root of the batch's
//     leaf hashes, each outcome carrying it and the entry's inclusion proof;
//     each alert as an AlertStatement. A statement's kind is a context
//     string in front of the signed bytes, so no signature verifies as
//     another kind or as an envelope. OpenResult believes an outcome only
//     for the exact envelope bytes its receiver sent.
//   - EPCIS and FromEPCIS translate between a scan event and the EPCIS 2.0
//     model; FromEPCIS(EPCIS(ev)) equals ev for the scan events the node
//     produces (packs without scanned lot and expiry, which EPCIS does not
//     export; RETURNING, which exports as CBV receiving, excepted). A scan
//     event carrying the captured EPCIS event (its epcis bytes, with its
//     capture's epcis_head when there is one: CapturedDocument) must be
//     the projection of that document (CheckEPCIS, CheckEPCISIn); the
//     head is read with each of its events, so the events sharing it are
//     bounded by its size (MaxEventsSharingHead);
//     CheckedEPCIS remembers, by digest, the envelopes whose events the
//     process checked before sealing them, so that a process checks an
//     event once: only an envelope identical in every byte is known.
//     Identifier reading is in gs1ids.go alone, to be replaced by the
//     gs1/epc package.
package envelope
