package label

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Limits on one sheet, to bound the memory one rendering takes.
const (
	MaxSheet      = 1000 // packs on one sheet
	MaxModule     = 20   // pixels per module
	MaxColumns    = 100  // packs side by side
	defaultModule = 4
	defaultCols   = 5
)

// Text metrics of the human-readable lines (basicfont's 7×13 face).
const (
	charW   = 7
	lineH   = 16
	hriCols = 24 // "SN " and a 20-character serial, and a margin
)

// Options shape a sheet. The zero value is a sheet of DataMatrix labels,
// 5 packs across, 4 pixels per module.
type Options struct {
	QR      bool // add the GS1 Digital Link QR code beside the DataMatrix
	Module  int  // pixels (SVG user units) per module: 1 to MaxModule; 0 means 4
	Columns int  // packs side by side: 1 to MaxColumns; 0 means 5
}

// Sheet is a grid of encoded labels, left to right then top to bottom.
type Sheet struct {
	labels []*Label
	syms   []symbols
	geo    geometry
}

// geometry is the layout of every cell of a sheet, in pixels.
type geometry struct {
	module, cols, rows int
	cellW, cellH       int
	dmX, qrX, symY     int // symbol origins within a cell
	textX              int
}

// NewSheet encodes the labels and lays them out.
func NewSheet(labels []*Label, o Options) (*Sheet, error) {
	switch {
	case len(labels) == 0:
		return nil, errors.New("label: a sheet needs at least one pack")
	case len(labels) > MaxSheet:
		return nil, fmt.Errorf("label: %d packs exceed the %d a sheet holds", len(labels), MaxSheet)
	case o.Module < 0 || o.Module > MaxModule:
		return nil, fmt.Errorf("label: module size %d is outside 1 to %d pixels", o.Module, MaxModule)
	case o.Columns < 0 || o.Columns > MaxColumns:
		return nil, fmt.Errorf("label: %d columns is outside 1 to %d", o.Columns, MaxColumns)
	}
	if o.Module == 0 {
		o.Module = defaultModule
	}
	if o.Columns == 0 {
		o.Columns = defaultCols
	}
	s := &Sheet{labels: labels, syms: make([]symbols, len(labels))}
	var dmW, dmH, qrW, qrH int
	for i, l := range labels {
		if l == nil || l.Result == nil {
			return nil, fmt.Errorf("label: pack %d is empty", i+1)
		}
		sy, err := l.encode(o.QR)
		if err != nil {
			return nil, fmt.Errorf("label: pack %d: %w", i+1, err)
		}
		s.syms[i] = sy
		dmW, dmH = max(dmW, sy.dm.w), max(dmH, sy.dm.h)
		if sy.qr != nil {
			qrW, qrH = max(qrW, sy.qr.w), max(qrH, sy.qr.h)
		}
	}
	m := o.Module
	g := geometry{module: m, cols: min(o.Columns, len(labels))}
	g.rows = (len(labels) + g.cols - 1) / g.cols
	// Quiet zones: 4 modules around each symbol (QR's minimum; twice
	// DataMatrix's), so that neighbouring cells never touch.
	q := 4 * m
	g.dmX, g.symY = q, q
	right := g.dmX + dmW*m + q
	if o.QR {
		g.qrX = right
		right += qrW*m + q
	}
	g.textX = right
	g.cellW = g.textX + hriCols*charW
	g.cellH = max(g.symY+max(dmH, qrH)*m+q, g.symY+4*lineH+q)
	s.geo = g
	return s, nil
}

// Len is the number of packs on the sheet.
func (s *Sheet) Len() int { return len(s.labels) }

// Size is the sheet's width and height in pixels (SVG user units).
func (s *Sheet) Size() (w, h int) { return s.geo.cols * s.geo.cellW, s.geo.rows * s.geo.cellH }

// cell returns the top-left corner of pack i's cell.
func (s *Sheet) cell(i int) (x, y int) {
	return (i % s.geo.cols) * s.geo.cellW, (i / s.geo.cols) * s.geo.cellH
}

// WriteSVG writes the sheet as one SVG document: per pack a group of class
// "pack" holding a path of class "gs1-datamatrix", with Options.QR a path of
// class "gs1-qr", and the four human-readable text lines.
func (s *Sheet) WriteSVG(w io.Writer) error {
	bw := bufio.NewWriter(w)
	W, H := s.Size()
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n"+
		`<rect width="100%%" height="100%%" fill="#fff"/>`+"\n", W, H, W, H)
	for i, l := range s.labels {
		x, y := s.cell(i)
		fmt.Fprintf(bw, `<g class="pack" transform="translate(%d %d)">`+"\n", x, y)
		svgPath(bw, "gs1-datamatrix", s.syms[i].dm, s.geo.dmX, s.geo.symY, s.geo.module)
		if qr := s.syms[i].qr; qr != nil {
			svgPath(bw, "gs1-qr", qr, s.geo.qrX, s.geo.symY, s.geo.module)
		}
		bw.WriteString(`<g font-family="monospace" font-size="13">` + "\n")
		for n, line := range l.HRI() {
			fmt.Fprintf(bw, `<text x="%d" y="%d">`, s.geo.textX, s.geo.symY+(n+1)*lineH-3)
			xmlEscape(bw, line)
			bw.WriteString("</text>\n")
		}
		bw.WriteString("</g>\n</g>\n")
	}
	bw.WriteString("</svg>\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("label: writing svg: %w", err)
	}
	return nil
}

// svgPath writes a symbol as one path of a rectangle per run of dark
// modules in a row.
func svgPath(w *bufio.Writer, class string, m *matrix, x0, y0, px int) {
	fmt.Fprintf(w, `<path class="%s" shape-rendering="crispEdges" d="`, class)
	for y := 0; y < m.h; y++ {
		for x := 0; x < m.w; {
			if !m.at(x, y) {
				x++
				continue
			}
			n := 1
			for x+n < m.w && m.at(x+n, y) {
				n++
			}
			w.WriteString("M" + strconv.Itoa(x0+x*px) + " " + strconv.Itoa(y0+y*px) +
				"h" + strconv.Itoa(n*px) + "v" + strconv.Itoa(px) + "h-" + strconv.Itoa(n*px) + "z")
			x += n
		}
	}
	w.WriteString("\"/>\n")
}

// xmlEscape writes text escaped for XML character data. Label text is GS1
// character set 82 and digits, but is escaped all the same.
func xmlEscape(w *bufio.Writer, s string) {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
	r.WriteString(w, s) //nolint:errcheck // bufio reports write errors at Flush
}

// Image renders the sheet as a grayscale image: black modules and text on
// white.
func (s *Sheet) Image() *image.Gray {
	W, H := s.Size()
	img := image.NewGray(image.Rect(0, 0, W, H))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	d := font.Drawer{Dst: img, Src: image.Black, Face: basicfont.Face7x13}
	for i, l := range s.labels {
		x, y := s.cell(i)
		fill(img, s.syms[i].dm, x+s.geo.dmX, y+s.geo.symY, s.geo.module)
		if qr := s.syms[i].qr; qr != nil {
			fill(img, qr, x+s.geo.qrX, y+s.geo.symY, s.geo.module)
		}
		for n, line := range l.HRI() {
			d.Dot = fixed.P(x+s.geo.textX, y+s.geo.symY+(n+1)*lineH-3)
			d.DrawString(line)
		}
	}
	return img
}

// fill paints a symbol's dark modules, px by px pixels each, at (x0, y0)
// of an image whose bounds start at the origin.
func fill(img *image.Gray, m *matrix, x0, y0, px int) {
	for y := 0; y < m.h; y++ {
		for x := 0; x < m.w; x++ {
			if !m.at(x, y) {
				continue
			}
			for dy := 0; dy < px; dy++ {
				row := img.Pix[(y0+y*px+dy)*img.Stride:]
				clear(row[x0+x*px : x0+(x+1)*px])
			}
		}
	}
}

// WritePNG writes the sheet as a grayscale PNG.
func (s *Sheet) WritePNG(w io.Writer) error {
	// Sheets are large and mostly white: the fastest compression loses
	// little.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(w, s.Image()); err != nil {
		return fmt.Errorf("label: writing png: %w", err)
	}
	return nil
}

// WriteText writes one line per pack for printers that encode the symbols
// themselves: the bracketed element string, a tab, and the raw element
// string with GS (ASCII 29) after the lot (FNC1 in first position is the
// printer's to add).
func WriteText(w io.Writer, labels []*Label) error {
	bw := bufio.NewWriter(w)
	for i, l := range labels {
		if l == nil || l.Result == nil {
			return fmt.Errorf("label: pack %d is empty", i+1)
		}
		bw.WriteString(l.Bracketed())
		bw.WriteByte('\t')
		bw.WriteString(l.ElementString())
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("label: writing text: %w", err)
	}
	return nil
}
