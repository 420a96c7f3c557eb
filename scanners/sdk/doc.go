// Package sdk is the scanner client SDK: what manufacturers', wholesalers'
// and pharmacies' software embeds to send scan events straight to Pedigree's
// NATS JetStream stream, signed with the party's Ed25519 key, and to keep
// them safe on local disk while the uplink is down.
//
// A Builder makes EPCIS scan events (commission, pack, unpack, ship,
// receive, return, dispense, decommission, destroy, verify, undo) from
// parsed barcodes (ParseObject, ObjectFromScan) or fields (PackOf,
// ContainerOf), timed by an injected clock. A Client seals one or more
// events as one Capture in an Envelope (envelope.Seal), publishes it on
// pedigree.scan.<party GLN> with Nats-Msg-Id set to envelope.MsgID, and
// waits for JetStream's PubAck.
//
// Guarantees:
//
//   - Send MUST NOT return success before the events are either
//     acknowledged by JetStream (Published) or written and fsynced to the
//     queue (Queued). An error from Send means the events were neither.
//   - A queued message MUST NOT leave the queue before JetStream has
//     acknowledged it; the acknowledgement is fsynced before the forwarder
//     moves on. A crash at any point therefore loses nothing that Send
//     reported as Published or Queued.
//   - Messages from one Client MUST reach the stream in the order Send
//     accepted them: while the queue holds anything, Send appends to it
//     rather than publishing, and the forwarder publishes one message at a
//     time, each only after the previous one was acknowledged.
//   - A resent message MUST carry the same bytes and the same Nats-Msg-Id
//     as its first attempt: the queue stores the signed envelope itself.
//     JetStream therefore stores a retry within its duplicate window once
//     (a duplicate PubAck counts as success), and the ledger records an
//     event ID once for ever, so a message sent twice (a PubAck lost on the
//     way, a crash between PubAck and the fsync of the acknowledgement) is
//     never applied twice.
//   - The queue MUST NOT drop a record silently: a torn last record (a
//     write cut short by a crash, never reported as Queued) is truncated
//     with a warning; any other unreadable bytes are moved to a
//     "<segment>.corrupt" file, logged as an error, and the records after
//     them are kept and sent.
//   - One Client at a time uses a queue directory (an flock on QueueDir/LOCK
//     on Unix systems); New returns ErrQueueLocked otherwise.
//
// Order has a price: a queued message that JetStream keeps refusing (the
// stream is full, or was reconfigured) holds back the ones behind it. The
// forwarder retries it with backoff and logs every refusal as an error
// rather than skipping it.
//
// Send publishes synchronously, so a Client has one message in flight; a
// scanner that reads many codes amortises the round trip and the signature
// by sending up to envelope.MaxEventsPerCapture events in one capture.
//
// The queue format is documented in record.go: segment files of
// length-prefixed, CRC-32C-checked records, named by their first sequence
// number, and an append-only file of acknowledged sequence numbers.
// Segments whose records are all acknowledged are deleted.
package sdk
