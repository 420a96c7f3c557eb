package epcisapi

import (
	"slices"
	"time"

	"github.com/pedigree-project/pedigree/epcis"
)

// Match reports whether ev, recorded at rec, satisfies every filter of p
// (EPCIS 2.0 section 8.2.7.1: a parameter present restricts the result to
// the events that have the field and whose value is one of the
// parameter's).
func (p *Params) Match(ev *epcis.Event, rec time.Time) bool {
	if len(p.EventTypes) > 0 && !slices.Contains(p.EventTypes, ev.Type) {
		return false
	}
	if !p.timesMatch(ev, rec) {
		return false
	}
	if len(p.Actions) > 0 && !slices.Contains(p.Actions, ev.Action) {
		return false
	}
	if !vocabIn(p.BizSteps, vocabBizStep, ev.BizStep) || !vocabIn(p.Dispositions, vocabDisp, ev.Disposition) {
		return false
	}
	if !locationIn(p.ReadPoints, ev.ReadPoint) || !locationIn(p.BizLocations, ev.BizLocation) {
		return false
	}
	if len(p.EventIDs) > 0 && !slices.Contains(p.EventIDs, ev.EventID) {
		return false
	}
	if !p.objectsMatch(ev) {
		return false
	}
	for typ, vals := range p.BizTransactions {
		if !slices.ContainsFunc(ev.BizTransactionList, func(bt epcis.BizTransaction) bool {
			return eventVocab(vocabBTT, bt.Type) == typ && slices.Contains(vals, bt.Value)
		}) {
			return false
		}
	}
	return sourceDestIn(p.Sources, ev.SourceList) && sourceDestIn(p.Destinations, ev.DestinationList)
}

func (p *Params) timesMatch(ev *epcis.Event, rec time.Time) bool {
	if p.GEEventTime != nil || p.LTEventTime != nil {
		t, err := time.Parse(time.RFC3339Nano, ev.EventTime)
		if err != nil || (p.GEEventTime != nil && t.Before(*p.GEEventTime)) || (p.LTEventTime != nil && !t.Before(*p.LTEventTime)) {
			return false
		}
	}
	if p.GERecordTime != nil && rec.Before(*p.GERecordTime) {
		return false
	}
	return p.LTRecordTime == nil || rec.Before(*p.LTRecordTime)
}

// objectsMatch applies the MATCH_ parameters: MATCH_epc reads epcList and
// childEPCs, MATCH_parentID parentID, MATCH_inputEPC and MATCH_outputEPC
// the transformation's lists, MATCH_anyEPC all of them, MATCH_epcClass
// the classes of quantityList and childQuantityList.
func (p *Params) objectsMatch(ev *epcis.Event) bool {
	var parent []string
	if ev.ParentID != "" {
		parent = []string{ev.ParentID}
	}
	for _, c := range []struct {
		ms    []idMatch
		lists [][]string
	}{
		{p.EPCs, [][]string{ev.EPCList, ev.ChildEPCs}},
		{p.ParentIDs, [][]string{parent}},
		{p.InputEPCs, [][]string{ev.InputEPCList}},
		{p.OutputEPCs, [][]string{ev.OutputEPCList}},
		{p.AnyEPCs, [][]string{ev.EPCList, ev.ChildEPCs, ev.InputEPCList, ev.OutputEPCList, parent}},
		{p.EPCClasses, [][]string{classes(ev.QuantityList), classes(ev.ChildQuantityList)}},
	} {
		if len(c.ms) > 0 && !anyMatch(c.ms, c.lists) {
			return false
		}
	}
	return true
}

func classes(l []epcis.QuantityElement) []string {
	out := make([]string, len(l))
	for i, q := range l {
		out[i] = q.EPCClass
	}
	return out
}

func anyMatch(ms []idMatch, lists [][]string) bool {
	for _, l := range lists {
		for _, id := range l {
			c := eventCanonID(id)
			for _, m := range ms {
				if m.matches(c) {
					return true
				}
			}
		}
	}
	return false
}

func vocabIn(want []string, k vocabKind, v string) bool {
	return len(want) == 0 || (v != "" && slices.Contains(want, eventVocab(k, v)))
}

func locationIn(want []string, l *epcis.Location) bool {
	return len(want) == 0 || (l != nil && slices.Contains(want, eventCanonID(l.ID)))
}

func sourceDestIn(want map[string][]string, list []epcis.SourceDest) bool {
	for typ, vals := range want {
		if !slices.ContainsFunc(list, func(sd epcis.SourceDest) bool {
			return eventVocab(vocabSDT, sd.Type) == typ && slices.Contains(vals, eventCanonID(sd.ID))
		}) {
			return false
		}
	}
	return true
}
