// Package resolver is the node's public GS1 Digital Link resolver: what a
// patient's phone opens when it reads the QR or DataMatrix code of a
// medicine pack, GET /01/{gtin}/…/21/{serial} with the lot and expiry the
// pack carries, under any leading path a printed code uses.
//
// A browser gets a small page: the product's name and whether the pack is
// genuine and may be used (genuine; unknown, a possible counterfeit;
// mismatching; incomplete scan; recalled; withdrawn; expired; already
// dispensed; otherwise inactive). A client asking for
// application/linkset+json, or ?linkType=all, gets the GS1 resolver linkset
// (RFC 9264); ?linkType=gs1:… redirects (307) to that link, and to the
// default link when the item has no link of that type.
// /.well-known/gs1resolver describes the resolver; /resolver/recall-status/
// answers a batch's recall status in JSON.
//
// Invariants:
//
//   - Read-only: an answer reads the node's state through one state.View
//     and lifecycle.Verify, and writes nothing: no verification on the
//     ledger, no alert. A phone is not a supply-chain scan, and anybody can
//     send one; the aggregate of answers (by kind only) is counted in the
//     pedigree_resolver_answers_total metric, so that regulators see a rise
//     in unknown or mismatching codes without a patient's scan being an
//     event.
//   - "Genuine" only when GTIN, serial, lot and expiry were all scanned,
//     all match the ledger, and the pack is active. A missing lot or expiry
//     answers "scan the full code"; a mismatching one "not genuine".
//   - Nothing about custody: no answer carries a GLN, a party's name, a
//     place or a time of the pack's history. Pages show fixed words chosen
//     by the answer's kind, never the rules' reason text.
//   - No personal data kept: nothing is logged per request; client
//     addresses live only in the rate limiter's in-memory buckets (IPv6 by
//     /64, bounded in number); no cookies are set; answers are not cached.
//   - Hostile input: the path and query are bounded (maxRequestURI) and
//     every field is validated by package gs1 before use; HTML is rendered
//     by html/template; no input makes the handler panic.
//   - Pages fetch nothing but the resolver's own embedded stylesheet; the
//     Content-Security-Policy is default-src 'self' with no script.
package resolver
