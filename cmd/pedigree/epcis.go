package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/pedigree-project/pedigree/epcis"
)

func newEPCISCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "epcis",
		Short: "Work with GS1 EPCIS documents (JSON-LD and XML)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newEPCISHashCommand(), newEPCISCaptureCommand(), newEPCISQueryCommand())
	return cmd
}

func newEPCISHashCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "hash <file | ->",
		Short: "Print the CBV 2.0 event hash of every event of an EPCIS document",
		Long: `Read an EPCIS document, JSON-LD (EPCIS 2.0) or XML (EPCIS 2.0 or 1.x, with or
without a StandardBusinessDocumentHeader), capture or query document, or a single
event, and print the CBV 2.0 event hash (ni:///sha-256;…?ver=CBV2.0) of each event, one
per line, in document order. The binding is recognised by the content: XML starts with
'<', JSON-LD with '{'. With "-" the document is read from standard input.

An invalid document is refused with the element (or JSON member) at fault and, for
XML, its line.`,
		Example: `  pedigree epcis hash shipment.jsonld
  pedigree epcis hash GS1_US_Pharma_Example.xml
  curl -s https://epcis.example.com/events | pedigree epcis hash -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readEPCISInput(cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			hashes, err := epcisHashes(data)
			if err != nil {
				return err
			}
			var b bytes.Buffer
			for _, h := range hashes {
				b.WriteString(h)
				b.WriteByte('\n')
			}
			_, err = cmd.OutOrStdout().Write(b.Bytes())
			return err
		},
	}
}

// readEPCISInput reads the named file, or standard input for "-", up to
// epcis.MaxXMLSize bytes.
func readEPCISInput(stdin io.Reader, name string) ([]byte, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer func() { _ = f.Close() }()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, epcis.MaxXMLSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > epcis.MaxXMLSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, epcis.MaxXMLSize)
	}
	return data, nil
}

// epcisHashes decodes a document (or a single event) in the binding its
// first character shows and returns the event hashes in order.
func epcisHashes(data []byte) ([]string, error) {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\uFEFF")), " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("empty input: want an EPCIS document in JSON-LD or XML")
	}
	var doc *epcis.Document
	var err error
	switch trimmed[0] {
	case '<':
		if doc, err = epcis.DecodeXML(data); err != nil {
			if ev, evErr := epcis.DecodeXMLEvent(data); evErr == nil {
				doc, err = &epcis.Document{Events: []epcis.Event{*ev}}, nil
			}
		}
	case '{':
		if doc, err = epcis.Decode(data); err != nil {
			if ev, evErr := epcis.DecodeEvent(data); evErr == nil {
				doc, err = &epcis.Document{Events: []epcis.Event{*ev}}, nil
			}
		}
	default:
		return nil, fmt.Errorf("input starts with %q: want an EPCIS document in JSON-LD ('{') or XML ('<')", trimmed[0])
	}
	if err != nil {
		return nil, err
	}
	return doc.Hashes()
}
