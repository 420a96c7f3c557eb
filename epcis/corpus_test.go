package epcis

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	openepcisResources = "testdata/openepcis-test-resources/core/src/main/resources"
	openepcisJSON      = openepcisResources + "/2.0/EPCIS/JSON"
	openepcisXML       = openepcisResources + "/2.0/EPCIS/XML"
)

// acceptedDespiteSchema lists documents the EPCIS JSON schema rejects that
// Decode accepts on purpose, with the reason.
func acceptedDespiteSchema() map[string]string {
	return map[string]string{
		// The schema wants sourceList to be an array; a single object is
		// unambiguous and hashes the same.
		"gs1-EPCIS/JSON-simple-context/Example-TransactionEvents-2020_07_03y.jsonld": "single-object list",
		// Schema rules on members the hash does not read.
		"gs1-EPCIS/JSON-simple-context/WithSensorData/SensorDataExample12.jsonld": "no schemaVersion",
		"gs1-EPCIS/JSON-simple-context/WithSensorData/SensorDataExample17.jsonld": "numeric schemaVersion",
		// sensorReport.type is optional in the EPCIS 2.0 standard (and in the
		// XML schema); the JSON schema alone requires it.
		"openepcis-test-resources/core/src/main/resources/2.0/EPCIS/JSON/Capture/Documents/SensorData_with_combined_events.json": "sensorReport without type",
		"openepcis-test-resources/core/src/main/resources/2.0/EPCIS/JSON/Query/SensorData_with_combined_events.json":             "sensorReport without type",
		// The schema wants bare CBV terms in JSON; the URN form is
		// canonicalised to the same Web URI, so the hash is unaffected.
		"gs1-EPCIS/XML/WithEventHashID/event_with_identical_hash_id_7.json": "CBV URN in JSON",
		// @context is what JSON-LD needs, but without one the standard
		// context is implied and the event is still well defined.
		"openepcis-test-resources/core/src/main/resources/2.0/EPCIS/JSON/Capture/Invalid/EPCISDocument_without_context.json": "no @context",
	}
}

// refusedDespiteSchema lists documents the EPCIS JSON schema accepts that
// Decode refuses on purpose, with the reason.
func refusedDespiteSchema() map[string]string {
	const inv = "openepcis-test-resources/core/src/main/resources/2.0/EPCIS/JSON/"
	nonStandard := "bare word that is not a CBV term (CBV: user vocabulary must be a URI)"
	return map[string]string{
		inv + "Capture/Invalid/Combination_of_non_standard_bizStep_and_disposition.json":   nonStandard,
		inv + "Capture/Invalid/ObjectEvent_with_non_standard_bizStep.json":                 nonStandard,
		inv + "Capture/Invalid/ObjectEvent_with_non_standard_bizStep_in_second_event.json": nonStandard,
		inv + "Capture/Invalid/ObjectEvent_with_non_standard_disposition.json":             nonStandard,
		inv + "Capture/Invalid/ObjectEvent_with_ilmd_field_without_namespace.json":         "ILMD member without namespace (JSON-LD would drop it)",
		inv + "Capture/Invalid/ObjectEvent_with_invalid_eventTime_format.json":             "eventTime not RFC 3339",
		inv + "Query/Invalid/QueryDocument_with_invalid_eventType.json":                    "unknown event type",
	}
}

// TestSchemaVerdicts decodes every JSON document of the conformance corpus
// that is present in testdata and checks the verdict against the EPCIS
// JSON schema's (derived_schema_validation.tsv).
func TestSchemaVerdicts(t *testing.T) {
	lines := readLines(t, "testdata/derived_schema_validation.tsv")
	accepted, refusedOK := acceptedDespiteSchema(), refusedDespiteSchema()
	var ok, refused, absent int
	for _, l := range lines[1:] {
		cols := strings.Split(l, "\t")
		file, verdict := cols[0], cols[1]
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			absent++
			continue
		}
		_, err = Decode(data)
		wantOK := verdict == "VALID"
		if reason, listed := accepted[file]; listed {
			if err != nil {
				t.Errorf("%s (accepted: %s): %v", file, reason, err)
			}
			continue
		}
		if reason, listed := refusedOK[file]; listed {
			if err == nil {
				t.Errorf("%s (refused: %s): accepted", file, reason)
			}
			continue
		}
		switch {
		case wantOK && err != nil:
			t.Errorf("%s: schema-valid but refused: %v", file, err)
		case !wantOK && err == nil:
			t.Errorf("%s: schema-invalid (%s) but accepted", file, cols[2])
		case wantOK:
			ok++
		default:
			refused++
		}
	}
	t.Logf("%d valid documents accepted, %d invalid refused, %d not in testdata", ok, refused, absent)
}

// TestOpenEPCISInvalid checks that every document in the Invalid folders is
// refused with a FieldError.
func TestOpenEPCISInvalid(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(openepcisJSON, "*", "Invalid", "*.json"))
	accepted := acceptedDespiteSchema()
	for _, f := range files {
		if _, ok := accepted[strings.TrimPrefix(f, "testdata/")]; ok {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(data); err == nil {
			t.Errorf("%s: accepted", f)
		} else {
			t.Logf("%s: %v", filepath.Base(f), err)
		}
	}
}

// TestOpenEPCISEqualHashLists replays the openepcis-event-hash-generator
// tests that assert equal hash lists for two documents: the capture and
// query form of the same events, or their JSON-LD and XML bindings.
func TestOpenEPCISEqualHashLists(t *testing.T) {
	data, err := os.ReadFile("testdata/openepcis-event-hash-generator/derived/hash_equivalence_tests.json")
	if err != nil {
		t.Fatal(err)
	}
	var derived struct {
		Tests []struct {
			Test      string
			Resources []string
			Assertion string
			CBV21     bool `json:"uses_cbv_2_1_generator"`
		}
	}
	if err := json.Unmarshal(data, &derived); err != nil {
		t.Fatal(err)
	}
	// The openepcis implementation reads prefixed values in XML
	// (component="example:x", type="example:someSensorProperty") and the
	// namespace urn:epcglobal:cbv:mda as JSON-LD would; the reference
	// implementation, whose vectors pin the XML pre-hash
	// (SensorDataExamples: type=example:someSensorProperty,
	// {urn:epcglobal:cbv:mda}lotNumber), keeps both as written. The package
	// follows the reference; these pairs are compared with the JSON-LD
	// reading of their XML member.
	divergent := map[string]string{
		"sensorDataTest":           "sensor type and component CURIEs with the example: prefix",
		"xmlVsJsonCaptureDocument": "sensor type CURIE with the example: prefix",
		"objectEventAllFieldsTest": "ILMD fields in urn:epcglobal:cbv:mda, without the trailing ':'",
	}
	pairs := 0
	for _, tc := range derived.Tests {
		if tc.Assertion != "hash lists equal" || tc.CBV21 || len(tc.Resources) != 2 {
			continue
		}
		reason, diverges := divergent[tc.Test]
		var lists [2][]string
		for i, r := range tc.Resources {
			doc, err := decodeFile(t, filepath.Join(openepcisResources, r))
			if diverges && err == nil && strings.HasSuffix(r, ".xml") {
				var plain []string
				if plain, err = doc.Hashes(); err != nil {
					t.Fatalf("%s: %s: %v", tc.Test, r, err)
				}
				// the listed divergence must be real…
				raw, _ := os.ReadFile(filepath.Join(openepcisResources, r))
				doc, err = decodeXML(raw, true)
				if err == nil {
					if h, _ := doc.Hashes(); strings.Join(h, " ") == strings.Join(plain, " ") {
						t.Errorf("%s: listed as divergent (%s), but reading CURIEs as JSON-LD changes nothing", tc.Test, reason)
					}
				}
			}
			if err != nil {
				t.Fatalf("%s: %s: %v", tc.Test, r, err)
			}
			if lists[i], err = doc.Hashes(); err != nil {
				t.Fatalf("%s: %s: %v", tc.Test, r, err)
			}
		}
		// …and all there is: with CURIEs read as JSON-LD, the lists agree.
		if strings.Join(lists[0], "\n") != strings.Join(lists[1], "\n") {
			t.Errorf("%s: hash lists differ:\n%v\n%v", tc.Test, lists[0], lists[1])
		}
		if diverges {
			t.Logf("%s: equal once XML CURIEs are read as JSON-LD (%s)", tc.Test, reason)
		}
		pairs++
	}
	t.Logf("%d pairs compared", pairs)
}
