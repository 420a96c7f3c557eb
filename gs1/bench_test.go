package gs1

import "testing"

// A typical EU FMD pack: GTIN, expiry, lot, serial.
const (
	benchRaw       = "]d201095060001343521726033110ABC123\x1d21SN0001XK7Q"
	benchBracketed = "(01)09506000134352(17)260331(10)ABC123(21)SN0001XK7Q"
	benchDL        = "https://id.gs1.org/01/09506000134352/10/ABC123/21/SN0001XK7Q?17=260331"
	// benchLookalike has a lot and a serial holding what looks like the
	// start of AIs (10), (17) and (21): each is tried as a place a GS
	// could be missing, and refused.
	benchLookalike = "]d2010950600013435217260331101021AB17\x1d21K17X1021Q10Z"
)

func benchParse(b *testing.B, in string, parse func(string) (*Result, error)) {
	if _, err := DefaultDictionary(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := parse(in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "parses/s")
}

func BenchmarkParseRaw(b *testing.B)         { benchParse(b, benchRaw, ParseElementString) }
func BenchmarkParseBracketed(b *testing.B)   { benchParse(b, benchBracketed, ParseBracketed) }
func BenchmarkParseDigitalLink(b *testing.B) { benchParse(b, benchDL, ParseDigitalLink) }

// BenchmarkParseAuto includes form detection, as the verify endpoint uses it.
func BenchmarkParseAuto(b *testing.B) { benchParse(b, benchRaw, Parse) }

// BenchmarkParseLookalike is a raw scan whose values hide AI lookalikes.
func BenchmarkParseLookalike(b *testing.B) { benchParse(b, benchLookalike, ParseElementString) }

func BenchmarkGenerateDigitalLink(b *testing.B) {
	r, err := Parse(benchRaw)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.DigitalLink(""); err != nil {
			b.Fatal(err)
		}
	}
}
