// Package lifecycle is Pedigree's domain core: the state machine of a
// serialized medicine pack, custody and aggregation (cases, pallets), and
// the detection rules that turn a scan into alerts (docs/design.md, "Pack
// lifecycle and custody" and "Alert codes").
//
// Apply takes the state, read through the small View interface, and one
// EPCIS event, and returns the outcome: applied or refused and why, the
// alerts raised, and the records to write. Verify is the read-only
// verification a pharmacist makes before dispensing.
//
// Invariants:
//   - Pure: Apply and Verify read only their arguments, write nothing and
//     perform no I/O. The caller stores Result's writes.
//   - Deterministic: the same View and Event give the same Result, byte for
//     byte, on every node. The rules never read the wall clock (expiry and
//     the undo window use the event's time), never produce output by
//     iterating a map, and list alerts, evidence and writes in a fixed
//     order. That is what lets every ledger node replaying the stream reach
//     the same ledger.
//   - Total: any input, however malformed, gives a Result; nothing panics.
//     Identifier syntax is checked before events get here (gs1,
//     epcis); the rules treat identifiers as opaque strings.
//   - Self-contained: the standard library and gs1 (GS1 dates) only; no
//     NATS, Pebble, gRPC or generated protobuf code. The enums carry the numbers of their
//     pedigree.v1 counterparts, so converting is a cast.
//   - No package-level mutable state: Apply may run concurrently on
//     different Views.
//
// Custody binds only objects whose movements are tracked (Custody.Tracked:
// shipped or received at least once, or inside such a container). A pack
// never shipped follows the EU model, where only the manufacturer and the
// dispenser scan: any dispenser may verify and dispense it. A pack inside a
// container takes its custody from the root container, so shipping and
// receiving a pallet writes one record however many packs it holds.
//
// Where the rules go beyond the alert table of docs/design.md:
//   - Inspecting by the consignee or shipper of a pack in transit raises no
//     CLONE_SUSPECTED (goods-in verification before receipt) but the pack is
//     not dispensable until received; regulators and admins verify anywhere
//     without custody alerts.
//   - Destroying is held to the same custody as dispensing and
//     decommissioning (a destroyed pack is physically there). Only a
//     dispense is a clone whoever makes it while the pack is in transit;
//     the shipper, still custodian, may lock or destroy it. A theft report
//     (disposition STOLEN) is not a sighting: the custodian or the
//     consignee of a shipment may make it, anyone else gets
//     CUSTODY_MISMATCH.
//   - Custody of a container binds, like that of a pack, only once it is
//     tracked: an untracked pallet may be unpacked or packed into by
//     whoever has it (EU model).
//   - Undo checks the batch first: an undo of a recalled, withdrawn or
//     expired pack is refused with that status and no alert, before the
//     undo rules (party, location, 10 days, STOLEN/DESTROYED) are looked at.
//   - Dispensing or decommissioning a pack that is inside a container takes
//     it out of the container: packs inside containers are always active.
//   - Shipping or receiving a pack or case on its own while it is inside a
//     container is an AGGREGATION_CONFLICT: move the root, or unpack first.
//   - A container that takes in a tracked child becomes tracked.
//   - TransactionEvent and AssociationEvent are observations: the actor
//     needs a role that may verify; packs raise the identity alerts a
//     verification raises (unknown product, serial or batch, lot or expiry
//     mismatch) but no custody alert (paperwork is no sighting); the event
//     is applied and writes nothing.
//   - TransformationEvent consumes its input packs: each becomes DESTROYED
//     (final in the EU model, never undone), under the rules of a
//     destroying step (trading party, custodian of a tracked pack). Its
//     outputs are commissioned under the rules of commissioning (the
//     actor manufactures their GTIN; the ILMD names the lot). With
//     outputs the event is atomic.
package lifecycle
