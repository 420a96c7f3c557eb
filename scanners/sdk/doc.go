// Package sdk is the scanner client SDK: what manufacturers', wholesalers'
// and pharmacies' software embeds to send scan events straight to Pedigree's
// NATS JetStream stream, signed with the party's Ed25519 key, to keep them
// safe on local disk until the ledger has them, and to learn, from an
// answer signed by the ledger node, what became of them.
//
// A Builder makes EPCIS scan events (commission, pack, unpack, ship,
// receive, return, dispense, decommission, destroy, verify, undo) from
// parsed barcodes (ParseObject, ObjectFromScan) or fields (PackOf,
// ContainerOf), timed by an injected clock. A Client seals one or more
// events as one Capture in an Envelope (envelope.Seal), appends it to its
// queue and publishes it on pedigree.scan.<party GLN> with Nats-Msg-Id set
// to envelope.MsgID.
//
// Connection. A Client's own connection logs in as the party (AuthOptions):
// the party's Ed25519 key, registered with the node, doubles as its NATS
// NKey, and replies come under _INBOX.<party GLN>. It needs no more than a
// party may do:
// publish on pedigree.scan.<GLN>, subscribe to _INBOX.<GLN>.> and
// pedigree.result.<GLN>.>. It never calls the JetStream API. Config's TLS
// files add a certificate authority and a client certificate.
//
// Outcomes. The node publishes the outcome of every write on
// pedigree.result.<GLN>.<hex SHA-256 of the message ID>: a ResultNotice
// carrying the ledger entry, a batch receipt signed with the node key and
// an inclusion proof. The Client checks each against the exact signed
// envelope bytes it sent and the node keys it trusts (Config.NodeKeys,
// from DATA/keys/node.pub: ReadNodeKeys), with envelope.OpenResult.
// Anything else on that subject (forged, signed by another key, for other
// bytes, garbage) is logged, counted (Untrusted) and ignored: it never
// answers a message. Outcome(ctx, msgID) waits for the verified answer of a
// message; Config.OnOutcome is told of every one.
//
// Guarantees (the durability contract):
//
//   - Send MUST NOT return success before the events are written and
//     fsynced to the queue. An error from Send means they were not queued.
//   - A queued message MUST NOT leave the queue before a node-signed
//     outcome proving that its exact bytes are on the ledger has arrived
//     and verified. JetStream's acknowledgement is not enough (the
//     embedded server fsyncs every two minutes by default: a power loss
//     may lose an acknowledged message). Messages are released in any
//     order; the queue's head, and its fsynced ack file, move over the
//     released prefix, so a crash only makes a released message go out
//     again.
//   - A message whose outcome does not come within OutcomeTimeout is
//     published again, then after waits that double up to
//     MaxOutcomeTimeout (the stream's duplicate window), for ever, with the
//     same bytes and the same Nats-Msg-Id. JetStream stores a copy within
//     its duplicate window once; a copy stored later is recorded by the
//     ledger, which records an event ID once for ever, as a duplicate of
//     the applied event, and answered: nothing is applied twice. An
//     outcome lost while the scanner was offline thus costs up to one
//     duplicate window.
//   - First copies of the messages of one Client reach the stream in the
//     order Send accepted them: one forwarder publishes the queue in
//     order, each message after the previous one was acknowledged. A copy
//     sent again comes after later messages (its first copy was lost, or
//     only its outcome).
//   - The queue MUST NOT drop a record silently: a torn last record (a
//     write cut short by a crash, never reported as queued) is truncated
//     with a warning; any other unreadable bytes are moved to a
//     "<segment>.corrupt" file, logged as an error, and the records after
//     them are kept and sent.
//   - One Client at a time uses a queue directory (an flock on QueueDir/LOCK
//     on Unix systems); New returns ErrQueueLocked otherwise.
//
// A message the node refuses before recording it (a signature it cannot
// check, an unknown party: see the DEADLETTER stream) gets no outcome and
// stays queued, sent again now and then; Flush waits for it until its
// context ends. A message JetStream keeps refusing (the stream is full, or
// was reconfigured) holds back the ones behind it; the forwarder retries it
// with backoff and logs every refusal as an error rather than skipping it.
//
// Send waits up to PublishTimeout for JetStream's acknowledgement when
// nothing is ahead of it, and reports Published or Queued; up to
// MaxInFlight messages await their outcomes at once, and the forwarder
// publishes at most MaxPublishRate messages a second, below the rate at
// which a node cuts a party off. A scanner that reads many codes amortises
// the round trip and the signature by sending up to
// envelope.MaxEventsPerCapture events in one capture.
//
// The queue format is documented in record.go: segment files of
// length-prefixed, CRC-32C-checked records, named by their first sequence
// number, and an append-only file of released sequence numbers. Segments
// whose records are all released are deleted.
package sdk
