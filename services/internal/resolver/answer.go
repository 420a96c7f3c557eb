package resolver

import (
	"errors"
	"strings"
	"time"

	"github.com/pedigree-project/pedigree/gs1"
	"github.com/pedigree-project/pedigree/lifecycle"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// Kind is what the resolver answers about a pack.
type Kind string

// The answers. Their values label the answers metric and name the page's
// style; they never change meaning.
const (
	KindGenuine    Kind = "genuine"    // full code matches, pack active: may be used
	KindUnknown    Kind = "unknown"    // GTIN or serial never registered: possible counterfeit
	KindMismatch   Kind = "mismatch"   // lot or expiry differs from the ledger: not genuine
	KindIncomplete Kind = "incomplete" // lot or expiry not scanned: scan the full code
	KindRecalled   Kind = "recalled"   // the batch is recalled
	KindWithdrawn  Kind = "withdrawn"  // the batch is withdrawn from the market
	KindExpired    Kind = "expired"    // past the batch's expiry date
	KindDispensed  Kind = "dispensed"  // already supplied to a patient
	KindInactive   Kind = "inactive"   // otherwise out of the supply chain
)

// kinds lists every Kind, for the metric.
var kinds = [...]Kind{KindGenuine, KindUnknown, KindMismatch, KindIncomplete, KindRecalled,
	KindWithdrawn, KindExpired, KindDispensed, KindInactive}

// Answer is what the resolver says about one scanned pack. It holds the
// scan, the product's public description and the kind of answer, and
// nothing of the pack's custody.
type Answer struct {
	Kind    Kind
	GTIN    string
	Serial  string
	Lot     string // as scanned; "" when absent
	Expiry  string // YYMMDD as scanned; "" when absent
	Product string // the product's name, strength and form; "" when unknown
}

// publicActor names the pseudo-party of a resolver check in the event the
// rules read; it is never written anywhere.
const publicActor = "public-resolver"

// decide answers for a parsed scan from the state at now. It is
// read-only: lifecycle.Verify writes nothing and its alerts are dropped.
// The check runs with an authority's role, so that custody (which a
// patient never has) raises nothing: what remains is identity, the code's
// lot and expiry, and the pack's and batch's status.
func decide(store *state.Store, code *gs1.Result, now time.Time) (Answer, error) {
	a := Answer{GTIN: code.GTIN, Serial: code.Serial, Lot: code.Lot, Expiry: code.Expiry}
	view := store.NewView()
	ms := now.UnixMilli()
	ev := &lifecycle.Event{
		Type: lifecycle.TypeObject, Action: lifecycle.ActionObserve, Step: lifecycle.StepInspecting,
		EventTime: ms, RecordTime: ms, Actor: publicActor, ActorRole: lifecycle.RoleRegulator,
		Epcs: []lifecycle.Epc{{Pack: lifecycle.PackCode{GTIN: code.GTIN, Serial: code.Serial, Lot: code.Lot, Expiry: code.Expiry}}},
	}
	r := lifecycle.Verify(view, ev)
	if p, ok := view.ProductRecord(code.GTIN); ok {
		a.Product = describe(p.GetName(), p.GetStrength(), p.GetForm())
	}
	if view.Err != nil {
		return Answer{}, view.Err
	}
	if !r.Applied {
		return Answer{}, errors.New("resolver: the check was refused: " + r.Reason)
	}
	a.Kind = kindOf(r, code)
	return a, nil
}

// kindOf maps the rules' verdict to an answer, in order of precedence:
// identity, the code's data, what is missing from it, then the status.
func kindOf(r lifecycle.Result, code *gs1.Result) Kind {
	mismatch := false
	for _, al := range r.Alerts {
		switch al.Code {
		case lifecycle.CodeUnknownProduct, lifecycle.CodeUnknownSerial:
			return KindUnknown
		case lifecycle.CodeBatchMismatch, lifecycle.CodeExpiryMismatch:
			mismatch = true
		}
	}
	switch {
	case mismatch:
		return KindMismatch
	case code.Lot == "" || code.Expiry == "":
		return KindIncomplete
	}
	switch r.Status {
	case lifecycle.StatusRecalled:
		return KindRecalled
	case lifecycle.StatusWithdrawn:
		return KindWithdrawn
	case lifecycle.StatusExpired:
		return KindExpired
	case lifecycle.StatusSupplied:
		return KindDispensed
	case lifecycle.StatusActive:
		if r.Dispensable {
			return KindGenuine
		}
	}
	return KindInactive
}

// describe joins the non-empty parts of a product's description.
func describe(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p)
	}
	return b.String()
}
