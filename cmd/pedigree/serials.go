package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// serialsPage is the page the CLI reads a batch's serials in (the
// server's maximum).
const serialsPage = 10_000

// newBatchSerialsCommand writes a batch's serials to a file, page by page.
func newBatchSerialsCommand() *cobra.Command {
	co := &clientOptions{}
	var statusName, format, out string
	cmd := &cobra.Command{
		Use:   "serials GTIN LOT --out FILE [--status S] [--format txt|csv]",
		Short: "Write a batch's serials to a file, one a line (the product's manufacturer, regulators, admins)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "txt" && format != "csv" {
				return fmt.Errorf("--format: txt or csv, got %q", format)
			}
			if out == "" {
				return errors.New("--out: required ('-' for stdout)")
			}
			req := &pb.ListBatchPacksRequest{Gtin: args[0], Lot: args[1], PageSize: serialsPage}
			if statusName != "" {
				st, err := packStatus(statusName)
				if err != nil {
					return err
				}
				req.Status = st
			}
			c, err := co.client()
			if err != nil {
				return err
			}
			defer c.Close()
			return writeSerialFile(out, false, func(w *bufio.Writer) (uint64, error) {
				var n uint64
				var line []byte
				if format == "csv" {
					_, _ = w.WriteString("serial,status\n")
				}
				for {
					resp, err := c.Registry.ListBatchPacks(cmd.Context(), req)
					if err != nil {
						return n, fmt.Errorf("after %d serials: %w", n, err)
					}
					for _, p := range resp.GetPacks() {
						line = p.AppendLine(line[:0], format == "csv")
						_, _ = w.Write(line)
					}
					n += uint64(len(resp.GetPacks()))
					if err := w.Flush(); err != nil {
						return n, err
					}
					if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
						return n, nil
					}
				}
			}, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&statusName, "status", "", "only packs of this effective status (active, supplied, recalled, …)")
	cmd.Flags().StringVar(&format, "format", "txt", "txt (one serial a line) or csv (serial,status)")
	cmd.Flags().StringVar(&out, "out", "", "file to write ('-' for stdout)")
	addClientFlags(cmd, co)
	return cmd
}

// packStatus reads a pack status by name: "supplied" or
// "PACK_STATUS_SUPPLIED".
func packStatus(name string) (pb.PackStatus, error) {
	if st, ok := pb.ParsePackStatus(name); ok {
		return st, nil
	}
	return 0, fmt.Errorf("--status: unknown pack status %q", name)
}

// writeSerialFile creates path ('-' is stdout), lets fill write to it and
// reports the count on log. After an error the file is removed, so that a
// packaging line never prints from half a list, unless keep: then it holds
// what fill wrote, and the error says so.
func writeSerialFile(path string, keep bool, fill func(*bufio.Writer) (uint64, error), log io.Writer) error {
	var f *os.File
	if path == "-" {
		f = os.Stdout
	} else {
		var err error
		if f, err = os.Create(path); err != nil {
			return err
		}
	}
	w := bufio.NewWriterSize(f, 64<<10)
	n, err := fill(w)
	if err == nil {
		err = w.Flush()
	}
	if path != "-" {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil && keep {
			return fmt.Errorf("%s holds the %d serials committed: %w", path, n, err)
		}
		if err != nil {
			_ = os.Remove(path)
			return fmt.Errorf("%s not written: %w", path, err)
		}
		fmt.Fprintf(log, "wrote %d serials to %s\n", n, path)
	}
	return err
}

// commissionToFile commissions count generated serials in requests of
// serialsPage under request IDs rid.0, rid.1, … (each answers with the
// serials it generated: the server returns them up to that many, and a
// request already on the ledger answers with the serials it recorded),
// and writes every request's serials to path once they are committed: the
// file holds exactly what this run commissioned, in bounded memory,
// without a second read. A request that fails on the network is sent
// again under its ID. If the run stops, the file keeps the serials
// committed before it, every line a commissioned serial, and the error
// names the request ID: the same command with --request-id writes the
// whole file again, the recorded requests answered from the ledger and
// the rest completed.
func commissionToFile(cmd *cobra.Command, co *clientOptions, gtin, lot string, count int, path, rid string) error {
	c, err := co.client()
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(cmd.ErrOrStderr(), "request ID %s (to resume this run: --request-id %s)\n", rid, rid)
	return writeSerialFile(path, true, func(w *bufio.Writer) (uint64, error) {
		var done uint64
		err := commissionRun(cmd.Context(), c, gtin, lot, rid, nil, count, serialsPage, func(resp *pb.CommissionSerialsResponse) error {
			n := min(serialsPage, count-int(done)) // what the request asked for
			if len(resp.GetSerials()) != n || resp.GetCommissioned() != uint64(n) {
				return fmt.Errorf("the server committed %d and returned %d serials, want %d", resp.GetCommissioned(), len(resp.GetSerials()), n)
			}
			for _, sn := range resp.GetSerials() {
				_, _ = w.WriteString(sn)
				_ = w.WriteByte('\n')
			}
			if err := w.Flush(); err != nil {
				return err
			}
			done += uint64(n)
			return nil
		})
		if err != nil {
			return done, err
		}
		return done, nil
	}, cmd.ErrOrStderr())
}
