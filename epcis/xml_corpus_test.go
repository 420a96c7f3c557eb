package epcis

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// xmlCorpusDirs are the folders of XML documents copied from the
// conformance material (the reference hash examples are checked by
// TestReferenceHashes).
var xmlCorpusDirs = []string{
	"testdata/gs1-EPCIS/XML",
	openepcisXML,
	openepcisResources + "/1.2/EPCIS/XML",
}

// xmlRefused lists documents outside the Invalid folders that DecodeXML
// refuses, with the reason.
func xmlRefused() map[string]string {
	const (
		v12        = "openepcis-test-resources/core/src/main/resources/1.2/EPCIS/XML/Capture/Documents/"
		q20        = "openepcis-test-resources/core/src/main/resources/2.0/EPCIS/XML/Query/"
		notEvents  = "not an event document (master data, capture job, query)"
		noSeconds  = "errorDeclaration/declarationTime without seconds (the XSD DateTimeStamp requires them)"
		ilmdNotAdd = "ilmd in an OBSERVE event (EPCIS: ILMD only with action ADD), refused for JSON-LD too"
	)
	return map[string]string{
		"gs1-EPCIS/XML/CBV/CBV-11.4-2020-06-16a.xml":                   notEvents,
		"gs1-EPCIS/XML/CaptureJob/Example-CaptureJobRunning.xml":       notEvents,
		"gs1-EPCIS/XML/CaptureJob/Example-CaptureJobSuccess.xml":       notEvents,
		"gs1-EPCIS/XML/CaptureJob/Example-CaptureJobWithErrorFile.xml": notEvents,
		"gs1-EPCIS/XML/CaptureJob/Example-CaptureJobWithErrors.xml":    notEvents,
		"gs1-EPCIS/XML/Mimasu/Example-masterData.xml":                  notEvents,
		q20 + "Queries/SimpleEventQuery.xml":                           notEvents,
		q20 + "ObjectEventWithAllPossibleFields.xml":                   noSeconds,
		q20 + "TransformationEvent_with_error_declaration.xml":         noSeconds,
		v12 + "TransactionEvent_all_possible_fields.xml":               noSeconds,
		v12 + "ObjectEvent_all_possible_fields.xml":                    ilmdNotAdd,
	}
}

// xmlAcceptedDespiteSchema lists documents of the Invalid folders that
// DecodeXML accepts, with the reason.
func xmlAcceptedDespiteSchema() map[string]string {
	return map[string]string{
		// Element order is not part of an event, and the hash tests read
		// JumbledFieldsOrder.xml as a valid document; DecodeXMLStrict, which
		// capture uses, refuses it (TestXMLStrictOrder).
		"openepcis-test-resources/core/src/main/resources/2.0/EPCIS/XML/Capture/Invalid/ObjectEvent_with_wrong_element_order.xml": "element order",
	}
}

// bareEvent reports whether the corpus file holds a single event element
// rather than a document.
func bareEvent(path string) bool {
	return strings.Contains(path, "/Capture/Events/") || strings.Contains(path, "/Single_event") ||
		strings.Contains(path, "_bare_event_")
}

// TestXMLCorpus decodes every XML document of the conformance corpus in
// testdata: the valid ones must decode and hash, the Invalid ones and the
// listed ones must be refused with a FieldError carrying a line number.
func TestXMLCorpus(t *testing.T) {
	refused, accepted := xmlRefused(), xmlAcceptedDespiteSchema()
	var ok, bad, events int
	for _, dir := range xmlCorpusDirs {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".xml") {
				return err
			}
			rel := strings.TrimPrefix(path, "testdata/")
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			var n int
			if bareEvent(path) {
				var ev *Event
				if ev, err = DecodeXMLEvent(data); err == nil {
					n = 1
					_, err = Hash(ev)
				}
			} else {
				var doc *Document
				if doc, err = DecodeXML(data); err == nil {
					n = len(doc.Events)
					_, err = doc.Hashes()
				}
			}
			_, isAccepted := accepted[rel]
			reason, isRefused := refused[rel]
			wantErr := isRefused || (strings.Contains(path, "/Invalid/") && !isAccepted)
			switch {
			case wantErr && err == nil:
				t.Errorf("%s: accepted, want refused (%s)", rel, reason)
			case !wantErr && err != nil:
				t.Errorf("%s: %v", rel, err)
			case wantErr:
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Line == 0 {
					t.Errorf("%s: error %v is not a FieldError with a line", rel, err)
				}
				bad++
			default:
				ok++
				events += n
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if ok < 80 {
		t.Errorf("only %d XML documents decoded", ok)
	}
	t.Logf("%d XML documents decoded (%d events), %d refused as expected", ok, events, bad)
}

// TestXMLInvalidMessages checks that the refusals of the Invalid folders
// name the element and its line.
func TestXMLInvalidMessages(t *testing.T) {
	for file, want := range map[string]string{
		"Capture/Invalid/ObjectEvent_with_invalid_action.xml":           `epcis: line 12: EPCISDocument.EPCISBody.EventList.ObjectEvent[0].action: "CREATE" is not ADD, OBSERVE or DELETE`,
		"Capture/Invalid/ObjectEvent_with_unknown_element.xml":          "epcis: line 13: EPCISDocument.EPCISBody.EventList.ObjectEvent[0].madeUpField: unknown element",
		"Capture/Invalid/ObjectEvent_without_eventTime.xml":             "epcis: line 6: EPCISDocument.EPCISBody.EventList.ObjectEvent[0].eventTime: missing",
		"Capture/Invalid/ObjectEvent_with_invalid_eventTime_format.xml": "epcis: line 7: EPCISDocument.EPCISBody.EventList.ObjectEvent[0].eventTime: not RFC 3339",
		"Query/Invalid/QueryDocument_with_invalid_eventType.xml":        `epcis: line 8: EPCISQueryDocument.EPCISBody.QueryResults.resultsBody.EventList.ObjectEventInvalid[0]: unknown event type "ObjectEventInvalid"`,
	} {
		data, err := os.ReadFile(filepath.Join(openepcisXML, file))
		if err != nil {
			t.Fatal(err)
		}
		_, err = DecodeXML(data)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want %q", file, err, want)
		}
	}
}

// TestDSCSAExample decodes the GS1 US DSCSA EPCIS 1.2 example (SBDH
// header, 1.2 extension wrappers) and checks the packing hierarchy and the
// shipment.
func TestDSCSAExample(t *testing.T) {
	data, err := os.ReadFile(openepcisResources + "/1.2/EPCIS/XML/Capture/Documents/GS1_US_Pharma_Example_2_2_1_1.xml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := DecodeXML(data)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Type != "EPCISDocument" || doc.SchemaVersion != "1.2" || len(doc.Events) != 8 {
		t.Fatalf("document %s %s with %d events, want EPCISDocument 1.2 with 8", doc.Type, doc.SchemaVersion, len(doc.Events))
	}
	const sscc = "urn:epc:id:sscc:030001.41234567890"
	var pallet *Event
	cases := map[string]int{}
	for i := range doc.Events {
		ev := &doc.Events[i]
		if ev.Type != AggregationEvent {
			continue
		}
		if ev.Action != "ADD" || ev.BizStep != "urn:epcglobal:cbv:bizstep:packing" {
			t.Errorf("aggregation %d: action %s, bizStep %s", i, ev.Action, ev.BizStep)
		}
		if ev.ParentID == sscc {
			pallet = ev
			continue
		}
		cases[ev.ParentID] = len(ev.ChildEPCs)
	}
	if pallet == nil {
		t.Fatal("no aggregation with the pallet SSCC as parent")
	}
	want := []string{"urn:epc:id:sgtin:030001.1012345.110", "urn:epc:id:sgtin:030001.1012345.111", "urn:epc:id:sgtin:030001.1012345.121"}
	if strings.Join(pallet.ChildEPCs, " ") != strings.Join(want, " ") {
		t.Errorf("pallet children %v, want %v", pallet.ChildEPCs, want)
	}
	for _, c := range want {
		if cases[c] != 4 {
			t.Errorf("case %s aggregates %d items, want 4", c, cases[c])
		}
	}
	ship := doc.Events[7]
	if ship.Type != ObjectEvent || ship.Action != "OBSERVE" || ship.BizStep != "urn:epcglobal:cbv:bizstep:shipping" ||
		ship.Disposition != "urn:epcglobal:cbv:disp:in_transit" || len(ship.EPCList) != 1 || ship.EPCList[0] != sscc {
		t.Fatalf("last event is not the pallet's shipping: %+v", ship)
	}
	if len(ship.BizTransactionList) != 2 || ship.BizTransactionList[0].Type != "urn:epcglobal:cbv:btt:po" ||
		ship.BizTransactionList[0].Value != "urn:epcglobal:cbv:bt:0399999999991:XYZPO189" {
		t.Errorf("business transactions %+v", ship.BizTransactionList)
	}
	// sourceList and destinationList stand in the 1.2 <extension> wrapper
	if len(ship.SourceList) != 2 || !reflect.DeepEqual(ship.SourceList[0], SourceDest{Type: "urn:epcglobal:cbv:sdt:owning_party", ID: "urn:epc:id:sgln:030001.111111.0"}) {
		t.Errorf("sources %+v", ship.SourceList)
	}
	if len(ship.DestinationList) != 2 || !reflect.DeepEqual(ship.DestinationList[1], SourceDest{Type: "urn:epcglobal:cbv:sdt:location", ID: "urn:epc:id:sgln:039999.345678.0"}) {
		t.Errorf("destinations %+v", ship.DestinationList)
	}
	drop := Field{Name: Name{Space: "http://epcis.gs1us.org/hc/ns", Local: "dropShipment"}, Kind: KindString, Value: "false"}
	if len(ship.Extensions) != 1 || ship.Extensions[0].Name != drop.Name || ship.Extensions[0].Value != "false" {
		t.Errorf("extensions %+v, want %+v", ship.Extensions, drop)
	}
	for i := range doc.Events {
		if _, err := Hash(&doc.Events[i]); err != nil {
			t.Errorf("event %d: %v", i, err)
		}
	}
}

// TestXMLStrictOrder: DecodeXMLStrict refuses what the XSD sequence
// refuses — the Invalid folder's wrong element order, and the corpus's
// three jumbled documents, which the hash tests still read with DecodeXML
// — naming the element and its line, and decodes every other
// document DecodeXML decodes to the same events.
func TestXMLStrictOrder(t *testing.T) {
	jumbled := map[string]bool{
		"2.0/EPCIS/XML/Capture/Invalid/ObjectEvent_with_wrong_element_order.xml": true,
		"2.0/EPCIS/XML/Capture/Documents/JumbledFieldsOrder.xml":                 true,
		"2.0/EPCIS/XML/Query/JumbledFieldsOrder.xml":                             true,
		"1.2/EPCIS/XML/Capture/Documents/Jumbled_attributes_order.xml":           true,
	}
	var strict int
	for _, dir := range xmlCorpusDirs {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".xml") || bareEvent(path) {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			lenient, lerr := DecodeXML(data)
			doc, serr := DecodeXMLStrict(data)
			rel := strings.TrimPrefix(path, openepcisResources+"/")
			switch {
			case jumbled[rel]:
				var fe *FieldError
				if !errors.As(serr, &fe) || fe.Line == 0 || !strings.Contains(fe.Msg, "out of order") {
					t.Errorf("%s: %v, want refused for its element order", rel, serr)
				}
				delete(jumbled, rel)
			case lerr != nil:
				if serr == nil {
					t.Errorf("%s: strict decoding accepts what DecodeXML refuses (%v)", rel, lerr)
				}
			case serr != nil:
				t.Errorf("%s: %v", rel, serr)
			case !reflect.DeepEqual(doc, lenient):
				t.Errorf("%s: strict and lenient decoding differ", rel)
			default:
				strict++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(jumbled) > 0 {
		t.Errorf("not found: %v", jumbled)
	}
	t.Logf("%d documents decoded strictly", strict)
}
