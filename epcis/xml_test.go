package epcis

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// xmlDoc wraps events in an EPCIS 2.0 capture document whose EventList
// starts on line 4.
func xmlDoc(events string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:ex="https://ex.org/" schemaVersion="2.0" creationDate="2026-01-01T00:00:00Z">
<EPCISBody>
<EventList>
` + events + `
</EventList>
</EPCISBody>
</epcis:EPCISDocument>`
}

// okEvent is a valid ObjectEvent on lines 5–10 of xmlDoc; its members can
// be replaced to make it invalid.
const okEvent = `<ObjectEvent>
<eventTime>2026-01-01T00:00:00Z</eventTime>
<eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
<epcList><epc>urn:epc:id:sgtin:4012345.011111.1</epc></epcList>
<action>ADD</action>
</ObjectEvent>`

func TestDecodeXMLErrors(t *testing.T) {
	deep := strings.Repeat("<ex:a>", MaxXMLDepth) + strings.Repeat("</ex:a>", MaxXMLDepth)
	for name, tc := range map[string]struct{ doc, want string }{
		"entity definitions": {`<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2">&lol2;</epcis:EPCISDocument>`, "epcis: line 2: DTD declarations"},
		"external DTD":      {`<!DOCTYPE x SYSTEM "http://evil.example/x.dtd"><x/>`, "epcis: line 1: DTD declarations"},
		"undefined entity":  {xmlDoc(strings.Replace(okEvent, "ADD", "&add;", 1)), "epcis: line 9: EPCISDocument.EPCISBody.EventList.ObjectEvent.action: malformed XML"},
		"too deep":          {xmlDoc(strings.Replace(okEvent, "<action>", deep+"<action>", 1)), "nested deeper than 64"},
		"unbound prefix":    {xmlDoc(strings.Replace(okEvent, "<action>", "<foo:x/><action>", 1)), `epcis: line 9: EPCISDocument.EPCISBody.EventList.ObjectEvent.x: undeclared namespace prefix "foo"`},
		"mismatched tags":   {xmlDoc(strings.Replace(okEvent, "</action>", "</Action>", 1)), "epcis: line 9:"},
		"two roots":         {xmlDoc(okEvent) + "<x/>", "more than one root element"},
		"not UTF-8":         {`<?xml version="1.0" encoding="ISO-8859-1"?>` + xmlDoc(okEvent)[38:], "epcis: line 1: malformed XML"},
		"truncated":         {xmlDoc(okEvent)[:200], "unexpected"},
		"not EPCIS":         {`<html/>`, "epcis: line 1: html: the root element is neither"},
		"missing eventTime": {xmlDoc(strings.Replace(okEvent, "<eventTime>2026-01-01T00:00:00Z</eventTime>", "", 1)), "epcis: line 5: EPCISDocument.EPCISBody.EventList.ObjectEvent[0].eventTime: missing"},
		"bad time":          {xmlDoc(strings.Replace(okEvent, "2026-01-01T00:00:00Z", "2026-01-01", 1)), "epcis: line 6: EPCISDocument.EPCISBody.EventList.ObjectEvent[0].eventTime: not RFC 3339"},
		"bad offset":        {xmlDoc(strings.Replace(okEvent, "+00:00", "UTC", 1)), "eventTimeZoneOffset: not a time zone offset"},
		"bad action":        {xmlDoc(strings.Replace(okEvent, "ADD", "add", 1)), `ObjectEvent[0].action: "add" is not ADD, OBSERVE or DELETE`},
		"no action":         {xmlDoc(strings.Replace(okEvent, "<action>ADD</action>", "", 1)), "ObjectEvent[0].action: missing"},
		"unknown type":      {xmlDoc(strings.ReplaceAll(okEvent, "ObjectEvent", "QuantityEvent")), `epcis: line 5: EPCISDocument.EPCISBody.EventList.QuantityEvent[0]: unknown event type "QuantityEvent"`},
		"repeated":          {xmlDoc(strings.Replace(okEvent, "<action>", "<action>ADD</action><action>", 1)), "epcis: line 9: EPCISDocument.EPCISBody.EventList.ObjectEvent[0].action: repeated"},
		"unknown element":   {xmlDoc(strings.Replace(okEvent, "<action>", "<foo>1</foo><action>", 1)), "epcis: line 9: EPCISDocument.EPCISBody.EventList.ObjectEvent[0].foo: unknown element"},
		"bad quantity":      {xmlDoc(strings.Replace(okEvent, "<action>", "<quantityList><quantityElement><epcClass>urn:epc:class:lgtin:4012345.011111.L1</epcClass><quantity>1e3</quantity></quantityElement></quantityList><action>", 1)), "quantityElement[0].quantity: not a decimal number"},
		"no epcClass":       {xmlDoc(strings.Replace(okEvent, "<action>", "<quantityList><quantityElement><quantity>1</quantity></quantityElement></quantityList><action>", 1)), "quantityElement[0].epcClass: missing"},
		"bad sensor value":  {xmlDoc(strings.Replace(okEvent, "<action>ADD</action>", "<action>ADD</action><sensorElementList><sensorElement><sensorReport type=\"gs1:Temperature\" value=\"warm\"/></sensorElement></sensorElementList>", 1)), "sensorReport[0].@value: not a number"},
		"sensor child":      {xmlDoc(strings.Replace(okEvent, "<action>ADD</action>", "<action>ADD</action><sensorElementList><sensorElement><sensorReport><ex:x/></sensorReport></sensorElement></sensorElementList>", 1)), "sensorReport[0].x: unexpected element"},
		"source no type":    {xmlDoc(strings.Replace(okEvent, "<action>ADD</action>", "<action>ADD</action><sourceList><source>urn:epc:id:pgln:4012345.00225</source></sourceList>", 1)), "sourceList.source[0]: needs both the type attribute and the identifier"},
		"bare bizStep":      {xmlDoc(strings.Replace(okEvent, "<action>ADD</action>", "<action>ADD</action><bizStep>transmogrifying</bizStep>", 1)), `bizStep: "transmogrifying" is neither a standard vocabulary term nor a URI`},
		"ilmd no namespace": {xmlDoc(strings.Replace(okEvent, "<action>ADD</action>", "<action>ADD</action><ilmd><lotNumber>1</lotNumber></ilmd>", 1)), "ilmd.lotNumber: unknown element (ILMD fields need a namespace)"},
		"attribute":         {xmlDoc(strings.Replace(okEvent, "<action>", `<readPoint x="1"><id>urn:epc:id:sgln:4012345.00005.0</id></readPoint><action>`, 1)), "readPoint.@x: unknown attribute"},
		"two lists":         {strings.Replace(xmlDoc(okEvent), "</EPCISBody>", "<EventList/></EPCISBody>", 1), "more than one EventList"},
		"poll, no results":  {`<epcisq:EPCISQueryDocument xmlns:epcisq="urn:epcglobal:epcis-query:xsd:2"><EPCISBody><epcisq:Poll/></EPCISBody></epcisq:EPCISQueryDocument>`, "a query document without QueryResults"},
	} {
		_, err := DecodeXML([]byte(tc.doc))
		var fe *FieldError
		switch {
		case err == nil:
			t.Errorf("%s: accepted", name)
		case !errors.As(err, &fe):
			t.Errorf("%s: %T %v is not a FieldError", name, err, err)
		case !strings.Contains(err.Error(), tc.want):
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		case fe.Line == 0:
			t.Errorf("%s: %v has no line", name, err)
		}
	}
	big := bytes.Repeat([]byte(" "), MaxXMLSize+1)
	if _, err := DecodeXML(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized document: %v", err)
	}
}

// TestDecodeXML12 reads the EPCIS 1.2 forms: a TransformationEvent inside
// the EventList's extension, eventID and errorDeclaration in
// baseExtension, quantityList and ILMD in the event's extension.
func TestDecodeXML12(t *testing.T) {
	doc := `<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:cbvmda="urn:epcglobal:cbv:mda" schemaVersion="1.2" creationDate="2026-01-01T00:00:00Z">
<EPCISHeader><sbdh:StandardBusinessDocumentHeader xmlns:sbdh="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"><sbdh:HeaderVersion>1.0</sbdh:HeaderVersion></sbdh:StandardBusinessDocumentHeader></EPCISHeader>
<EPCISBody><EventList>
<ObjectEvent>
<eventTime>2026-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
<baseExtension><eventID>urn:uuid:1</eventID><errorDeclaration><declarationTime>2026-01-02T00:00:00Z</declarationTime><reason>urn:epcglobal:cbv:er:incorrect_data</reason></errorDeclaration></baseExtension>
<epcList/><action>ADD</action>
<extension><quantityList><quantityElement><epcClass>urn:epc:class:lgtin:4012345.011111.L1</epcClass><quantity>2</quantity></quantityElement></quantityList>
<ilmd><cbvmda:lotNumber>L1</cbvmda:lotNumber></ilmd></extension>
</ObjectEvent>
<extension><TransformationEvent>
<eventTime>2026-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
<inputEPCList><epc>urn:epc:id:sgtin:4012345.011111.1</epc></inputEPCList>
<outputQuantityList><quantityElement><epcClass>urn:epc:class:lgtin:4012345.011111.L2</epcClass></quantityElement></outputQuantityList>
</TransformationEvent></extension>
</EventList></EPCISBody></epcis:EPCISDocument>`
	d, err := DecodeXML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Events) != 2 || d.Events[1].Type != TransformationEvent {
		t.Fatalf("events %+v", d.Events)
	}
	ev := d.Events[0]
	if ev.EventID != "urn:uuid:1" || ev.ErrorDeclaration == nil || ev.ErrorDeclaration.Reason != "urn:epcglobal:cbv:er:incorrect_data" ||
		len(ev.QuantityList) != 1 || ev.QuantityList[0].Quantity != "2" ||
		len(ev.ILMD) != 1 || ev.ILMD[0].Name != (Name{Space: "urn:epcglobal:cbv:mda", Local: "lotNumber"}) {
		t.Errorf("1.2 object event read as %+v", ev)
	}
	if got := d.Events[1].InputEPCList; len(got) != 1 {
		t.Errorf("transformation input %v", got)
	}
	// eventID and errorDeclaration do not change the hash
	plain := strings.Replace(doc, `<baseExtension><eventID>urn:uuid:1</eventID><errorDeclaration><declarationTime>2026-01-02T00:00:00Z</declarationTime><reason>urn:epcglobal:cbv:er:incorrect_data</reason></errorDeclaration></baseExtension>`, "", 1)
	d2, err := DecodeXML([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	h1, _ := d.Hashes()
	h2, _ := d2.Hashes()
	if h1[0] != h2[0] {
		t.Errorf("eventID/errorDeclaration change the hash: %s, %s", h1[0], h2[0])
	}
}
