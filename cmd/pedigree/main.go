// Command pedigree is the one Pedigree binary: the server (serve), the
// ledger audit, and the clients that manufacturers, wholesalers, pharmacies
// and regulators use.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pedigree:", err)
		os.Exit(1)
	}
}
