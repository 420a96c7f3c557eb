package label

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/pedigree-project/pedigree/gs1"
)

var printedAt = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)

// packs returns n valid labels with distinct serials, some of them all
// digits, some with characters that need DataMatrix's shifts.
func packs(t testing.TB, n int) []*Label {
	t.Helper()
	out := make([]*Label, n)
	for i := range out {
		serial := fmt.Sprintf("%012d", 100000+i*7919)
		if i%3 == 1 {
			serial = fmt.Sprintf("SN-%d/x%d", i, i*31)
		}
		l, err := New(Pack{GTIN: "09506000134352", Lot: fmt.Sprintf("L%d.a", i%17), Serial: serial, Expiry: "281200"}, printedAt)
		if err != nil {
			t.Fatalf("pack %d: %v", i, err)
		}
		out[i] = l
	}
	return out
}

// decode reads one symbol from a crop of a rendered image.
func decode(t testing.TB, r gozxing.Reader, img image.Image) *gozxing.Result {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(gozxing.NewLuminanceSourceFromImage(img)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return res
}

// crop returns the part of the sheet's image that holds one symbol with
// its quiet zone.
func crop(img *image.Gray, s *Sheet, i int, x0 int, m *matrix) image.Image {
	x, y := s.cell(i)
	q := 4 * s.geo.module
	return img.SubImage(image.Rect(x+x0-q, y+s.geo.symY-q, x+x0+m.w*s.geo.module+q, y+s.geo.symY+m.h*s.geo.module+q))
}

// TestLabelSheetDecodes renders 1,000 packs on one sheet, writes and reads
// it back as PNG, and decodes every DataMatrix: each is a GS1 DataMatrix
// (FNC1 first, "]d2") carrying exactly the pack's element string, GS
// included.
func TestLabelSheetDecodes(t *testing.T) {
	labels := packs(t, 1000)
	s, err := NewSheet(labels, Options{Columns: 10})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.WritePNG(&buf); err != nil {
		t.Fatal(err)
	}
	decoded, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	img, ok := decoded.(*image.Gray)
	if !ok {
		t.Fatalf("png decodes to %T, want *image.Gray", decoded)
	}
	r := datamatrix.NewDataMatrixReader()
	for i, l := range labels {
		res := decode(t, r, crop(img, s, i, s.geo.dmX, s.syms[i].dm))
		id := res.GetResultMetadata()[gozxing.ResultMetadataType_SYMBOLOGY_IDENTIFIER]
		if id != "]d2" {
			t.Fatalf("pack %d: symbology identifier %v, want ]d2 (FNC1 first)", i, id)
		}
		// gozxing transmits every FNC1 as GS, the first one too.
		text, ok := strings.CutPrefix(res.GetText(), "\x1d")
		if !ok {
			t.Fatalf("pack %d: decoded %q does not start with the FNC1's GS", i, res.GetText())
		}
		if got, want := text, l.ElementString(); got != want {
			t.Fatalf("pack %d: decoded %q, want %q", i, got, want)
		}
		if !strings.Contains(text, "\x1d21") {
			t.Fatalf("pack %d: no GS before (21) in %q", i, text)
		}
		back, err := gs1.Parse(fmt.Sprint(id) + text)
		if err != nil {
			t.Fatalf("pack %d: %v", i, err)
		}
		if back.Bracketed() != l.Bracketed() {
			t.Fatalf("pack %d: parsed %s, want %s", i, back.Bracketed(), l.Bracketed())
		}
	}
}

// TestLabelQRDecodes checks the Digital Link QR codes: each decodes to the
// URI, which gs1 parses back to the pack's GTIN, serial, lot and expiry.
func TestLabelQRDecodes(t *testing.T) {
	labels := packs(t, 30)
	s, err := NewSheet(labels, Options{QR: true, Columns: 4})
	if err != nil {
		t.Fatal(err)
	}
	img := s.Image()
	r := qrcode.NewQRCodeReader()
	for i, l := range labels {
		res := decode(t, r, crop(img, s, i, s.geo.qrX, s.syms[i].qr))
		uri := res.GetText()
		want, err := l.DigitalLink()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(want, "https://id.gs1.org/01/"+l.Result.GTIN+"/10/") || !strings.HasSuffix(want, "?17="+l.Result.Expiry) {
			t.Fatalf("pack %d: Digital Link %q is not /01/…/10/…/21/…?17=…", i, want)
		}
		if uri != want {
			t.Fatalf("pack %d: QR holds %q, want %q", i, uri, want)
		}
		back, err := gs1.ParseDigitalLink(uri)
		if err != nil {
			t.Fatalf("pack %d: %v", i, err)
		}
		if back.GTIN != l.Result.GTIN || back.Serial != l.Result.Serial || back.Lot != l.Result.Lot || back.Expiry != l.Result.Expiry {
			t.Fatalf("pack %d: QR parses to %s, want %s", i, back.Bracketed(), l.Bracketed())
		}
		// The DataMatrix still decodes with a QR code beside it.
		dm := decode(t, datamatrix.NewDataMatrixReader(), crop(img, s, i, s.geo.dmX, s.syms[i].dm))
		if dm.GetText() != "\x1d"+l.ElementString() {
			t.Fatalf("pack %d: DataMatrix %q, want %q", i, dm.GetText(), l.ElementString())
		}
	}
}

// TestLabelSVG checks that the SVG sheet is well-formed XML with one
// DataMatrix (and one QR code) per pack and the human-readable lines.
func TestLabelSVG(t *testing.T) {
	labels := packs(t, 37)
	labels = append(labels, mustNew(t, Pack{GTIN: "09506000134352", Lot: "A<&>'\"", Serial: "S1", Expiry: "290131"}))
	s, err := NewSheet(labels, Options{QR: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	svg := buf.String()
	dec := xml.NewDecoder(&buf)
	counts := map[string]int{}
	var texts, paths []string
	inText := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("svg is not well-formed: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inText = tok.Name.Local == "text"
			attrs := map[string]string{}
			for _, a := range tok.Attr {
				attrs[a.Name.Local] = a.Value
			}
			counts[attrs["class"]]++
			if attrs["class"] == "gs1-datamatrix" {
				paths = append(paths, attrs["d"])
			}
		case xml.CharData:
			if inText {
				texts = append(texts, string(tok))
			}
		case xml.EndElement:
			inText = false
		}
	}
	for _, class := range []string{"pack", "gs1-datamatrix", "gs1-qr"} {
		if counts[class] != len(labels) {
			t.Errorf("%d elements of class %s, want %d", counts[class], class, len(labels))
		}
	}
	if len(texts) != 4*len(labels) {
		t.Fatalf("%d text lines, want %d", len(texts), 4*len(labels))
	}
	want := []string{"GTIN 09506000134352", "SN S1", `LOT A<&>'"`, "EXP 2029-01-31"}
	if got := texts[len(texts)-4:]; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("last pack's lines %q, want %q", got, want)
	}
	if texts[0] != "GTIN 09506000134352" || texts[3] != "EXP 2028-12" {
		t.Errorf("first pack's lines %q", texts[:4])
	}
	// The paths are the symbols: painted, each decodes to its pack.
	for i, d := range paths {
		img := rasterize(t, d, s.geo.cellW, s.geo.cellH)
		res := decode(t, datamatrix.NewDataMatrixReader(), img)
		if res.GetText() != "\x1d"+labels[i].ElementString() {
			t.Fatalf("svg pack %d: decoded %q, want %q", i, res.GetText(), labels[i].ElementString())
		}
	}
	if !strings.Contains(svg, "<text") || strings.Contains(svg, "A<&") {
		t.Error("svg text is not escaped")
	}
}

// rasterize paints an SVG path made of "Mx yh…v…h-…z" rectangles on a
// white w×h image.
func rasterize(t *testing.T, d string, w, h int) *image.Gray {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for _, rect := range strings.Split(strings.TrimSuffix(d, "z"), "z") {
		var x, y, rw, rh, back int
		if _, err := fmt.Sscanf(rect, "M%d %dh%dv%dh-%d", &x, &y, &rw, &rh, &back); err != nil || back != rw {
			t.Fatalf("path element %q: %v", rect, err)
		}
		for yy := y; yy < y+rh; yy++ {
			for xx := x; xx < x+rw; xx++ {
				img.SetGray(xx, yy, color.Gray{})
			}
		}
	}
	return img
}

func mustNew(t testing.TB, p Pack) *Label {
	t.Helper()
	l, err := New(p, printedAt)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLabelRefuses checks that every field is validated and the refusal
// names the field and the rule.
func TestLabelRefuses(t *testing.T) {
	ok := Pack{GTIN: "09506000134352", Lot: "LOT1", Serial: "S1", Expiry: "281231"}
	for _, tc := range []struct {
		name string
		edit func(*Pack)
		ai   string
		rule gs1.Rule
	}{
		{"check digit", func(p *Pack) { p.GTIN = "09506000134353" }, "01", gs1.RuleCheckDigit},
		{"gtin length", func(p *Pack) { p.GTIN = "0950600013435" }, "01", gs1.RuleCheckDigit},
		{"gtin letters", func(p *Pack) { p.GTIN = "0950600013435X" }, "01", gs1.RuleCharset},
		{"empty serial", func(p *Pack) { p.Serial = "" }, "21", gs1.RuleEmpty},
		{"long serial", func(p *Pack) { p.Serial = strings.Repeat("1", 21) }, "21", gs1.RuleTooLong},
		{"serial space", func(p *Pack) { p.Serial = "A B" }, "21", gs1.RuleCharset},
		{"serial GS", func(p *Pack) { p.Serial = "A\x1d21B" }, "21", gs1.RuleCharset},
		{"lot utf-8", func(p *Pack) { p.Lot = "LÖT" }, "10", gs1.RuleCharset},
		{"expiry month", func(p *Pack) { p.Expiry = "281331" }, "17", gs1.RuleDate},
		{"expiry feb 30", func(p *Pack) { p.Expiry = "280230" }, "17", gs1.RuleDate},
		{"expiry short", func(p *Pack) { p.Expiry = "2812" }, "17", gs1.RuleDate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.edit(&p)
			_, err := New(p, printedAt)
			var ge *gs1.Error
			if !errors.As(err, &ge) {
				t.Fatalf("New(%+v) = %v, want a *gs1.Error", p, err)
			}
			if ge.AI != tc.ai || ge.Rule != tc.rule {
				t.Errorf("New(%+v): AI %s rule %s (%v), want AI %s rule %s", p, ge.AI, ge.Rule, err, tc.ai, tc.rule)
			}
		})
	}
	if _, err := New(ok, printedAt); err != nil {
		t.Fatalf("valid pack refused: %v", err)
	}
	l, err := New(Pack{GTIN: "9506000134352", Lot: "L", Serial: "1", Expiry: "281231"}, printedAt)
	if err != nil || l.Result.GTIN != "09506000134352" {
		t.Fatalf("GTIN-13: %v, %v", l, err)
	}
	if err := WriteText(io.Discard, []*Label{{}}); err == nil {
		t.Error("empty label written")
	}
	if _, err := NewSheet([]*Label{nil}, Options{}); err == nil {
		t.Error("nil label accepted")
	}
	if _, err := NewSheet(nil, Options{}); err == nil {
		t.Error("empty sheet accepted")
	}
	if _, err := NewSheet(packs(t, 1), Options{Module: MaxModule + 1}); err == nil {
		t.Error("oversized module accepted")
	}
}

// TestLabelText checks the printer text: bracketed form, tab, element
// string with GS after the lot.
func TestLabelText(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, []*Label{mustNew(t, Pack{GTIN: "09506000134352", Lot: "LOT1", Serial: "S1", Expiry: "281231"})}); err != nil {
		t.Fatal(err)
	}
	if want := "(01)09506000134352(17)281231(10)LOT1(21)S1\t010950600013435217281231" + "10LOT1\x1d21S1\n"; buf.String() != want {
		t.Fatalf("text %q, want %q", buf.String(), want)
	}
}

// BenchmarkLabel renders 1,000 packs with QR codes as one sheet, to SVG
// and to PNG.
func BenchmarkLabel(b *testing.B) {
	labels := packs(b, 1000)
	for b.Loop() {
		s, err := NewSheet(labels, Options{QR: true, Columns: 10})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.WriteSVG(io.Discard); err != nil {
			b.Fatal(err)
		}
		if err := s.WritePNG(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
