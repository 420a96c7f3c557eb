// Package epc reads and writes EPC URNs of the GS1 EPC Tag Data Standard
// and translates them to and from GS1 Digital Link URIs, as EPCIS 2.0
// allows identifiers in either form.
//
// ParseURN reads pure identities (urn:epc:id: sgtin, sscc, sgln, grai,
// giai, gsrn, gsrnp, gdti, cpi, sgcn, ginc, gsin, itip, upui, pgln), the
// LGTIN class (urn:epc:class:lgtin:) and the patterns with a Digital Link
// equivalent (urn:epc:idpat: sgtin, grai, gdti, sgcn, cpi, itip, ending in
// "*"). The URN grammar itself is package gs1's (gs1.EPCURNElements);
// this package adds the typed EPC, the company prefix and the way back.
//
// URN → Digital Link needs no table: the URN marks where the company
// prefix ends. Digital Link → URN does: FromDigitalLink, DigitalLinkToURN
// and DigitalLinkToClassURN take a PrefixLengths. Prefixes (a registered
// list, longest match), Table (GS1's GCP length table, read by ParseTable
// from the JSON file the operator provides: no copy of GS1's table is
// embedded, none with a licence to redistribute it could be found),
// FixedLength and First (try several in order) implement it.
//
// Invariants:
//
//   - Every EPC returned passed ParseURN: its URN matches the Tag Data
//     Standard's syntax for its scheme and its elements pass the GS1
//     dictionary (check digits, character sets, lengths, linters). A URN
//     made from a Digital Link is parsed back before it is returned.
//   - Serials, extensions, lots and references are %-escaped in URNs
//     exactly where the Tag Data Standard reserves characters ("%&/<>?
//     and, in CPI references, # and /); EPC.Elements hold them decoded.
//     Raw reserved characters in a URN are refused, never guessed at.
//   - Digital Link input is parsed strictly by package gs1: check digits
//     are verified and characters outside RFC 3986 are refused.
//   - The company prefix of an EPC URN is 6 to 12 digits; the prefix of a
//     party (ValidPrefix) 4 to 12, as in the GS1 General Specifications.
//   - Every refusal is a *gs1.Error, or wraps one (errors.As), naming a
//     field and a gs1.Rule; no input makes the package panic.
//   - Nothing is mutable after construction; everything is safe for
//     concurrent use.
//
// The round trip URN → Digital Link → URN gives the URN back, with one
// exception the standard makes: an SGLN extension "0" means no (254).
package epc
