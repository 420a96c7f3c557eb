// Package natsauth decides who may use the NATS server that carries
// Pedigree's writes, and what each may do there, from the node's registry.
//
// Invariants:
//   - Nobody is anonymous. A connection is either the ledger node (its own
//     NKey, created on first start under DATA/keys) or a registered party
//     proving possession of one of its registered Ed25519 keys, used as a
//     NATS user NKey: the signature over the server's nonce is checked
//     against the registry on every connect.
//   - A party publishes only on pedigree.scan.<its GLN>, and subscribes
//     only to its own outcomes (pedigree.result.<GLN>.>), its own alerts
//     (pedigree.alert.<GLN>.>), its own reply inbox (_INBOX.<GLN>.>, for
//     JetStream's publish acknowledgements) and the public checkpoints.
//     Regulators and admins also follow every alert. Only the node touches
//     $JS.API.> or any other subject.
//   - Decisions are read from the registry at the moment of the connect,
//     so a party registered a second ago can connect at once; a connection
//     whose key or party is no longer valid is closed by the sweep within
//     one sweep interval, and a party that exceeds its publish rate is
//     disconnected and refused for a penalty period.
//   - The same decision serves the embedded server (its custom
//     authentication hook) and an external cluster (NATS auth callout,
//     answered by the node with user JWTs signed by its issuer key).
package natsauth
