//go:build race

package main

// raceDetector reports whether the tests (and the servers they start from
// the test binary) run under the race detector, which makes them several
// times slower.
const raceDetector = true
