package epcis

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecodeXML feeds arbitrary bytes to DecodeXML. Nothing may panic;
// errors must be FieldErrors; a decoded document must hash, be written
// back by EncodeXML and read again to the same hashes. Seeds are small
// XML documents of the corpus and testdata/fuzz/FuzzDecodeXML.
func FuzzDecodeXML(f *testing.F) {
	f.Add([]byte(xmlDoc(okEvent)))
	for _, dir := range []string{refDir + "/examples", refDir + "/expected_equal", openepcisXML + "/Capture/Documents", openepcisResources + "/1.2/EPCIS/XML/Capture/Documents"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil && len(data) < 8<<10 {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := DecodeXML(data)
		if err != nil {
			checkErr(t, err)
			return
		}
		hashes, err := doc.Hashes()
		if err != nil {
			t.Fatalf("decoded document does not hash: %v", err)
		}
		out, err := EncodeXML(doc)
		if err != nil {
			t.Fatalf("decoded document does not encode: %v", err)
		}
		back, err := DecodeXML(out)
		if err != nil {
			t.Fatalf("encoded document does not decode: %v\n%s", err, out)
		}
		again, err := back.Hashes()
		if err != nil || strings.Join(again, " ") != strings.Join(hashes, " ") {
			t.Fatalf("hashes change in the round trip: %v\n%v\n%v", err, hashes, again)
		}
	})
}
