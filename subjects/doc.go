// Package subjects names the JetStream streams and NATS subjects through
// which scanners, the simulator, the bench and the node talk: the wire
// contract, in a leaf package that imports nothing but the standard
// library so that a scanner links no server code.
//
// Invariants:
//   - A party publishes only on ScanSubject(its GLN) and reads only
//     subjects that carry its GLN (its results, its alerts, its inbox) and
//     CheckpointSubject; the node enforces it (services/internal/natsauth).
//   - Names here never change meaning: a renamed subject is a new protocol
//     version, not an edit.
package subjects
