// Package layering holds no code: its test checks that the packages of the
// module depend on each other in one direction only, as
// docs/architecture.md describes.
//
// The rules, from the bottom up:
//
//   - gs1, subjects and ledger import no other Pedigree package;
//     lifecycle and epcis import only gs1;
//   - the packages outside services/ (gs1, subjects, lifecycle, ledger,
//     envelope, epcis, client, scanners/...) depend on nothing under
//     services/;
//   - scanners/sdk links neither the NATS server nor grpc-gateway;
//   - only packages under services/ import services/internal/... (the Go
//     toolchain enforces it too), and services/internal/... never depends on
//     services/node or services/nodetest, not even in its tests.
//
// Run it with: go test ./internal/layering
package layering
