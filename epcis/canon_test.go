package epcis

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestCanonDecimal(t *testing.T) {
	for in, want := range map[string]string{
		"600": "600", "452.0": "452", "+1.50": "1.5", "0012": "12", "-0": "0", "0.000": "0",
		"1e3": "1000", "1.5E-3": "0.0015", ".5": "0.5", "5.": "5", "1_000": "1000",
		"12345678901234567890.10": "12345678901234567890.1", "-0.05": "-0.05",
	} {
		if got, ok := canonDecimal(in); !ok || got != want {
			t.Errorf("canonDecimal(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-", ".", "1e", "1.2.3", "NaN", "Infinity", "0x10", "1__0", "_1", "1e99999", "12a", "2014-02-10", "+01:00"} {
		if got, ok := canonDecimal(in); ok {
			t.Errorf("canonDecimal(%q) = %q, want not a number", in, got)
		}
	}
}

// TestHashNumber: numbers hash as the reference implementation writes
// them, through a double (Python's float, then int when integral).
func TestHashNumber(t *testing.T) {
	for in, want := range map[string]string{
		"111100001111000011110000": "111100001111000003641344",
		"12345678901234567890.10":  "12345678901234567168",
		"0.00001":                  "1e-05", "0.0001": "0.0001", "1.5E-7": "1.5e-07",
		"+1.50": "1.5", "1e3": "1000", "-0": "0", "-0.0": "0", "0.1": "0.1", "-1.25": "-1.25",
		"1e22": "10000000000000000000000", "1_000.5": "1000.5", "452.0": "452",
	} {
		if got, ok := hashNumber(in); !ok || got != want {
			t.Errorf("hashNumber(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if got, ok := hashNumber("1e350"); !ok || len(got) != 351 {
		t.Errorf("hashNumber(1e350) = %q, %v; want its exact decimal form", got, ok)
	}
	for _, in := range []string{"NaN", "inf", "0x10", "2014-02-10"} {
		if got, ok := hashNumber(in); ok {
			t.Errorf("hashNumber(%q) = %q, want not a number", in, got)
		}
	}
}

func TestCanonTime(t *testing.T) {
	for in, want := range map[string]string{
		"2020-03-04T11:00:30+01:00":        "2020-03-04T10:00:30.000Z",
		"2022-02-15T01:33:31.116000-06:00": "2022-02-15T07:33:31.116Z",
		"2023-02-02T11:04:03.1415Z":        "2023-02-02T11:04:03.142Z",
		"2023-02-02T11:04:03.1414Z":        "2023-02-02T11:04:03.141Z",
		"2023-12-31T23:59:59.9999Z":        "2024-01-01T00:00:00.000Z",
		"2024-02-29t00:00:00.5z":           "2024-02-29T00:00:00.500Z",
	} {
		if got, err := canonTime(in, "eventTime"); err != nil || got != want {
			t.Errorf("canonTime(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"22-07-2026", "2020-03-04T11:00:30", "2020-03-04 11:00:30Z", "2023-02-29T00:00:00Z",
		"2020-13-01T00:00:00Z", "2020-01-01T24:00:00Z", "2020-01-01T00:00:60Z", "2020-01-01T00:00:00.Z",
		"2020-01-01T00:00:00+0100", "0000-01-01T00:00:00+01:00"} {
		_, err := canonTime(in, "eventTime")
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "eventTime" {
			t.Errorf("canonTime(%q) = %v, want a FieldError on eventTime", in, err)
		}
	}
}

// TestAppendCanonTimeAgreesWithFormat holds the digit-by-digit form of
// canonTime to time.Format's over years 0–9999.
func TestAppendCanonTimeAgreesWithFormat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lo := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	hi := time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
	for range 100_000 {
		tm := time.UnixMilli(lo + r.Int64N(hi-lo+1)).UTC()
		if got, want := string(appendCanonTime(nil, tm)), tm.Format("2006-01-02T15:04:05.000Z"); got != want {
			t.Fatalf("appendCanonTime(%v) = %s, Format %s", tm, got, want)
		}
	}
}

// TestConstrainedSGTIN checks the fast path of constrainDL against the
// whole of it on the forms it takes and on near misses.
func TestConstrainedSGTIN(t *testing.T) {
	for uri, fast := range map[string]bool{
		"https://id.gs1.org/01/09506000134352/21/S1":                     true,
		"https://id.gs1.org/01/09506000134352/21/ABC-._'\"<=>;xyz123456": false, // 21 characters
		"https://id.gs1.org/01/09506000134352/21/A;B=C":                  true,
		"https://id.gs1.org/01/09506000134352/21/A?x=1":                  false,
		"https://id.gs1.org/01/09506000134352/21/":                       false,
		"https://id.gs1.org/01/9506000134352/21/S1":                      false,
		"https://id.gs1.org/01/09506000134352/21/S/1":                    false,
		"https://id.gs1.org/01/09506000134352/10/L1":                     false,
		"https://example.com/01/09506000134352/21/S1":                    false,
	} {
		if got := constrainedSGTIN(uri); got != fast {
			t.Errorf("constrainedSGTIN(%q) = %v, want %v", uri, got, fast)
		}
		checkConstrainedSGTIN(t, uri)
	}
}

// checkConstrainedSGTIN fails t when the fast path takes uri and the
// whole of constrainDL would not return it unchanged.
func checkConstrainedSGTIN(t *testing.T, uri string) {
	t.Helper()
	if !constrainedSGTIN(uri) {
		return
	}
	if got, ok := constrainAny(uri); !ok || got != uri {
		t.Fatalf("constrainAny(%q) = %q, %v; the fast path returns it unchanged", uri, got, ok)
	}
}

// FuzzConstrainedSGTIN holds the fast path to the whole of constrainDL.
func FuzzConstrainedSGTIN(f *testing.F) {
	f.Add("https://id.gs1.org/01/09506000134352/21/S1")
	f.Add("https://id.gs1.org/01/09506000134352/21/A;B=C'")
	f.Fuzz(func(t *testing.T, serial string) {
		checkConstrainedSGTIN(t, "https://id.gs1.org/01/09506000134352/21/"+serial)
		checkConstrainedSGTIN(t, serial)
	})
}

// keyWithValue, the oracle of anyKeyWithValue, reports whether s contains "/key/" at or after from and
// before limit, followed by four digits and a character other than '/'.
func keyWithValue(s string, key string, from, limit int) bool {
	for i := from; i < limit; {
		j := indexSegment(s[i:limit], key)
		if j < 0 {
			return false
		}
		k := i + j + len(key) + 2
		if allDigits(s[min(k, len(s)):min(k+4, len(s))], 4, 4) && k+4 < len(s) && s[k+4] != '/' {
			return true
		}
		i += j + 1
	}
	return false
}

// indexSegment is strings.Index(s, "/"+key+"/") without building the
// pattern.
func indexSegment(s, key string) int {
	for off := 1; off+len(key) < len(s); {
		j := strings.Index(s[off:len(s)-1], key)
		if j < 0 {
			return -1
		}
		p := off + j
		if s[p-1] == '/' && s[p+len(key)] == '/' {
			return p - 1
		}
		off = p + 1
	}
	return -1
}

// FuzzAnyKeyWithValue holds the one-pass search of constrainDL to
// keyWithValue over every key.
func FuzzAnyKeyWithValue(f *testing.F) {
	for _, s := range []string{"https://id.gs1.org/01/09506000134352/21/S1", "https://ref.gs1.org/cbv/BizStep-shipping",
		"https://example.com/a/01/1234x?q=/414/12345", "/01/01/1234x", "https://x.y//gtin//12345/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		limit := len(s)
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			limit = i
		}
		want := false
		for _, k := range dlKeys() {
			want = want || keyWithValue(s, k, 0, limit)
		}
		if got := anyKeyWithValue(s, limit); got != want {
			t.Fatalf("anyKeyWithValue(%q) = %v, keyWithValue over the keys %v", s, got, want)
		}
	})
}

func TestCanonDigitalLink(t *testing.T) {
	for in, want := range map[string]string{
		"urn:epc:id:sgtin:4012345.011111.9876":             "https://id.gs1.org/01/04012345111118/21/9876",
		"urn:epc:id:sscc:4012345.3111111111":               "https://id.gs1.org/00/340123451111111111",
		"urn:epc:id:sgln:4012345.00005.0":                  "https://id.gs1.org/414/4012345000054",
		"urn:epc:id:grai:987654321098..A1":                 "https://id.gs1.org/8003/09876543210982A1",
		"urn:epc:idpat:sgtin:4012345.066666.*":             "https://id.gs1.org/01/04012345666663",
		"urn:epc:class:lgtin:4012345.012345.Lot(1)":        "https://id.gs1.org/01/04012345123456/10/Lot%281%29",
		"https://example.com/gtin/9780345418913/ser/1?x=y": "https://id.gs1.org/01/09780345418913/21/1",
		"http://id.gs1.org/01/09506000134352/10/L1/21/S1":  "https://id.gs1.org/01/09506000134352/21/S1",
		"https://id.gs1.org/01/09506000134352/22/V1/10/L1": "https://id.gs1.org/01/09506000134352/10/L1",
	} {
		if got, ok := canonDigitalLink(in); !ok || got != want {
			t.Errorf("canonDigitalLink(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"urn:epc:id:sgtin:4012345.01111.9876", "urn:epc:id:sscc:4012345.311111111",
		"urn:epc:id:sgtin:4012345.011111.a%", "https://example.com/01/123", "https://id.gs1.org/01/09506000134352/21/a%2Fb",
		"geo:50.9,6.9", "https://example.com/page"} {
		if got, ok := canonDigitalLink(in); ok {
			t.Errorf("canonDigitalLink(%q) = %q, want no conversion", in, got)
		}
	}
}

func TestDecodeEventErrors(t *testing.T) {
	base := `"type":"ObjectEvent","eventTime":"2026-01-01T00:00:00Z","eventTimeZoneOffset":"+00:00","action":"ADD","epcList":[]`
	for body, want := range map[string]string{
		`{"type":"ObjectEvent","eventTime":"yesterday","eventTimeZoneOffset":"+00:00","action":"ADD","epcList":[]}`: "epcis: eventTime: not RFC 3339",
		`{` + base + `,"bizStep":"transforming"}`:                              `epcis: bizStep: "transforming" is neither a standard vocabulary term nor a URI`,
		`{` + base + `,"ex:x":1}`:                                              `epcis: ex:x: undefined namespace prefix "ex"`,
		`{` + base + `,"quantityList":[{"epcClass":"a:b","quantity":"2"}]}`:    "epcis: quantityList[0].quantity: not a number",
		`{` + base + `,"sensorElementList":[{"sensorMetadata":{"time":"x"}}]}`: "epcis: sensorElementList[0].sensorMetadata.time: not RFC 3339",
		`{"type":"Bogus"}`:      `epcis: type: unknown event type "Bogus"`,
		`[1]`:                   "epcis: event is not a JSON object",
		`{"type":"ObjectEvent"`: "epcis: invalid JSON",
	} {
		_, err := DecodeEvent([]byte(body))
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("DecodeEvent(%s) = %v, want %q", body, err, want)
		}
	}
}

// TestHashInvariants checks that spelling differences that do not change
// an event do not change its hash, and that content changes do.
func TestHashInvariants(t *testing.T) {
	h := func(s string) string {
		t.Helper()
		got, err := HashJSON([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	ref := h(benchEvent)
	same := []string{
		strings.Replace(benchEvent, `"2026-03-14T09:26:53.589+01:00"`, `"2026-03-14T08:26:53.5890Z"`, 1),
		strings.Replace(benchEvent, `urn:epc:id:sgtin:4012345.011111.K7Q2M9X4`, `https://example.com/01/04012345111118/21/K7Q2M9X4?17=280131`, 1),
		strings.Replace(benchEvent, `"dispensing"`, `"urn:epcglobal:cbv:bizstep:dispensing"`, 1),
		strings.Replace(benchEvent, `"dispensed"`, `"cbv:Disp-dispensed"`, 1),
		strings.Replace(benchEvent, `"action"`, `"eventID": "urn:uuid:1", "recordTime": "2027-01-01T00:00:00Z", "action"`, 1),
	}
	for i, s := range same {
		if got := h(s); got != ref {
			t.Errorf("variant %d hashes to %s, want %s", i, got, ref)
		}
	}
	changed := []string{
		strings.Replace(benchEvent, `K7Q2M9X4`, `K7Q2M9X5`, 1),
		strings.Replace(benchEvent, `.589+`, `.588+`, 1),
		strings.Replace(benchEvent, `"OBSERVE"`, `"ADD"`, 1),
	}
	for i, s := range changed {
		if got := h(s); got == ref {
			t.Errorf("change %d does not change the hash", i)
		}
	}
}

// TestIndexSegment holds indexSegment to strings.Index of the pattern it
// stands for.
func TestIndexSegment(t *testing.T) {
	for _, s := range []string{"", "/", "//", "/01/", "01/", "/01", "x/01/y", "/0/01/", "/001/01/", "https://id.gs1.org/01/09506000134352/21/A/01/",
		"/01//01/", "a/b/01", "/gtin/0950/", "/0101/01/"} {
		for _, key := range []string{"01", "0", "gtin", "21"} {
			if got, want := indexSegment(s, key), strings.Index(s, "/"+key+"/"); got != want {
				t.Errorf("indexSegment(%q, %q) = %d, want %d", s, key, got, want)
			}
		}
	}
}

func FuzzIndexSegment(f *testing.F) {
	f.Add("https://id.gs1.org/01/09506000134352/21/A", "01")
	f.Fuzz(func(t *testing.T, s, key string) {
		if key == "" {
			return
		}
		if got, want := indexSegment(s, key), strings.Index(s, "/"+key+"/"); got != want {
			t.Errorf("indexSegment(%q, %q) = %d, want %d", s, key, got, want)
		}
	})
}
