package epcis

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const refDir = "testdata/epcis-event-hash-generator/tests"

// skippedDocs lists the reference documents whose expected hashes this
// package does not check, with the reason.
func skippedDocs() map[string]string {
	const xmlOnly = "XML only: the package decodes the JSON-LD binding"
	return map[string]string{
		"SensorDataExamples":                                    xmlOnly,
		"epcisDocWith2DifferentTransformationEvents":            xmlOnly,
		"epcisDocWithTransformationEventWithExtension":          xmlOnly,
		"epcisDocWithTransformationEventWithMultipleExtensions": xmlOnly,
		"epcisXmlDocHavingEventWithIgnoreFields":                xmlOnly,
		"epcisXmlQueryDocHavingEventWithIgnoreFields":           xmlOnly,
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func niHash(pre string) string {
	sum := sha256.Sum256([]byte(pre))
	return "ni:///sha-256;" + hex.EncodeToString(sum[:]) + "?ver=CBV2.0"
}

// TestReferenceHashes checks every expected event hash of the reference
// implementation's examples, and the pre-hash string wherever the upstream
// .prehashes line is consistent with the upstream .hashes line (a few
// .prehashes files are stale upstream: their SHA-256 is not the expected
// hash, so they cannot be the pre-hash of that event).
func TestReferenceHashes(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(refDir, "examples", "*.hashes"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	skipped := skippedDocs()
	var compared, matched, skippedHashes, preCompared, preMatched, preStale int
	for _, hf := range files {
		base := strings.TrimSuffix(hf, ".hashes")
		name := filepath.Base(base)
		want := readLines(t, hf)
		if reason, ok := skipped[name]; ok {
			if _, err := os.Stat(base + ".jsonld"); err == nil {
				t.Errorf("%s is listed as skipped (%s) but has a JSON-LD document", name, reason)
			}
			skippedHashes += len(want)
			t.Logf("skip %s (%d hashes): %s", name, len(want), reason)
			continue
		}
		data, err := os.ReadFile(base + ".jsonld")
		if err != nil {
			t.Errorf("%s: no JSON-LD document and not listed as skipped: %v", name, err)
			continue
		}
		doc, err := Decode(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var pres []string
		if _, err := os.Stat(base + ".prehashes"); err == nil {
			pres = readLines(t, base+".prehashes")
		}
		if len(doc.Events) != len(want) {
			t.Errorf("%s: %d events, %d expected hashes", name, len(doc.Events), len(want))
		}
		for i := range doc.Events {
			if i >= len(want) {
				break
			}
			compared++
			pre, err := PreHash(&doc.Events[i])
			if err != nil {
				t.Errorf("%s[%d]: %v", name, i, err)
				continue
			}
			got, _ := Hash(&doc.Events[i])
			if got == want[i] {
				matched++
			} else {
				t.Errorf("%s[%d]: hash\n got %s\nwant %s\n pre %s", name, i, got, want[i], pre)
			}
			if i < len(pres) {
				if niHash(pres[i]) != want[i] {
					preStale++
					continue
				}
				preCompared++
				if pre == pres[i] {
					preMatched++
				} else {
					t.Errorf("%s[%d]: pre-hash\n got %s\nwant %s", name, i, pre, pres[i])
				}
			}
		}
	}
	t.Logf("hashes: %d compared, %d matched, %d skipped (XML only); pre-hash strings: %d compared, %d matched, %d stale upstream lines not compared",
		compared, matched, skippedHashes, preCompared, preMatched, preStale)
}

// TestReferenceExpectedEqual checks that all events of each JSON-LD
// document in tests/expected_equal hash the same.
func TestReferenceExpectedEqual(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(refDir, "expected_equal", "*"))
	if err != nil {
		t.Fatal(err)
	}
	groups := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".xml") {
			t.Logf("skip %s: XML only", filepath.Base(f))
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := Decode(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		hashes, err := doc.Hashes()
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(hashes) < 2 {
			t.Errorf("%s: %d events, want a group of at least 2", f, len(hashes))
		}
		for i, h := range hashes {
			if h != hashes[0] {
				t.Errorf("%s: event %d hashes to %s, event 0 to %s", f, i, h, hashes[0])
			}
		}
		groups++
	}
	t.Logf("expected_equal: %d JSON-LD groups checked", groups)
}
