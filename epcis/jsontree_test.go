package epcis

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"
)

// unmarshalStd is what unmarshal replaced: encoding/json into an any
// with UseNumber, which reads a repeated name's last value and replaces
// invalid UTF-8 (an unpaired surrogate escape included). The oracle of the differential tests.
func unmarshalStd(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, io.ErrUnexpectedEOF
	}
	return v, nil
}

// agreeWithStd fails t unless unmarshal reads data as encoding/json does,
// or refuses it for the one reason encoding/json lets pass: invalid UTF-8
// (an unpaired surrogate escape included).
func agreeWithStd(t *testing.T, data []byte) {
	t.Helper()
	got, err := unmarshal(data)
	want, stdErr := unmarshalStd(data)
	switch {
	case err == nil && stdErr != nil:
		t.Fatalf("%.200q: read as %v; encoding/json refuses it: %v", data, got, stdErr)
	case err == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("%.200q: read as\n%#v\nencoding/json reads\n%#v", data, got, want)
	case err != nil && stdErr == nil:
		if msg := err.Error(); !utf8.Valid(data) || strings.Contains(msg, "invalid surrogate") {
			return
		}
		t.Fatalf("%.200q: refused (%v); encoding/json reads %#v", data, err, want)
	case err != nil && !strings.HasPrefix(err.Error(), "epcis: invalid JSON: "):
		t.Fatalf("%.200q: error %q does not say invalid JSON", data, err)
	}
}

// TestUnmarshalAgreesWithEncodingJSON reads every JSON file of the
// project's EPCIS test data both ways, and the edge cases of the syntax.
func TestUnmarshalAgreesWithEncodingJSON(t *testing.T) {
	var files []string
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".jsonld")) {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 50 {
		t.Fatalf("%d JSON files in testdata", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		agreeWithStd(t, data)
	}
	for _, s := range jsonEdgeCases {
		agreeWithStd(t, []byte(s))
	}
}

var jsonEdgeCases = []string{
	``, ` `, `{`, `}`, `[`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{1:2}`, `01`, `-`, `1.`, `1e`, `-0`, `1E+2`, `0.5e-10`,
	`12345678901234567890123456789`, `"\u00e9\ud83d\ude00"`, `"\ud800"`, `"\x"`, `"a` + "\n" + `b"`, `"\/"`,
	`{"a":1,"a":2}`, `{"a":{"b":1,"b":1}}`, `{"a":1} {"b":2}`, `{"a":1}x`, `[] `, "\xff", `"` + "\xc3\x28" + `"`,
	`null`, `true`, `false`, `nul`, `[true,false,null,{"":""}]`, strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat("[", 9999) + strings.Repeat("]", 9999),
}

// TestUnmarshalRefusesInvalidUTF8 refuses what would be read differently
// from its bytes, and keeps a repeated name's last value.
func TestUnmarshalRefusesInvalidUTF8(t *testing.T) {
	for doc, want := range map[string]string{
		`{"type":"` + "\xff" + `"}`:   "invalid UTF-8",
		`{"type":"\udc00"}`:           "invalid surrogate",
		`{"type":"EPCISDocument"} {}`: "data after the top-level value",
	} {
		_, err := unmarshal([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to say %q", doc, err, want)
		}
	}
	v, err := unmarshal([]byte(`{"action":"ADD","action":"DELETE"}`))
	if err != nil || v.(map[string]any)["action"] != "DELETE" {
		t.Errorf("repeated name: %v, %v; want its last value", v, err)
	}
}

// FuzzUnmarshal holds unmarshal to encoding/json on any input.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range jsonEdgeCases {
		f.Add([]byte(s))
	}
	f.Add([]byte(benchEvent))
	f.Add(benchDocument(3))
	f.Fuzz(func(t *testing.T, data []byte) {
		agreeWithStd(t, data)
	})
}

// BenchmarkUnmarshal reads a 1,000-event capture document into generic
// values, with unmarshal and with encoding/json.
func BenchmarkUnmarshal(b *testing.B) {
	data := benchDocument(1000)
	for _, c := range []struct {
		name string
		fn   func([]byte) (any, error)
	}{{"jsontext", unmarshal}, {"encoding-json", unmarshalStd}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			cpu0 := processCPU()
			for b.Loop() {
				if _, err := c.fn(data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU time the process used so far, in ns: on a shared
// machine a benchmark's cost, where its wall time is not.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
