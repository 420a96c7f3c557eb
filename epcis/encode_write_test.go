package epcis

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzAppendJSONString checks that the encoder quotes every string as
// encoding/json does with HTML escaping off, so that the compact bytes
// kept with an event are the ones encoding/json would have written.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\r\b\f", "\x00\x01\x1f\x7f",
		"<html>&amp;", "bad \xff utf-8 \xc3", "line sep \u2028 para \u2029", "emoji 🙂 and é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		got := appendJSONString(nil, s)
		if !bytes.Equal(got, bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Fatalf("%q: got %s, encoding/json writes %s", s, got, want.Bytes())
		}
	})
}
