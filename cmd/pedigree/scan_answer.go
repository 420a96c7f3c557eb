package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pedigree-project/pedigree/scanners/sdk"
)

// scanAnswer is the line `pedigree scan` prints for one event.
type scanAnswer struct {
	EventID string `json:"event_id"`
	// Status is "applied", "refused", "duplicate" (already on the ledger)
	// or "queued" (no answer yet).
	Status      string       `json:"status"`
	LedgerIndex *uint64      `json:"ledger_index,omitempty"`
	Reason      string       `json:"reason,omitempty"`
	Alerts      []alertEntry `json:"alerts,omitempty"`
}

type alertEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// answer prints the verified answer of one message, one line per event,
// whether this session or an earlier one sent it (Config.OnOutcome).
func (s *scanSession) answer(o *sdk.Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answered[o.MsgID] = true
	if o.Refusal != nil {
		s.refusedEvents++
		s.print(scanAnswer{EventID: o.MsgID, Status: "refused", Reason: o.Refusal.GetReason()})
		return
	}
	index := o.Entry.GetIndex()
	for _, r := range sdk.EventResults(o.Entry) {
		out := r.Outcome
		a := scanAnswer{EventID: r.EventID, LedgerIndex: &index, Reason: out.GetReason(), Status: r.Verdict.String()}
		if r.Verdict == sdk.Refused {
			s.refusedEvents++
		}
		for _, al := range out.GetAlerts() {
			a.Alerts = append(a.Alerts, alertEntry{Code: strings.TrimPrefix(al.GetCode().String(), "ALERT_CODE_"), Message: al.GetMessage()})
		}
		s.print(a)
	}
}

// print writes one answer, as a JSON line or as text. Called with s.mu
// held; the first write error is kept for the session to return.
func (s *scanSession) print(a scanAnswer) {
	if s.printErr != nil {
		return
	}
	if s.opts.json {
		s.printErr = json.NewEncoder(s.out).Encode(a)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", a.EventID, a.Status)
	if a.Reason != "" {
		fmt.Fprintf(&b, ": %s", a.Reason)
	}
	if a.LedgerIndex != nil {
		fmt.Fprintf(&b, " (ledger entry %d)", *a.LedgerIndex)
	}
	b.WriteByte('\n')
	for _, al := range a.Alerts {
		fmt.Fprintf(&b, "  ALERT %s: %s\n", al.Code, al.Message)
	}
	_, s.printErr = fmt.Fprint(s.out, b.String())
}
