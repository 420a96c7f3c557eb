package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// epcisExamples is the reference hash generator's examples folder in the
// epcis package's test data.
const epcisExamples = "../../epcis/testdata/epcis-event-hash-generator/tests/examples/"

func TestEPCISHash(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct{ name, file, stdin, hashes string }{
		{"JSON-LD file", epcisExamples + "epcisDocWithShippingAndTransportingEvent.jsonld", "", "epcisDocWithShippingAndTransportingEvent.hashes"},
		{"XML file", epcisExamples + "epcisQueryDocument.xml", "", "epcisQueryDocument.hashes"},
		{"XML on stdin", "-", epcisExamples + "epcisDocWithVariousEventTypes.xml", "epcisDocWithVariousEventTypes.hashes"},
	} {
		stdin := ""
		if tc.stdin != "" {
			data, err := os.ReadFile(tc.stdin)
			if err != nil {
				t.Fatal(err)
			}
			stdin = string(data)
		}
		want, err := os.ReadFile(epcisExamples + tc.hashes)
		if err != nil {
			t.Fatal(err)
		}
		out, errOut, ok := runPedigree(ctx, t, stdin, nil, "epcis", "hash", tc.file)
		if !ok {
			t.Errorf("%s: failed: %s", tc.name, errOut)
			continue
		}
		if strings.TrimSpace(out) != strings.TrimSpace(strings.ReplaceAll(string(want), "\r", "")) {
			t.Errorf("%s: printed\n%s\nwant\n%s", tc.name, out, want)
		}
	}
	bad := `<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"><EPCISBody><EventList>
<ObjectEvent><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><action>ADD</action><epcList/></ObjectEvent>
</EventList></EPCISBody></epcis:EPCISDocument>`
	_, errOut, ok := runPedigree(ctx, t, bad, nil, "epcis", "hash", "-")
	if ok || !strings.Contains(errOut, "line 2") || !strings.Contains(errOut, "eventTime: missing") {
		t.Errorf("invalid document: ok=%v, stderr %q", ok, errOut)
	}
	if _, errOut, ok := runPedigree(ctx, t, "hello", nil, "epcis", "hash", "-"); ok || !strings.Contains(errOut, "want an EPCIS document") {
		t.Errorf("neither JSON nor XML: ok=%v, stderr %q", ok, errOut)
	}
}
