// Package gs1 parses, validates and generates GS1 barcode data: the
// Application Identifier (AI) element strings carried by GS1 DataMatrix, QR,
// DotCode, GS1-128, DataBar and EAN/UPC symbols, in each of the three forms a
// scan reaches Pedigree:
//
//   - raw scanner data: an optional AIM symbology identifier ("]d2", "]Q3",
//     "]J1", "]C1", "]e0", "]E0", "]E4") and AIs with a GS (ASCII 29) after
//     every variable-length value that is not last;
//   - bracketed text: "(01)09506000134352(17)201231(10)ABC123(21)X1";
//   - GS1 Digital Link URIs: "https://example.com/01/09506000134352/21/X1?17=201231".
//
// Parse detects the form; ParseElementString, ParseBracketed and
// ParseDigitalLink take one form. Options relaxes the strict defaults where
// GS1's own Syntax Engine has a switch for it. Result renders validated data
// back in any form (ElementString, ScanData, Bracketed, DigitalLink), and the
// EPC functions convert SGTIN, SSCC and SGLN between EPC URNs and Digital
// Link.
//
// The AI table is data: GS1's Barcode Syntax Dictionary, embedded and parsed
// once into an immutable Dictionary. Formats (N, X = set 82, Y = set 39,
// Z = set 64, fixed and variable lengths, optional components), linters
// (check digits, dates, country and currency codes, ...), the "*" (predefined
// length, no FNC1) and "?" (Digital Link attribute) flags, req= and ex=
// pairings and dlpkey= qualifier orders all come from it.
//
// Invariants:
//
//   - A *Result is only returned for input that passed every check: each
//     value matches its AI's format and linters, and, unless
//     Options.SkipAssociations, every req= pairing holds, no ex= pairing
//     occurs and no AI repeats with a different value.
//   - Values are kept exactly as encoded: an expiry "260300" stays "260300"
//     (ExpiryDate interprets it); nothing is trimmed, padded or case-folded,
//     except that Digital Link values are percent-decoded and, only with
//     Options.PermitZeroSuppressedGTIN, short GTINs are padded to 14 digits.
//   - A missing GS is never guessed at. A raw variable-length value that is
//     too long, or that would also make a valid message if a GS were
//     inserted inside it, is refused with RuleRunOn naming both AIs.
//   - Every refusal is an *Error with the AI, a field name, a Rule and, for
//     linter failures, GS1's linter error name and the offending position.
//     Messages start with "gs1: ". No input makes the package panic.
//   - Nothing reads the wall clock: dates are judged against a time the
//     caller passes.
//   - Package state is read-only after the embedded dictionary is parsed;
//     everything is safe for concurrent use.
//
// Parsing a typical pharmaceutical DataMatrix scan allocates once: the
// Result holds room for six AIs; more take a second allocation.
package gs1
