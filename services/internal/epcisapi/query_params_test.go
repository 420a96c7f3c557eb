package epcisapi

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/epcis"
)

// TestParseParamsRefuses names the parameter of every refusal.
func TestParseParamsRefuses(t *testing.T) {
	for q, param := range map[string]string{
		"EQ_colour=red":                "EQ_colour",
		"eventType=ObjectEvent|Sensor": "eventType",
		"EQ_action=add":                "EQ_action",
		"GE_eventTime=2024-01-01":      "GE_eventTime",
		"LT_recordTime=2024-01-01T00:00:00Z&LT_recordTime=2024-01-02T00:00:00Z": "LT_recordTime",
		"perPage=1001":                   "perPage",
		"perPage=x":                      "perPage",
		"stream=yes":                     "stream",
		"MATCH_epc=urn:epc:id:sgtin:1.2": "MATCH_epc",
		"MATCH_epc=":                     "MATCH_epc",
		"EQ_readPoint=a b":               "EQ_readPoint",
		"EQ_bizStep=ship ping":           "EQ_bizStep",
		"EQ_source_=x":                   "EQ_source_",
		"EQ_source_owning_party=nouri":   "EQ_source_owning_party",
		"EQ_eventID=" + strings.Repeat("x|", maxValues+1): "EQ_eventID",
	} {
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ParseParams(v)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != param {
			t.Errorf("%s: %v, want a ParamError naming %s", q, err, param)
		}
	}
}

// TestMatchForms checks that a value matches the event whatever form
// (bare word, URN, Web URI; EPC URN or Digital Link) either side uses.
func TestMatchForms(t *testing.T) {
	ev := &epcis.Event{
		Type: epcis.ObjectEvent, Action: "OBSERVE", EventTime: "2024-05-01T10:00:00+02:00",
		BizStep: "urn:epcglobal:cbv:bizstep:shipping", Disposition: "https://ref.gs1.org/cbv/Disp-in_transit",
		EPCList:      []string{"urn:epc:id:sgtin:0614141.107346.2018"},
		QuantityList: []epcis.QuantityElement{{EPCClass: "https://id.gs1.org/01/04012345123456/10/998877"}},
		ReadPoint:    &epcis.Location{ID: "https://example.com/414/0614141073467"},
		SourceList:   []epcis.SourceDest{{Type: "urn:epcglobal:cbv:sdt:owning_party", ID: "urn:epc:id:pgln:0614141.00000"}},
	}
	rec := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	for q, want := range map[string]bool{
		"EQ_bizStep=shipping":                                         true,
		"EQ_bizStep=receiving|shipping":                               true,
		"EQ_bizStep=receiving":                                        false,
		"EQ_disposition=urn:epcglobal:cbv:disp:in_transit":            true,
		"MATCH_epc=https://id.gs1.org/01/10614141073464/21/2018":      true,
		"MATCH_epc=urn:epc:idpat:sgtin:0614141.107346.*":              true,
		"MATCH_epc=urn:epc:idpat:sgtin:0614141.107347.*":              false,
		"MATCH_parentID=urn:epc:id:sgtin:0614141.107346.2018":         false,
		"MATCH_epcClass=urn:epc:class:lgtin:4012345.012345.998877":    true,
		"EQ_readPoint=urn:epc:id:sgln:0614141.07346.0":                true,
		"EQ_source_owning_party=https://id.gs1.org/417/0614141000005": true,
		"EQ_source_owning_party=https://id.gs1.org/417/0614141000012": false,
		"GE_eventTime=2024-05-01T08:00:00Z":                           true,
		"GE_eventTime=2024-05-01T08:00:00.001Z":                       false,
		"LT_recordTime=2024-05-01T09:00:00Z":                          false,
		"GE_recordTime=2024-05-01T11:00:00%2B02:00":                   true,
		"EQ_action=ADD":         false,
		"eventType=ObjectEvent": true,
	} {
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseParams(v)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if got := p.Match(ev, rec); got != want {
			t.Errorf("%s: match %v, want %v", q, got, want)
		}
	}
}

// FuzzParseParams: no query string makes the parser or the matcher panic,
// and what parses matches without error.
func FuzzParseParams(f *testing.F) {
	for _, s := range []string{"", "eventType=ObjectEvent", "MATCH_epc=urn:epc:idpat:sgtin:0614141.107346.*",
		"EQ_bizTransaction_po=urn:x|y", "GE_eventTime=2024-05-01T08:00:00Z&perPage=5", "EQ_source_owning_party=urn:epc:id:pgln:0614141.00000",
		"MATCH_anyEPC=https://id.gs1.org/00/106141412345678908", "EQ_bizStep=cbv:BizStep-shipping,receiving"} {
		f.Add(s)
	}
	ev := &epcis.Event{Type: epcis.ObjectEvent, Action: "ADD", EventTime: "2024-05-01T10:00:00Z", EPCList: []string{"urn:epc:id:sgtin:0614141.107346.2018"}}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		p, err := ParseParams(v)
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) || pe.Param == "" {
				t.Fatalf("%q: %v is no ParamError naming a parameter", s, err)
			}
			return
		}
		p.Match(ev, time.Unix(0, 0))
	})
}
