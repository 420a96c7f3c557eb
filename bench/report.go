package bench

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Report is what the HTML report draws: one chart per figure, each figure
// a set of lines over the same x values (data size for --scale, minutes
// for --soak). It holds no HTML; WriteHTML draws it.
type Report struct {
	// Title heads the page; Lines follow it as paragraphs (command line,
	// machine, load).
	Title string
	Lines []string
	// XName names the x axis ("events", "minute"); X are its values, one
	// per step. LogX draws it on a log scale (where every x is positive).
	XName string
	X     []float64
	LogX  bool
	// Figures are drawn in order.
	Figures []ReportFigure
	// Notes are printed under the charts.
	Notes []string
}

// ReportFigure is one chart.
type ReportFigure struct {
	Name string
	Unit string
	// Lines are the figure's series: the first is the figure itself, the
	// others its limits (drawn dashed) or companions. Values may hold NaN
	// where a step has no value: the line breaks there.
	Lines []ReportLine
	// Target says what the figure must reach, and Verdict whether it did
	// ("met", "MISSED", a drift verdict); either may be empty.
	Target  string
	Verdict string
}

// ReportLine is one series of a figure.
type ReportLine struct {
	Name   string
	Values []float64
	// Limit draws the line dashed: a limit measured in the same step.
	Limit bool
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 420, 200
	padL, padR     = 58, 26
	padT, padB     = 12, 34
)

// chartColors are the lines' colours, in order.
var chartColors = [...]string{"#1f6fb2", "#c2410c", "#15803d", "#7e22ce", "#475569"}

// svgChart is one figure, laid out for the template: every number is
// already a string of digits, so the template only escapes names.
type svgChart struct {
	Name, Unit, Target, Verdict string
	Met                         bool // the verdict is good news
	W, H                        int
	Lines                       []svgLine
	XTicks, YTicks              []svgTick
	Table                       []svgRow
	XName                       string
	PlotX0, PlotX1              int
	PlotY0, PlotY1              int
}

type svgLine struct {
	Name    string
	Color   string
	Dash    bool
	Paths   []string // one polyline's points per unbroken run
	Points  []svgPoint
	LegendY int
}

type svgPoint struct{ X, Y string }

type svgTick struct {
	Pos   string
	Label string
}

type svgRow struct {
	X      string
	Values []string
}

// WriteHTML writes r as one self-contained HTML page: inline CSS, one
// inline SVG chart per figure with its values in a table beneath, no
// script and no external asset.
func (r *Report) WriteHTML(w io.Writer) error {
	r = r.clean()
	charts := make([]svgChart, 0, len(r.Figures))
	for _, f := range r.Figures {
		charts = append(charts, r.chart(f))
	}
	return reportPage.Execute(w, struct {
		R      *Report
		Charts []svgChart
	}{r, charts})
}

// cleanText drops what XML cannot hold (control characters other than
// tab, newline and carriage return; U+FFFE, U+FFFF) and invalid UTF-8:
// html/template escapes markup, not these, and an SVG holding one is not
// well-formed.
func cleanText(s string) string {
	return strings.Map(func(c rune) rune {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0xFFFE || c == 0xFFFF || c == utf8.RuneError {
			return -1
		}
		return c
	}, strings.ToValidUTF8(s, ""))
}

// clean returns a copy of r whose text XML can hold.
func (r *Report) clean() *Report {
	c := *r
	c.Title, c.XName = cleanText(r.Title), cleanText(r.XName)
	c.Lines = cleanAll(r.Lines)
	c.Notes = cleanAll(r.Notes)
	c.Figures = make([]ReportFigure, len(r.Figures))
	for i, f := range r.Figures {
		f.Name, f.Unit, f.Target, f.Verdict = cleanText(f.Name), cleanText(f.Unit), cleanText(f.Target), cleanText(f.Verdict)
		lines := make([]ReportLine, len(f.Lines))
		for k, l := range f.Lines {
			l.Name = cleanText(l.Name)
			lines[k] = l
		}
		f.Lines = lines
		c.Figures[i] = f
	}
	return &c
}

func cleanAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = cleanText(s)
	}
	return out
}

// finite reports whether v can be drawn.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// xScale maps r's x values to [0, 1]: by log10 when r.LogX and every x is
// positive, linearly otherwise; a single distinct value sits in the middle.
func (r *Report) xScale() func(float64) float64 {
	log := r.LogX
	for _, x := range r.X {
		if !(x > 0) || !finite(x) {
			log = false
		}
	}
	tr := func(x float64) float64 { return x }
	if log {
		tr = math.Log10
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range r.X {
		if finite(x) {
			lo, hi = min(lo, tr(x)), max(hi, tr(x))
		}
	}
	return func(x float64) float64 {
		if !finite(x) || (log && x <= 0) || !(hi > lo) {
			return 0.5
		}
		return (tr(x) - lo) / (hi - lo)
	}
}

// chart lays figure f out.
func (r *Report) chart(f ReportFigure) svgChart {
	c := svgChart{Name: f.Name, Unit: f.Unit, Target: f.Target, Verdict: f.Verdict, Met: strings.HasPrefix(f.Verdict, "met"), W: chartW, H: chartH, XName: r.XName,
		PlotX0: padL, PlotX1: chartW - padR, PlotY0: padT, PlotY1: chartH - padB}
	// The y axis runs from 0 (or the smallest value, if negative) to the
	// largest value, padded by a tenth.
	ylo, yhi := 0.0, 0.0
	for _, l := range f.Lines {
		for _, v := range l.Values {
			if finite(v) {
				ylo, yhi = min(ylo, v), max(yhi, v)
			}
		}
	}
	if yhi == ylo {
		yhi = ylo + 1
	}
	yhi += (yhi - ylo) / 10
	xs := r.xScale()
	px := func(x float64) float64 { return padL + xs(x)*float64(chartW-padL-padR) }
	py := func(v float64) float64 { return float64(chartH-padB) - (v-ylo)/(yhi-ylo)*float64(chartH-padB-padT) }
	for i, l := range f.Lines {
		sl := svgLine{Name: l.Name, Color: chartColors[i%len(chartColors)], Dash: l.Limit, LegendY: padT + 4 + 12*i}
		var run []string
		for k, x := range r.X {
			if k >= len(l.Values) || !finite(l.Values[k]) {
				if len(run) > 0 {
					sl.Paths = append(sl.Paths, strings.Join(run, " "))
				}
				run = nil
				continue
			}
			p := svgPoint{num(px(x)), num(py(l.Values[k]))}
			sl.Points = append(sl.Points, p)
			run = append(run, p.X+","+p.Y)
		}
		if len(run) > 0 {
			sl.Paths = append(sl.Paths, strings.Join(run, " "))
		}
		c.Lines = append(c.Lines, sl)
	}
	for k := range 5 {
		v := ylo + (yhi-ylo)*float64(k)/4
		c.YTicks = append(c.YTicks, svgTick{num(py(v)), shortValue(v)})
	}
	for k, x := range r.X {
		if len(r.X) > 12 && k%(len(r.X)/8+1) != 0 && k != len(r.X)-1 {
			continue // at most a dozen labels
		}
		c.XTicks = append(c.XTicks, svgTick{num(px(x)), shortValue(x)})
	}
	for k, x := range r.X {
		row := svgRow{X: shortValue(x)}
		for _, l := range f.Lines {
			v := math.NaN()
			if k < len(l.Values) {
				v = l.Values[k]
			}
			row.Values = append(row.Values, cellValue(v))
		}
		c.Table = append(c.Table, row)
	}
	return c
}

// num prints a coordinate with one decimal.
func num(v float64) string {
	if !finite(v) {
		v = 0
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// shortValue prints an axis label: 1.5M, 30k, 2.5, 0.12.
func shortValue(v float64) string {
	a := math.Abs(v)
	switch {
	case !finite(v):
		return "n/a"
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'g', 3, 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// cellValue prints a table cell: "n/a" where there is no value.
func cellValue(v float64) string {
	if !finite(v) {
		return "n/a"
	}
	return formatValue(v)
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"add": func(a, b int) int { return a + b },
	"sub": func(a, b int) int { return a - b },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.R.Title}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#111}
h1{font-size:1.3em}h2{font-size:1em;margin:0 0 .3em}
.fig{display:inline-block;vertical-align:top;margin:0 1.5em 1.5em 0;width:440px}
table{border-collapse:collapse;font-size:12px}td,th{padding:1px 6px;text-align:right;border-bottom:1px solid #ddd}
.met{color:#15803d}.miss{color:#b91c1c;font-weight:bold}
svg text{font:10px sans-serif}
</style></head><body>
<h1>{{.R.Title}}</h1>
{{range .R.Lines}}<p>{{.}}</p>
{{end}}{{range .Charts}}<div class="fig">
<h2>{{.Name}}{{if .Unit}} ({{.Unit}}){{end}}</h2>
{{if or .Target .Verdict}}<p>{{if .Target}}target: {{.Target}} {{end}}{{if .Verdict}}<span class="{{if .Met}}met{{else}}miss{{end}}">{{.Verdict}}</span>{{end}}</p>{{end}}
<svg xmlns="http://www.w3.org/2000/svg" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}" role="img"><title>{{.Name}}</title>
<line x1="{{.PlotX0}}" y1="{{.PlotY1}}" x2="{{.PlotX1}}" y2="{{.PlotY1}}" stroke="#888"/>
<line x1="{{.PlotX0}}" y1="{{.PlotY0}}" x2="{{.PlotX0}}" y2="{{.PlotY1}}" stroke="#888"/>
{{$c := .}}{{range .YTicks}}<line x1="{{$c.PlotX0}}" y1="{{.Pos}}" x2="{{$c.PlotX1}}" y2="{{.Pos}}" stroke="#eee"/><text x="{{sub $c.PlotX0 4}}" y="{{.Pos}}" text-anchor="end" dominant-baseline="middle">{{.Label}}</text>
{{end}}{{range .XTicks}}<text x="{{.Pos}}" y="{{add $c.PlotY1 14}}" text-anchor="middle">{{.Label}}</text>
{{end}}<text x="{{$c.PlotX1}}" y="{{add $c.PlotY1 28}}" text-anchor="end">{{.XName}}</text>
{{range .Lines}}{{$l := .}}{{range .Paths}}<polyline fill="none" stroke="{{$l.Color}}" stroke-width="1.5"{{if $l.Dash}} stroke-dasharray="4 3"{{end}} points="{{.}}"/>
{{end}}{{range .Points}}<circle cx="{{.X}}" cy="{{.Y}}" r="2" fill="{{$l.Color}}"/>
{{end}}<text x="{{add $c.PlotX0 6}}" y="{{.LegendY}}" fill="{{.Color}}">{{.Name}}</text>
{{end}}</svg>
<table><tr><th>{{.XName}}</th>{{range .Lines}}<th>{{.Name}}</th>{{end}}</tr>
{{range .Table}}<tr><td>{{.X}}</td>{{range .Values}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table></div>
{{end}}{{range .R.Notes}}<p>note: {{.}}</p>
{{end}}</body></html>
`))

// verdictAtMost is "met" or "MISSED" for v ≤ limit; empty when v has no
// value.
func verdictAtMost(v, limit float64) string {
	switch {
	case !finite(v) || !finite(limit):
		return ""
	case v <= limit:
		return "met"
	default:
		return "MISSED"
	}
}

// verdictFmt formats a verdict with the ratio it was taken on.
func verdictFmt(v, limit float64, what string) string {
	s := verdictAtMost(v, limit)
	if s == "" {
		return ""
	}
	return fmt.Sprintf("%s (%s %s)", s, formatValue(v), what)
}
