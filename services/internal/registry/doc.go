// Package registry implements RegistryService: parties, their keys and API
// tokens, products, batches, commissioning of serials, and recall and
// withdrawal of batches.
//
// Invariants: every write goes through the stream (package writer) and is
// on the ledger; reads come from the node's state. Authorization is checked
// here, before anything is published (403 with the reason), and again by
// the ledger's rules in stream order.
package registry
