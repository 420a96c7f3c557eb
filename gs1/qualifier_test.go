package gs1

import "testing"

func TestQualifiersInQuery(t *testing.T) {
	uri := "https://example.com/01/09506000134352/21/ABC?10=LOT1&17=281200"
	if _, err := Parse(uri); err == nil {
		t.Fatal("strict parsing accepted the lot as a query parameter")
	}
	r, err := Options{PermitQualifiersInQuery: true}.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	if r.GTIN != "09506000134352" || r.Serial != "ABC" || r.Lot != "LOT1" || r.Expiry != "281200" {
		t.Fatalf("parsed %+v", r)
	}
}
