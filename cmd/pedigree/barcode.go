package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/pedigree-project/pedigree/gs1"
)

func newBarcodeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "barcode",
		Short: "Parse and build GS1 barcode data (DataMatrix element strings, bracketed text, Digital Link)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newBarcodeParseCommand(), newBarcodeBuildCommand())
	return cmd
}

// barcodeFields is the JSON output of `barcode parse`.
type barcodeFields struct {
	Form   string            `json:"form"`
	GTIN   string            `json:"gtin"`
	Serial string            `json:"serial"`
	Lot    string            `json:"lot"`
	Expiry string            `json:"expiry"`
	SSCC   string            `json:"sscc"`
	AIs    map[string]string `json:"ais"`
}

func newBarcodeParseCommand() *cobra.Command {
	var (
		asJSON bool
		gs     string
	)
	cmd := &cobra.Command{
		Use:   "parse <barcode | ->",
		Short: "Print the fields of a scanned GS1 barcode",
		Long: `Parse a scan in any of the three forms a scanner or a person produces: the raw
element string of a GS1 DataMatrix (optional symbology identifier "]d2", ASCII 29 GS
after every variable-length field that is not last), bracketed text
"(01)…(21)…(10)…(17)…", or a GS1 Digital Link URI. With "-" the barcode is read from
standard input.

A keyboard-wedge scanner often cannot type GS: configure it to send a stand-in
character and name it with --gs (e.g. --gs '|' or --gs '^'). A missing GS is
reported as such, naming the fields that run into each other, never guessed at.`,
		Example: `  pedigree barcode parse '(01)09506000134352(17)281231(10)LOT1(21)S1'
  pedigree barcode parse --gs '|' '01095060001343521728123110LOT1|21S1'
  pedigree barcode parse --json 'https://id.gs1.org/01/09506000134352/10/LOT1/21/S1?17=281231'
  printf ']d2010950600013435217281231\x1d21S1' | pedigree barcode parse -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := barcodeInput(cmd.InOrStdin(), args[0], gs)
			if err != nil {
				return err
			}
			r, err := gs1.Parse(raw)
			if err != nil {
				return err
			}
			if asJSON {
				return printBarcodeJSON(cmd.OutOrStdout(), r)
			}
			return printBarcodeText(cmd.OutOrStdout(), r, time.Now())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	cmd.Flags().StringVar(&gs, "gs", "", "a character that stands in for GS (ASCII 29) in the input, e.g. '|' or '^'")
	return cmd
}

// barcodeInput returns the barcode of arg ("-" reads r) with the GS
// stand-in, if any, replaced by GS.
func barcodeInput(r io.Reader, arg, gs string) (string, error) {
	if arg == "-" {
		b, err := io.ReadAll(io.LimitReader(r, 4*gs1.MaxInputLength))
		if err != nil {
			return "", fmt.Errorf("read standard input: %w", err)
		}
		arg = strings.TrimRight(string(b), "\r\n")
	}
	return replaceGS(arg, gs)
}

// replaceGS replaces every occurrence of the stand-in character gs by GS.
func replaceGS(s, gs string) (string, error) {
	if gs == "" {
		return s, nil
	}
	if err := checkGSStandIn(gs); err != nil {
		return "", err
	}
	return strings.ReplaceAll(s, gs, string(rune(gs1.GS))), nil
}

// checkGSStandIn refuses a stand-in for GS that GS1 data or a symbology
// identifier may contain.
func checkGSStandIn(gs string) error {
	if utf8.RuneCountInString(gs) != 1 || gs1.ValidCSet82(gs) || gs == "]" {
		return fmt.Errorf("--gs %q: want one character that cannot occur in GS1 data, such as '|', '^' or '~'", gs)
	}
	return nil
}

func formName(r *gs1.Result) string {
	switch r.Form {
	case gs1.FormElementString:
		return "element-string"
	case gs1.FormBracketed:
		return "bracketed"
	case gs1.FormDigitalLink:
		return "digital-link"
	}
	return "elements"
}

func printBarcodeJSON(w io.Writer, r *gs1.Result) error {
	out := barcodeFields{Form: formName(r), GTIN: r.GTIN, Serial: r.Serial, Lot: r.Lot, Expiry: r.Expiry, SSCC: r.SSCC,
		AIs: make(map[string]string, len(r.Elements))}
	for _, el := range r.Elements {
		if _, seen := out.AIs[el.AI]; !seen {
			out.AIs[el.AI] = el.Value
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func printBarcodeText(w io.Writer, r *gs1.Result, now time.Time) error {
	dict, err := gs1.DefaultDictionary()
	if err != nil {
		return err
	}
	expiry := r.Expiry
	if d, err := gs1.ExpiryDate(r.Expiry, now); r.Expiry != "" && err == nil {
		expiry += " (" + d.Format("2006-01-02") + ")"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range [][2]string{
		{"Form", formName(r)}, {"GTIN", r.GTIN}, {"Serial", r.Serial}, {"Lot", r.Lot}, {"Expiry", expiry}, {"SSCC", r.SSCC},
	} {
		if f[1] == "" {
			f[1] = "-"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	fmt.Fprintln(tw, "AIs:")
	for _, el := range r.Elements {
		fmt.Fprintf(tw, "  (%s)\t%s\t%s\n", el.AI, dict.Title(el.AI), el.Value)
	}
	return tw.Flush()
}

func newBarcodeBuildCommand() *cobra.Command {
	var gtin, serial, lot, expiry, sscc, form, stem, gs string
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the data of a GS1 barcode from its fields",
		Long: `Build validated GS1 barcode data: --form raw gives the element string a GS1
DataMatrix encodes (GS, ASCII 29, between variable-length fields; --gs prints a
stand-in instead), bracketed gives "(01)…(17)…(10)…(21)…", dl a GS1 Digital Link URI
under --stem.`,
		Example: `  pedigree barcode build --gtin 09506000134352 --serial S1 --lot LOT1 --expiry 281231 --form bracketed`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var els []gs1.Element
			for _, f := range []struct{ ai, v string }{{"00", sscc}, {"01", gtin}, {"17", expiry}, {"10", lot}, {"21", serial}} {
				if f.v != "" {
					els = append(els, gs1.Element{AI: f.ai, Value: f.v})
				}
			}
			if len(els) == 0 {
				return errors.New("give at least one of --gtin, --serial, --lot, --expiry, --sscc")
			}
			r, err := gs1.Options{}.Build(els...)
			if err != nil {
				return err
			}
			var out string
			switch form {
			case "raw":
				out = r.ElementString()
				if gs != "" {
					if err := checkGSStandIn(gs); err != nil {
						return err
					}
					out = strings.ReplaceAll(out, string(rune(gs1.GS)), gs)
				}
			case "bracketed":
				out = r.Bracketed()
			case "dl":
				if out, err = r.DigitalLink(stem); err != nil {
					return err
				}
			default:
				return fmt.Errorf("--form %q: want raw, bracketed or dl", form)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), out)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&gtin, "gtin", "", "GTIN-14, AI (01)")
	f.StringVar(&serial, "serial", "", "serial number, AI (21)")
	f.StringVar(&lot, "lot", "", "batch or lot, AI (10)")
	f.StringVar(&expiry, "expiry", "", "expiry date YYMMDD, AI (17) (DD may be 00)")
	f.StringVar(&sscc, "sscc", "", "SSCC of a case or pallet, AI (00)")
	f.StringVar(&form, "form", "raw", "output form: raw, bracketed or dl")
	f.StringVar(&stem, "stem", gs1.DefaultDigitalLinkStem, "Digital Link URI stem (--form dl)")
	f.StringVar(&gs, "gs", "", "print this character instead of GS (ASCII 29) (--form raw)")
	return cmd
}
