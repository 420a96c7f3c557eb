package simulate

import (
	"fmt"
	"io"
	"slices"
	"strings"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// Report is what a run injected and what the node detected. Everything but
// the timings (Seconds, EventsPerSecond, SetupSeconds) and the identifiers
// (Run, Namespace, Samples) is a function of the Config without its
// addresses: the same seed and sizes give the same Report.
type Report struct {
	Seed uint64 `json:"seed"`
	// Run counts the earlier runs of this seed against the same server;
	// Namespace is the five digits after 952 in this run's identifiers.
	Run       int    `json:"run"`
	Namespace string `json:"namespace"`
	// Mode is "api" (gRPC) or "nats" (signed envelopes).
	Mode   string `json:"mode"`
	Market Market `json:"market"`
	// Lots are the batches of the run (not in the printed report).
	Lots []Lot `json:"-"`
	// Trouble has one row per kind of injected case, in a fixed order.
	Trouble []Row `json:"trouble"`
	// FalseAlerts counts alerts raised by legitimate events, by code in
	// FalseAlertCodes. It must be zero.
	FalseAlerts     int            `json:"false_alerts"`
	FalseAlertCodes map[string]int `json:"false_alert_codes,omitempty"`
	// LegitimateRefused counts legitimate events refused (or, for a
	// verification, found not dispensable). It must be zero.
	LegitimateRefused int `json:"legitimate_refused"`
	// UnexpectedAlerts counts alerts on injected events other than the
	// one expected.
	UnexpectedAlerts int `json:"unexpected_alerts"`
	// Problems describes the first few events behind the three counts
	// above, in plan order.
	Problems []string `json:"problems,omitempty"`
	// Events is the number of scans sent (each an EPCIS event:
	// commissioning of up to 1,000 serials, packing, shipping, receiving,
	// verification, dispensing, ...), and the recall.
	Events          int     `json:"events"`
	Seconds         float64 `json:"seconds"`
	EventsPerSecond float64 `json:"events_per_second"`
	// SetupSeconds is the time spent registering parties, products and
	// lots, not included in Seconds.
	SetupSeconds float64 `json:"setup_seconds"`
	Samples      Samples `json:"samples"`
}

// Lot is one batch the market made, with its serials, so that a caller can
// check the server's view of it (batch trace) pack by pack.
type Lot struct {
	GTIN    string   `json:"gtin"`
	Lot     string   `json:"lot"`
	Serials []string `json:"-"`
}

// Market is the size of the simulated market.
type Market struct {
	Manufacturers int    `json:"manufacturers"`
	Wholesalers   int    `json:"wholesalers"`
	Pharmacies    int    `json:"pharmacies"`
	Products      int    `json:"products"`
	Lots          int    `json:"lots"`
	Packs         int    `json:"packs"`
	Cases         int    `json:"cases"`
	Pallets       int    `json:"pallets"`
	Totes         int    `json:"totes"`
	From          string `json:"from"` // first simulated day, YYYY-MM-DD
	To            string `json:"to"`   // last simulated day
}

// Row is one kind of injected trouble.
type Row struct {
	Trouble string `json:"trouble"`
	// Code is the alert code that detects it, or, when Alert is false,
	// the status with which EU rules refuse it without an alert.
	Code     string `json:"code"`
	Alert    bool   `json:"alert"`
	Injected int    `json:"injected"`
	Detected int    `json:"detected"`
}

// Samples are identifiers to try by hand after a run.
type Samples struct {
	// GenuinePack is the bracketed barcode of an active pack left in
	// stock, at GenuineHolder.
	GenuinePack   string `json:"genuine_pack,omitempty"`
	GenuineHolder string `json:"genuine_holder,omitempty"`
	// Counterfeit is the bracketed barcode of a counterfeit pack.
	Counterfeit string `json:"counterfeit,omitempty"`
	// AlertLedgerIndex is a ledger entry that raised AlertCode.
	AlertLedgerIndex uint64 `json:"alert_ledger_index,omitempty"`
	AlertCode        string `json:"alert_code,omitempty"`
	// RecalledGTIN and RecalledLot name the recalled lot.
	RecalledGTIN string `json:"recalled_gtin"`
	RecalledLot  string `json:"recalled_lot"`
}

// OK reports whether every injected case was detected and legitimate
// traffic raised no alert and was never refused.
func (r *Report) OK() bool {
	for _, row := range r.Trouble {
		if row.Detected != row.Injected {
			return false
		}
	}
	return r.FalseAlerts == 0 && r.LegitimateRefused == 0 && r.UnexpectedAlerts == 0
}

const maxProblems = 10

func alertName(c pb.AlertCode) string { return strings.TrimPrefix(c.String(), "ALERT_CODE_") }

func statusName(s pb.PackStatus) string { return strings.TrimPrefix(s.String(), "PACK_STATUS_") }

// report judges every step's answer, in plan order.
func (p *plan) report(run int, viaNATS bool) *Report {
	rep := &Report{Seed: p.cfg.Seed, Run: run, Namespace: p.ns, Mode: "api", FalseAlertCodes: map[string]int{}}
	if viaNATS {
		rep.Mode = "nats"
	}
	for _, b := range p.batches {
		lot := Lot{GTIN: b.prod.gtin, Lot: b.lot}
		for _, pk := range b.packs {
			lot.Serials = append(lot.Serials, pk.serial)
		}
		rep.Lots = append(rep.Lots, lot)
	}
	rep.Market = Market{Manufacturers: len(p.mfrs), Wholesalers: len(p.whss), Pharmacies: len(p.phas),
		Products: len(p.products), Lots: len(p.batches), Packs: p.cfg.Packs,
		Cases: p.nSSCC[ssccCase], Pallets: p.nSSCC[ssccPallet], Totes: p.nSSCC[ssccTote],
		From: Start().Format("2006-01-02"), To: p.clk.t.Format("2006-01-02")}
	for _, ph := range p.phases {
		for _, chain := range ph.chains {
			for _, s := range chain {
				p.judge(rep, s)
			}
		}
	}
	rows := make([]Row, nTroubles)
	for t := range nTroubles {
		what, code, refusal := t.expected()
		rows[t] = Row{Trouble: what, Code: alertName(code), Alert: code != 0}
		if code == 0 {
			rows[t].Code = statusName(refusal)
		}
	}
	for _, in := range p.injections {
		rows[in.kind].Injected++
		if in.detected {
			rows[in.kind].Detected++
		}
	}
	rep.Trouble = rows
	if len(rep.FalseAlertCodes) == 0 {
		rep.FalseAlertCodes = nil
	}
	if g := p.samples.genuine; g != nil {
		rep.Samples.GenuinePack, rep.Samples.GenuineHolder = g.bracketed(), p.samples.genuineHolder.gln
	}
	if c := p.samples.counterfeit; c != nil {
		rep.Samples.Counterfeit = c.bracketed()
	}
	rep.Samples.RecalledGTIN, rep.Samples.RecalledLot = p.recalled.prod.gtin, p.recalled.lot
	return rep
}

// judge counts one step's answer into the report.
func (p *plan) judge(rep *Report, s *step) {
	problem := func(what string) {
		if len(rep.Problems) < maxProblems {
			names := make([]string, len(s.res.alerts))
			for i, a := range s.res.alerts {
				names[i] = alertName(a)
			}
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %s: status %s, alerts [%s], reason %q",
				what, s.describe(), statusName(s.res.status), strings.Join(names, " "), s.res.reason))
		}
	}
	if s.inj == nil {
		for _, a := range s.res.alerts {
			rep.FalseAlerts++
			rep.FalseAlertCodes[alertName(a)]++
		}
		switch {
		case !s.ok():
			rep.LegitimateRefused++
			problem("legitimate event refused")
		case len(s.res.alerts) > 0:
			problem("false alert")
		}
		return
	}
	what, code, refusal := s.inj.kind.expected()
	for _, a := range s.res.alerts {
		if a != code {
			rep.UnexpectedAlerts++
			problem("unexpected alert on " + what)
		}
	}
	switch {
	case code != 0 && slices.Contains(s.res.alerts, code):
		s.inj.detected = true
		if rep.Samples.AlertCode == "" && s.res.indexed {
			rep.Samples.AlertCode, rep.Samples.AlertLedgerIndex = alertName(code), s.res.ledgerIndex
		}
	case code == 0 && len(s.res.alerts) == 0 && !s.ok() && s.res.status == refusal:
		s.inj.detected = true
	}
}

// WriteText prints the report as a table for people.
func (r *Report) WriteText(w io.Writer) error {
	m := r.Market
	via := "the gRPC API"
	if r.Mode == "nats" {
		via = "signed envelopes on NATS"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Simulated market, seed %d (run %d on this server, identifiers 952%s…), scans via %s:\n", r.Seed, r.Run, r.Namespace, via)
	fmt.Fprintf(&b, "  %d manufacturers, %d wholesalers, %d pharmacies; %d products, %d lots; %d packs in %d cases on %d pallets, %d totes;\n",
		m.Manufacturers, m.Wholesalers, m.Pharmacies, m.Products, m.Lots, m.Packs, m.Cases, m.Pallets, m.Totes)
	fmt.Fprintf(&b, "  simulated days %s to %s.\n\n", m.From, m.To)
	by := make([]string, len(r.Trouble))
	wt, wb := len("injected trouble"), len("detected by")
	for i, row := range r.Trouble {
		by[i] = row.Code
		if !row.Alert {
			by[i] += " (refused, no alert)"
		}
		wt, wb = max(wt, len(row.Trouble)), max(wb, len(by[i]))
	}
	fmt.Fprintf(&b, "%-*s  %-*s  %8s  %8s\n", wt, "injected trouble", wb, "detected by", "injected", "detected")
	for i, row := range r.Trouble {
		fmt.Fprintf(&b, "%-*s  %-*s  %8d  %8d\n", wt, row.Trouble, wb, by[i], row.Injected, row.Detected)
	}
	fmt.Fprintf(&b, "\nfalse alerts on legitimate traffic: %d", r.FalseAlerts)
	for _, code := range sortedKeys(r.FalseAlertCodes) {
		fmt.Fprintf(&b, " %s=%d", code, r.FalseAlertCodes[code])
	}
	fmt.Fprintf(&b, "\nlegitimate events refused:          %d\n", r.LegitimateRefused)
	fmt.Fprintf(&b, "other alerts on injected events:    %d\n", r.UnexpectedAlerts)
	for _, pr := range r.Problems {
		fmt.Fprintf(&b, "  %s\n", pr)
	}
	fmt.Fprintf(&b, "%d events in %.2f s: %.0f events/s (setup %.2f s)\n", r.Events, r.Seconds, r.EventsPerSecond, r.SetupSeconds)
	_, err := io.WriteString(w, b.String())
	return err
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
