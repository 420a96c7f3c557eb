// Package label renders the printed marking of serialized medicine packs: the
// GS1 DataMatrix carrying each pack's element string (01) GTIN, (17) expiry,
// (10) lot, (21) serial, optionally the GS1 Digital Link QR code of the same
// data, and the human-readable lines "GTIN …", "SN …", "LOT …", "EXP …"
// beside the symbols, as GS1 Healthcare guidance places them on pharma packs.
//
// Labels are laid out on sheets (a grid of packs) written as one SVG or one
// PNG image each; WriteText gives the element strings for printers that
// encode the symbols themselves. Encoding is done by
// github.com/boombuler/barcode: a content string starting with the FNC1
// codeword (232) makes its Data Matrix encoder emit FNC1 as the first
// codeword, which is what makes the symbol a GS1 DataMatrix; the GS (ASCII
// 29) after the variable-length lot is carried as an ordinary character,
// which GS1 permits as the separator and scanners transmit unchanged.
//
// The package reads no clock and holds no state; everything is safe for
// concurrent use.
package label

import (
	"fmt"
	"image/color"
	"strings"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/datamatrix"
	"github.com/boombuler/barcode/qr"

	"github.com/pedigree-project/pedigree/gs1"
)

// Pack is the data printed on one pack.
type Pack struct {
	GTIN   string // GTIN-8, -12, -13 or -14 with its check digit
	Lot    string // (10) batch or lot number
	Serial string // (21) serial number
	Expiry string // (17) YYMMDD; DD may be 00 (last day of the month)
}

// Label is a validated pack ready to be rendered.
type Label struct {
	// Result holds (01), (17), (10) and (21) in that order; the GTIN is
	// padded to 14 digits.
	Result *gs1.Result
	// Expires is the expiry day that (17) denotes.
	Expires time.Time
}

// New validates p and returns its label. ref chooses the century of the
// expiry year (GS1's sliding window); it is normally the time of printing.
// A refusal is a *gs1.Error naming the field and the rule broken.
func New(p Pack, ref time.Time) (*Label, error) {
	gtin := p.GTIN
	if !gs1.ValidGTIN(gtin) {
		padded := gtin
		if n := len(gtin); n == 8 || n == 12 || n == 13 {
			padded = strings.Repeat("0", 14-n) + gtin
		}
		return nil, refusal("01", padded, gs1.RuleCheckDigit, "GTIN %q is not 8, 12, 13 or 14 digits with a correct check digit", gtin)
	}
	for len(gtin) < 14 {
		gtin = "0" + gtin
	}
	if !gs1.ValidLot(p.Lot) {
		return nil, refusal("10", p.Lot, gs1.RuleCharset, "lot %q is not 1 to 20 characters of GS1 character set 82", p.Lot)
	}
	if !gs1.ValidSerial(p.Serial) {
		return nil, refusal("21", p.Serial, gs1.RuleCharset, "serial %q is not 1 to 20 characters of GS1 character set 82", p.Serial)
	}
	day, err := gs1.ExpiryDate(p.Expiry, ref)
	if err != nil {
		return nil, fmt.Errorf("expiry: %w", err)
	}
	r, err := gs1.Options{}.Build(
		gs1.Element{AI: "01", Value: gtin},
		gs1.Element{AI: "17", Value: p.Expiry},
		gs1.Element{AI: "10", Value: p.Lot},
		gs1.Element{AI: "21", Value: p.Serial},
	)
	if err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	return &Label{Result: r, Expires: day}, nil
}

// refusal explains why a gs1 validator refused value: the dictionary's own
// error for the AI when it has one, else a *gs1.Error with the given rule.
func refusal(ai, value string, rule gs1.Rule, format string, args ...any) error {
	if _, err := (gs1.Options{SkipAssociations: true}).Build(gs1.Element{AI: ai, Value: value}); err != nil {
		return err
	}
	field := map[string]string{"01": "gtin", "10": "lot", "21": "serial"}[ai]
	return &gs1.Error{AI: ai, Field: field, Rule: rule, Msg: fmt.Sprintf(format, args...)}
}

// ElementString is the raw element string: (01) GTIN, (17) expiry, (10) lot,
// GS (ASCII 29), (21) serial; what a scanner transmits after "]d2".
func (l *Label) ElementString() string { return l.Result.ElementString() }

// Bracketed is the element string in human-readable form,
// "(01)…(17)…(10)…(21)…".
func (l *Label) Bracketed() string { return l.Result.Bracketed() }

// DigitalLink is the GS1 Digital Link URI the QR code carries:
// https://id.gs1.org/01/{gtin}/10/{lot}/21/{serial}?17={expiry}.
func (l *Label) DigitalLink() (string, error) {
	return l.Result.DigitalLink(gs1.DefaultDigitalLinkStem)
}

// HRI returns the human-readable lines printed beside the symbols:
// "GTIN …", "SN …", "LOT …", "EXP …" (the expiry as YYYY-MM-DD, or YYYY-MM
// when encoded with day 00).
func (l *Label) HRI() [4]string {
	exp := l.Expires.Format("2006-01-02")
	if len(l.Result.Expiry) == 6 && l.Result.Expiry[4:] == "00" {
		exp = l.Expires.Format("2006-01")
	}
	return [4]string{"GTIN " + l.Result.GTIN, "SN " + l.Result.Serial, "LOT " + l.Result.Lot, "EXP " + exp}
}

// symbols are a label's encoded symbols as module matrices.
type symbols struct {
	dm, qr *matrix
}

// matrix is a symbol's modules, row by row, true for dark.
type matrix struct {
	w, h int
	dark []bool
}

func (m *matrix) at(x, y int) bool { return m.dark[y*m.w+x] }

func toMatrix(b barcode.Barcode) *matrix {
	r := b.Bounds()
	m := &matrix{w: r.Dx(), h: r.Dy(), dark: make([]bool, r.Dx()*r.Dy())}
	for y := 0; y < m.h; y++ {
		for x := 0; x < m.w; x++ {
			g := color.GrayModel.Convert(b.At(r.Min.X+x, r.Min.Y+y)).(color.Gray)
			m.dark[y*m.w+x] = g.Y < 128
		}
	}
	return m
}

// encode makes the label's GS1 DataMatrix and, with withQR, its Digital Link
// QR code (error correction level M).
func (l *Label) encode(withQR bool) (symbols, error) {
	var s symbols
	// The leading byte 232 is the encoder's cue for FNC1 in first position.
	dm, err := datamatrix.Encode(string([]byte{datamatrix.FNC1}) + l.ElementString())
	if err != nil {
		return s, fmt.Errorf("data matrix of %s: %w", l.Bracketed(), err)
	}
	s.dm = toMatrix(dm)
	if withQR {
		uri, err := l.DigitalLink()
		if err != nil {
			return s, fmt.Errorf("digital link of %s: %w", l.Bracketed(), err)
		}
		q, err := qr.Encode(uri, qr.M, qr.Auto)
		if err != nil {
			return s, fmt.Errorf("qr code of %s: %w", uri, err)
		}
		s.qr = toMatrix(q)
	}
	return s, nil
}
