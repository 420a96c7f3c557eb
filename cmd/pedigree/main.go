// Command pedigree is the one Pedigree binary: the server (serve), the
// ledger audit, and the clients that manufacturers, wholesalers, pharmacies
// and regulators use.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	var code exitCode
	switch {
	case errors.As(err, &code):
		os.Exit(int(code))
	case err != nil:
		fmt.Fprintln(os.Stderr, "pedigree:", err)
		os.Exit(1)
	}
}

// exitCode ends the program with that status and no further message: the
// command has already said why (e.g. 3: a pack that must not be dispensed).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
