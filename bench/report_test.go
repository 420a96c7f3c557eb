package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
)

// svgs returns every <svg>…</svg> of page.
func svgs(t *testing.T, page string) []string {
	t.Helper()
	var out []string
	for rest := page; ; {
		i := strings.Index(rest, "<svg")
		if i < 0 {
			return out
		}
		j := strings.Index(rest[i:], "</svg>")
		if j < 0 {
			t.Fatalf("an <svg> is not closed")
		}
		out = append(out, rest[i:i+j+len("</svg>")])
		rest = rest[i+j:]
	}
}

// wellFormed checks that s parses as XML to its end.
func wellFormed(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		if _, err := d.Token(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

func renderReport(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestReportDrawsEveryFigureAsValidSVG checks that each figure gets a
// chart that is well-formed XML, with its lines and its values, and that
// names are escaped.
func TestReportDrawsEveryFigureAsValidSVG(t *testing.T) {
	r := &Report{
		Title: "scale <run> & more", Lines: []string{"pedigree bench --scale 1M,3M"},
		XName: "events", X: []float64{20_000, 50_000, 1e6}, LogX: true,
		Figures: []ReportFigure{
			{Name: "verify p99", Unit: "ms", Lines: []ReportLine{{Name: "verify p99", Values: []float64{1.5, 1.7, 2.1}},
				{Name: "bare gRPC p99 <limit>", Values: []float64{1.2, 1.3, 1.4}, Limit: true}}, Target: "≤ 1.2 × bare", Verdict: "MISSED"},
			{Name: `disk "per" event`, Unit: "B/event", Lines: []ReportLine{{Name: "Pebble", Values: []float64{120, 110, 100}},
				{Name: "stream", Values: []float64{90, 91, 92}}}, Verdict: "met"},
			{Name: "EPCIS query p99", Unit: "ms", Lines: []ReportLine{{Name: "EPCIS", Values: []float64{math.NaN(), math.NaN(), math.NaN()}}}},
		},
		Notes: []string{"a <note>"},
	}
	page := renderReport(t, r)
	charts := svgs(t, page)
	if len(charts) != len(r.Figures) {
		t.Fatalf("%d charts for %d figures", len(charts), len(r.Figures))
	}
	for i, c := range charts {
		if err := wellFormed(c); err != nil {
			t.Errorf("chart %d is not well-formed XML: %v\n%s", i, err, c)
		}
	}
	if strings.Count(charts[0], "<polyline") != 2 || !strings.Contains(charts[0], `stroke-dasharray`) {
		t.Errorf("verify chart: want two lines, the limit dashed:\n%s", charts[0])
	}
	if strings.Contains(charts[2], "<polyline") {
		t.Errorf("a figure without values drew a line:\n%s", charts[2])
	}
	for _, want := range []string{"verify p99", "bare gRPC p99 &lt;limit&gt;", "disk &#34;per&#34; event", "EPCIS query p99",
		"scale &lt;run&gt; &amp; more", "a &lt;note&gt;", "1.70", "n/a", "MISSED", "1M"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<run>") || strings.Contains(page, "<script") || strings.Contains(page, "http://") && !strings.Contains(page, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Error("page has unescaped text, a script or an external reference")
	}
	if len(page) > 64<<10 {
		t.Errorf("page is %d bytes for three small charts", len(page))
	}
}

// TestReportSurvivesOddValues draws reports with NaN, infinities, zeros,
// negative and single steps, and no steps at all.
func TestReportSurvivesOddValues(t *testing.T) {
	for name, r := range map[string]*Report{
		"one step":  {X: []float64{1e6}, LogX: true, Figures: []ReportFigure{{Name: "a", Lines: []ReportLine{{Name: "a", Values: []float64{3}}}}}},
		"no steps":  {Figures: []ReportFigure{{Name: "a", Lines: []ReportLine{{Name: "a"}}}}},
		"zero x":    {X: []float64{0, 1, 2}, LogX: true, Figures: []ReportFigure{{Name: "a", Lines: []ReportLine{{Name: "a", Values: []float64{0, 0, 0}}}}}},
		"odd value": {X: []float64{1, 2, 3, 4}, Figures: []ReportFigure{{Name: "a", Lines: []ReportLine{{Name: "a", Values: []float64{math.NaN(), math.Inf(1), -5, 1e300}}}}}},
		"short":     {X: []float64{1, 2, 3}, Figures: []ReportFigure{{Name: "a", Lines: []ReportLine{{Name: "a", Values: []float64{1}}}}}},
	} {
		page := renderReport(t, r)
		for _, c := range svgs(t, page) {
			if err := wellFormed(c); err != nil {
				t.Errorf("%s: %v\n%s", name, err, c)
			}
			if strings.Contains(c, "NaN") || strings.Contains(c, "Inf") {
				t.Errorf("%s: a coordinate is not a number:\n%s", name, c)
			}
		}
	}
}

// FuzzReport draws a one-figure report from arbitrary values and names.
func FuzzReport(f *testing.F) {
	f.Add("verify <p99>", 1.0, 2.0, math.NaN(), true)
	f.Add("", 0.0, 0.0, 0.0, false)
	f.Add("&amp;]]>", math.Inf(-1), -1.0, 1e308, true)
	f.Fuzz(func(t *testing.T, name string, a, b, c float64, logX bool) {
		r := &Report{Title: name, XName: name, X: []float64{a, b, c}, LogX: logX,
			Figures: []ReportFigure{{Name: name, Unit: name, Lines: []ReportLine{{Name: name, Values: []float64{c, b, a}}, {Name: name, Values: []float64{a}, Limit: true}}}}}
		var buf bytes.Buffer
		if err := r.WriteHTML(&buf); err != nil {
			t.Fatal(err)
		}
		for _, s := range svgs(t, buf.String()) {
			if err := wellFormed(s); err != nil {
				t.Fatalf("not well-formed: %v\n%s", err, s)
			}
		}
	})
}
