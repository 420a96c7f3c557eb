// Package browsertest drives headless Chromium for the console's browser
// tests: it finds the browser (failing the test, never skipping it, when
// there is none), opens a tab, waits for what a page says, and saves
// screenshots in the test's artifact directory.
//
// Invariants: only tests import it; every wait is bounded by Timeout and
// by the test's context, never by a sleep; a browser it starts is closed
// with the test; the package holds no mutable package-level state.
package browsertest
