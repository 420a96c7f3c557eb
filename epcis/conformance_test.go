package epcis

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const refDir = "testdata/epcis-event-hash-generator/tests"

// divergence is an upstream expected pre-hash this package does not
// reproduce on purpose: upstream writes From where the package writes To.
type divergence struct {
	From, To, Reason string
}

// knownDivergences lists, by "document[event]", the expected hashes the
// package does not reproduce, with the reason. The test checks that
// replacing From by To in the package's pre-hash gives exactly the
// expected hash, so that nothing else differs.
func knownDivergences() map[string]divergence {
	return map[string]divergence{}
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

// decodeFile decodes a JSON-LD or XML document by its file name.
func decodeFile(t *testing.T, path string) (*Document, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".xml") {
		return DecodeXML(data)
	}
	return Decode(data)
}

// TestReferenceHashes checks every expected event hash of the reference
// implementation's examples against every binding of the document present
// (JSON-LD, XML or both), and the pre-hash string wherever the upstream
// .prehashes line is consistent with the upstream .hashes line (a few
// .prehashes files are stale upstream: their SHA-256 is not the expected
// hash, so they cannot be the pre-hash of that event).
func TestReferenceHashes(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(refDir, "examples", "*.hashes"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	diverge := knownDivergences()
	var expected, compared, matched, diverged, preCompared, preMatched, preStale int
	reproduced := map[string]bool{}
	for _, hf := range files {
		base := strings.TrimSuffix(hf, ".hashes")
		name := filepath.Base(base)
		want := readLines(t, hf)
		expected += len(want)
		var pres []string
		if _, err := os.Stat(base + ".prehashes"); err == nil {
			pres = readLines(t, base+".prehashes")
		}
		found := 0
		for _, ext := range []string{".jsonld", ".xml"} {
			if _, err := os.Stat(base + ext); err != nil {
				continue
			}
			found++
			doc, err := decodeFile(t, base+ext)
			if err != nil {
				t.Errorf("%s%s: %v", name, ext, err)
				continue
			}
			if len(doc.Events) != len(want) {
				t.Errorf("%s%s: %d events, %d expected hashes", name, ext, len(doc.Events), len(want))
			}
			for i := range doc.Events {
				if i >= len(want) {
					break
				}
				compared++
				key := fmt.Sprintf("%s[%d]", name, i)
				pre, err := PreHash(&doc.Events[i])
				if err != nil {
					t.Errorf("%s%s[%d]: %v", name, ext, i, err)
					continue
				}
				got, _ := Hash(&doc.Events[i])
				if d, ok := diverge[key]; ok {
					if got == want[i] || !strings.Contains(pre, d.From) || niHash(strings.Replace(pre, d.From, d.To, 1)) != want[i] {
						t.Errorf("%s%s: listed divergence (%s) does not account for the difference", key, ext, d.Reason)
					}
					diverged++
					continue
				}
				if got == want[i] {
					matched++
					reproduced[key] = true
				} else {
					t.Errorf("%s%s[%d]: hash\n got %s\nwant %s\n pre %s", name, ext, i, got, want[i], pre)
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
						t.Errorf("%s%s[%d]: pre-hash\n got %s\nwant %s", name, ext, i, pre, pres[i])
					}
				}
			}
		}
		if found == 0 {
			t.Errorf("%s: neither a JSON-LD nor an XML document", name)
		}
	}
	if len(reproduced)+len(diverge) != expected {
		t.Errorf("%d of %d expected hashes reproduced, %d known divergences", len(reproduced), expected, len(diverge))
	}
	t.Logf("%d of %d expected hashes reproduced, %d known divergence(s) accounted for; %d (document, event) pairs compared, %d matched, %d diverged; pre-hash strings: %d compared, %d matched, %d stale upstream lines not compared",
		len(reproduced), expected, len(diverge), compared, matched, diverged, preCompared, preMatched, preStale)
}

// TestReferenceExpectedEqual checks that all events of each document
// (JSON-LD or XML) in tests/expected_equal hash the same.
func TestReferenceExpectedEqual(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(refDir, "expected_equal", "*"))
	if err != nil {
		t.Fatal(err)
	}
	groups := 0
	for _, f := range files {
		doc, err := decodeFile(t, f)
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
	t.Logf("expected_equal: %d groups checked", groups)
	if groups != len(files) {
		t.Errorf("%d of %d groups checked", groups, len(files))
	}
}
