// Package simulate drives a running Pedigree node like a real market and
// reports whether the node caught the trouble injected into it (`pedigree
// simulate`, `pedigree serve --demo`).
//
// The market: manufacturers register products and lots and commission
// serials, pack them into cases (SSCC) and cases onto pallets, and ship the
// pallets to wholesalers (one shipping event per pallet: the packs follow by
// inference). Wholesalers receive the pallets, unpack them, ship some cases
// whole to pharmacies, destroy the odd damaged pack, and pick the rest into
// orders shipped in totes or loose. Pharmacies receive (and unpack totes),
// verify and dispense, and return some packs to their wholesaler, which
// takes them back (step RETURNING) and ships them to another pharmacy. One
// lot expires while its packs are on the shelves and another is recalled
// (Registry RecallBatch); the pharmacies are refused both (EU rules: no
// falsification alert) and send them to destruction.
//
// The trouble, in numbers fixed by the plan and reported: counterfeits
// (registered product and lot, serial never commissioned: UNKNOWN_SERIAL),
// clones of a pack on one pharmacy's shelf offered at another, before the
// genuine pack is sold (CLONE_SUSPECTED) or after (ALREADY_INACTIVE),
// diverted goods (a pallet received by a wholesaler it was not shipped to, a
// delivery received by the wrong pharmacy, a pack on a shelf shipped by a
// wholesaler that never had it: CUSTODY_MISMATCH), labels with another lot
// (BATCH_MISMATCH) or another expiry string (EXPIRY_MISMATCH), and expired
// and recalled packs offered for dispensing (refused, no alert). Each case
// counts as detected when one of its scans raises the expected alert (or, for
// expired and recalled packs, is refused with that status and no alert), as
// the API answered it or, in NATS mode, as the ledger published it on
// pedigree.result.<party GLN>.<hash of the event ID>, signed by the node
// (the scanner SDK believes nothing else). Every alert on a legitimate scan
// counts as a false alert.
//
// Invariants:
//   - Deterministic: the whole market (identifiers, flows, trouble, the time
//     of every scan) is planned before anything is sent, from one PCG seeded
//     with Config.Seed and drawn in a fixed order; maps serve lookups only,
//     never the order of a decision. Event times come from a simulated clock
//     that starts at Start and ticks 1 to 20 seconds per scan, each phase
//     the next morning; so no two scans share an event ID. The Report's
//     table and counts are a function of the Config's sizes and seed,
//     whatever the concurrency and the mode.
//   - Phases are barriers; within a phase, chains of scans touch disjoint
//     objects, so running them at once, in any order, gives the same
//     outcomes. Every scan waits for the ledger's outcome before the next
//     scan of its chain.
//   - Identifiers live under GS1's demonstration prefix 952, in a namespace
//     drawn from the seed and the number of earlier runs of that seed
//     against the server (the first free one), so reruns never collide.
//   - Each party speaks with its own credentials: an API token (registered
//     by the admin token the caller gives) and, in NATS mode, an Ed25519
//     key registered with the party, with which the party's own NATS
//     connection logs in (NKey) and the scanner SDK signs its scans.
//   - No package-level mutable state: Run may be called concurrently.
//
// What it leaves out, and why: the undo of a mistaken dispense. The ledger
// measures the 10-day undo window from the dispense's event time to the
// undo's stream record time, so with event times on a simulated clock in
// the past every undo is refused (UNDO_NOT_ALLOWED). The recall is stamped
// with the node's clock, as RecallBatch takes no time.
package simulate
