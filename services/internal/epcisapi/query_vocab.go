package epcisapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/pedigree-project/pedigree/epcis"
	"github.com/pedigree-project/pedigree/services/internal/pagetoken"
)

// The CBV 2.0 standard business steps and dispositions (CBV 2.0
// sections 7.2 and 7.3), as /epcis/bizSteps and /epcis/dispositions list
// them: bare words, as the binding's collections show them.
var (
	cbvBizSteps = []string{"accepting", "arriving", "assembling", "collecting", "commissioning", "consigning",
		"creating_class_instance", "cycle_counting", "decommissioning", "departing", "destroying", "disassembling",
		"dispensing", "encoding", "entering_exiting", "holding", "inspecting", "installing", "killing", "loading",
		"other", "packing", "picking", "receiving", "removing", "repackaging", "repairing", "replacing", "reserving",
		"retail_selling", "sampling", "sensor_reporting", "shipping", "staging_outbound", "stock_taking", "stocking",
		"storing", "transporting", "unloading", "unpacking", "void_shipping"}
	cbvDispositions = []string{"active", "available", "completeness_inferred", "completeness_verified", "conformant",
		"container_closed", "container_open", "damaged", "destroyed", "dispensed", "disposed", "encoded", "expired",
		"in_progress", "in_transit", "inactive", "mismatch_instance", "mismatch_class", "mismatch_quantity",
		"needs_replacement", "no_pedigree_match", "non_conformant", "non_sellable_other", "partially_dispensed",
		"recalled", "reserved", "retail_sold", "returned", "sellable_accessible", "sellable_not_accessible",
		"stolen", "unavailable", "unknown"}
	eventTypes = []string{string(epcis.ObjectEvent), string(epcis.AggregationEvent), string(epcis.TransactionEvent),
		string(epcis.TransformationEvent), string(epcis.AssociationEvent)}
)

// collection answers /epcis/eventTypes, /bizSteps, /dispositions (fixed
// lists) and /readPoints, /bizLocations: the values of the events the
// caller may see, from one page's walk of the ledger (a next link when
// the walk stopped at its bound; a value may appear on several pages).
func (q *Query) collection(w http.ResponseWriter, r *http.Request, req *request) {
	var members []string
	switch name := req.resource; name {
	case "eventTypes":
		members = eventTypes
	case "bizSteps":
		members = cbvBizSteps
	case "dispositions":
		members = cbvDispositions
	default:
		var err error
		if members, err = q.seenLocations(w, r, req, name == "readPoints"); err != nil {
			var pe *ParamError
			if errors.As(err, &pe) {
				paramProblem(w, err)
			} else {
				q.internal(w, r, err)
			}
			return
		}
	}
	w.Header().Set("Content-Type", "application/ld+json")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"@context": []string{epcis.StandardContext}, "type": "Collection", "member": members})
}

// seenLocations collects the read points (or business locations) of the
// events the caller may see, from one page's walk; it sets the next link.
func (q *Query) seenLocations(w http.ResponseWriter, r *http.Request, req *request, readPoints bool) ([]string, error) {
	bind := pagetoken.For("epcis/"+req.resource, append([]string{req.caller.GetGln()}, req.params.filters()...)...)
	start, err := q.tokenPos(bind, req.params.PageToken)
	if err != nil {
		return nil, err
	}
	members := []string{}
	next, err := q.rd.walk(r.Context(), req.caller, req.params, start, func(_ *record, ev *epcis.Event) bool {
		l := ev.BizLocation
		if readPoints {
			l = ev.ReadPoint
		}
		if l != nil && !slices.Contains(members, l.ID) {
			members = append(members, l.ID)
		}
		return true
	})
	if next != nil {
		q.setNext(w, r, bind, *next)
	}
	return members, err
}
