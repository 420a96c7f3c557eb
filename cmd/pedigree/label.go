package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pedigree-project/pedigree/gs1/label"
)

// maxSerials bounds the serials one run reads, and maxSerialLine the bytes
// of one line of the serials file (a serial has at most 20).
const (
	maxSerials    = 1_000_000
	maxSerialLine = 1024
)

type labelOptions struct {
	serials, expiry, format, out string
	qr                           bool
	perSheet, columns, module    int
}

func newLabelCommand() *cobra.Command {
	o := &labelOptions{}
	cmd := &cobra.Command{
		Use:   "label GTIN LOT --serials FILE --expiry YYMMDD --format svg|png|txt --out DIR-or-FILE",
		Short: "Render the GS1 DataMatrix (and Digital Link QR) labels of a batch's serials",
		Long: `Render, for every serial in FILE (one per line), the pack's GS1 DataMatrix: FNC1
first, then (01) GTIN, (17) expiry, (10) lot, GS, (21) serial; with --qr also its GS1
Digital Link QR code (https://id.gs1.org/01/…/10/…/21/…?17=…). The human-readable
lines GTIN, SN, LOT and EXP are printed beside the symbols.

--format svg or png lays the packs out on sheets, --columns across. If --out ends in
.svg or .png it is one file holding every pack (at most 1000); otherwise it is a
directory that receives sheet-0001.svg, sheet-0002.svg, … of --per-sheet packs each.
--format txt writes one line per pack, the bracketed element string, a tab and the
raw element string with GS (ASCII 29), for printers that encode symbols themselves;
--out is then a .txt file, a directory (labels.txt in it) or - for standard output.

Every line of FILE is validated (GS1 character set 82, 1 to 20 characters, no
duplicates) before anything is written; an error names the line and the rule.`,
		Example: `  pedigree label 09506000134352 LOT1 --serials serials.txt --expiry 281231 --format png --qr --out labels/`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLabel(cmd, o, args[0], args[1], time.Now())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.serials, "serials", "", "file of serial numbers, one per line (required)")
	f.StringVar(&o.expiry, "expiry", "", "expiry date YYMMDD, AI (17) (DD may be 00) (required)")
	f.StringVar(&o.format, "format", "svg", "output format: svg, png or txt")
	f.StringVar(&o.out, "out", "", "output file (ending in .svg, .png or .txt, or - for txt) or directory (required)")
	f.BoolVar(&o.qr, "qr", false, "add the GS1 Digital Link QR code beside each DataMatrix")
	f.IntVar(&o.perSheet, "per-sheet", 100, "packs per sheet when --out is a directory (1 to 1000)")
	f.IntVar(&o.columns, "columns", 5, "packs side by side on a sheet (1 to 100)")
	f.IntVar(&o.module, "module", 4, "pixels per module (1 to 20)")
	return cmd
}

func runLabel(cmd *cobra.Command, o *labelOptions, gtin, lot string, now time.Time) error {
	switch {
	case o.serials == "":
		return errors.New("--serials: required")
	case o.expiry == "":
		return errors.New("--expiry: required")
	case o.out == "":
		return errors.New("--out: required")
	case o.format != "svg" && o.format != "png" && o.format != "txt":
		return fmt.Errorf("--format %q: want svg, png or txt", o.format)
	case o.perSheet < 1 || o.perSheet > label.MaxSheet:
		return fmt.Errorf("--per-sheet %d: want 1 to %d", o.perSheet, label.MaxSheet)
	case o.columns < 1 || o.columns > label.MaxColumns:
		return fmt.Errorf("--columns %d: want 1 to %d", o.columns, label.MaxColumns)
	case o.module < 1 || o.module > label.MaxModule:
		return fmt.Errorf("--module %d: want 1 to %d", o.module, label.MaxModule)
	}
	// The batch's own fields are checked once, before the file is read.
	if _, err := label.New(label.Pack{GTIN: gtin, Lot: lot, Serial: "0", Expiry: o.expiry}, now); err != nil {
		return err
	}
	batch := label.Pack{GTIN: gtin, Lot: lot, Expiry: o.expiry}
	serials, err := readSerials(o.serials, batch, now)
	if err != nil {
		return err
	}
	// Labels are made a sheet (or a chunk of text) at a time, so that a
	// batch of a million serials never holds a million labels.
	labelsOf := func(serials []string) ([]*label.Label, error) {
		out := make([]*label.Label, len(serials))
		for i, sn := range serials {
			p := batch
			p.Serial = sn
			var err error
			if out[i], err = label.New(p, now); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	opts := label.Options{QR: o.qr, Columns: o.columns, Module: o.module}
	if o.format == "txt" {
		write := func(w io.Writer) error {
			for i := 0; i < len(serials); i += label.MaxSheet {
				labels, err := labelsOf(serials[i:min(i+label.MaxSheet, len(serials))])
				if err != nil {
					return err
				}
				if err := label.WriteText(w, labels); err != nil {
					return err
				}
			}
			return nil
		}
		if o.out == "-" {
			return write(cmd.OutOrStdout())
		}
		path := o.out
		if !strings.HasSuffix(path, ".txt") {
			if err := os.MkdirAll(path, 0o755); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			path = filepath.Join(path, "labels.txt")
		}
		if err := writeFileAtomic(path, write); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%d packs: %s\n", len(serials), path)
		return nil
	}
	if strings.HasSuffix(o.out, "."+o.format) {
		if len(serials) > label.MaxSheet {
			return fmt.Errorf("--out %s: %d packs exceed the %d one sheet holds; give a directory", o.out, len(serials), label.MaxSheet)
		}
		labels, err := labelsOf(serials)
		if err != nil {
			return err
		}
		return writeSheet(cmd, o.out, o.format, labels, opts)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	for n, i := 1, 0; i < len(serials); n, i = n+1, i+o.perSheet {
		path := filepath.Join(o.out, fmt.Sprintf("sheet-%04d.%s", n, o.format))
		labels, err := labelsOf(serials[i:min(i+o.perSheet, len(serials))])
		if err != nil {
			return err
		}
		if err := writeSheet(cmd, path, o.format, labels, opts); err != nil {
			return err
		}
	}
	return nil
}

// readSerials reads the file's serials, one per line, and validates each
// as part of the batch's packs.
func readSerials(path string, batch label.Pack, now time.Time) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--serials: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 256), maxSerialLine)
	var serials []string
	seen := map[string]int{}
	line := 0
	for sc.Scan() {
		line++
		if line > maxSerials {
			return nil, fmt.Errorf("%s: more than %d serials", path, maxSerials)
		}
		p := batch
		p.Serial = strings.TrimSuffix(sc.Text(), "\r")
		if _, err := label.New(p, now); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		if first, dup := seen[p.Serial]; dup {
			return nil, fmt.Errorf("%s line %d: serial %q repeats line %d: serials are unique within a GTIN", path, line, p.Serial, first)
		}
		seen[p.Serial] = line
		serials = append(serials, p.Serial)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s line %d: longer than %d bytes, and a serial has at most 20 characters", path, line+1, maxSerialLine)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(serials) == 0 {
		return nil, fmt.Errorf("%s: no serials", path)
	}
	return serials, nil
}

// writeSheet renders labels as one sheet into path.
func writeSheet(cmd *cobra.Command, path, format string, labels []*label.Label, opts label.Options) error {
	s, err := label.NewSheet(labels, opts)
	if err != nil {
		return err
	}
	err = writeFileAtomic(path, func(w io.Writer) error {
		if format == "png" {
			return s.WritePNG(w)
		}
		return s.WriteSVG(w)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%d packs: %s\n", s.Len(), path)
	return nil
}

// writeFileAtomic writes path through a temporary file in its directory, so
// that a failed run leaves no half-written label file behind.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".label-*")
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriter(tmp)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	return nil
}
