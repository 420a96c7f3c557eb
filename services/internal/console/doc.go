// Package console is the node's web console under /ui/: the screens of a
// pharmacy counter, a manufacturer and a regulator, served by the binary
// from embedded assets.
//
// The server renders static page shells with html/template; a small
// hand-written script (assets/*.js, ES modules, no toolchain) signs in
// with an API token, keeps it in the tab's sessionStorage, and fills the
// pages from the node's REST API under /v1/. The console adds no endpoint
// of its own: every answer comes from the public API with the caller's
// token, so what a screen shows is exactly what the API lets that party
// read.
//
// Invariants:
//
//   - The token never reaches the console's handler: pages and assets are
//     the same bytes for everybody; the browser sends the token only in the
//     Authorization header of /v1/ calls. Sign-out removes it from
//     sessionStorage.
//   - Content-Security-Policy on every answer: default-src 'self', no
//     inline script or style, no framing, no form submission (forms are
//     handled by the script, so that a token typed in a form can never
//     travel in a URL), no referrer; nothing is fetched from elsewhere (no
//     CDN, no external font).
//   - Ledger proofs are checked in the browser, not by the server:
//     assets/proof.js verifies the C2SP signed checkpoint note (Ed25519,
//     golang.org/x/mod/sumdb/note key and signature encoding) and RFC 6962
//     inclusion proofs with WebCrypto, and the pages say "proofs verified
//     in this browser" or "proof FAILED".
//   - Only GET and HEAD; unknown paths under /ui/ are 404; paths outside
//     /ui/ go to the wrapped handler untouched.
package console
